"""scripts/build_judge.py on a tiny copy of the chinese-poetry package layout."""

import gzip
import hashlib
import json
import subprocess
import sys
from pathlib import Path

from .conftest import shipped_poems

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "build_judge.py"


def test_judge_text_is_song_lines_minus_tang_ones_one_in_five_and_rebuilds_the_same(tmp_path):
    tang_line = shipped_poems("tang-wuyan-quatrain", "train", n=1)[0][:5]  # a Tang line, quoted
    song = [
        {"paragraphs": [f"{tang_line}，甲乙丙丁癸。", "甲乙丙己丁，甲乙丙丁戊。"]},
        {"paragraphs": ["甲乙丙丁戊己庚，辛壬癸子丑寅卯。"]},
        {"paragraphs": ["君不見黃河之水天上來，奔流到海不復回。"]},  # mixed lengths: not used
    ]
    src = tmp_path / "package"
    (src / "dist" / "quantangshi").mkdir(parents=True)
    (src / "dist" / "quantangshi" / "poet.song.0.json").write_text(
        json.dumps(song, ensure_ascii=False), encoding="utf-8"
    )
    (src / "package.json").write_text('{"name": "chinese-poetry", "version": "2.0.1"}')

    def build(out: Path) -> dict:
        cmd = [sys.executable, str(SCRIPT), str(src), "--out", str(out)]
        return json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)

    summary = build(tmp_path / "a")
    assert summary["song_poems_used"] == 2
    assert summary["wuyan"]["distinct_lines"] == 4 and summary["wuyan"]["in_tang_corpora"] >= 1

    def kept(line: str) -> bool:
        return int(hashlib.sha1(line.encode()).hexdigest(), 16) % 5 == 0

    # made-up lines (no Tang poet wrote them), of which the hash keeps one in five
    candidates = {"wuyan": ["甲乙丙丁癸", "甲乙丙己丁", "甲乙丙丁戊"], "qiyan": ["甲乙丙丁戊己庚"]}
    candidates["qiyan"].append("辛壬癸子丑寅卯")
    for form, lines in candidates.items():
        with gzip.open(tmp_path / "a" / f"{form}.txt.gz", "rt", encoding="utf-8") as f:
            written = f.read().split()
        expected = sorted(x for x in lines if kept(x))
        assert expected and written == expected and tang_line not in written
    build(tmp_path / "b")
    for name in ("wuyan.txt.gz", "qiyan.txt.gz", "README.md"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
