"""scripts/build_corpora.py on a tiny hand-written copy of the chinese-poetry package layout."""

import gzip
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "build_corpora.py"

# Poem ids are chosen for their sha1 bucket: poem-0 89, poem-1 92, poem-2 37, poem-3 84,
# poem-4 94, poem-5 29, poem-26 99, poem-52 98 (<90 train, 90-94 valid, 95-99 test).
POEMS = [
    # A real 五言绝句: train.
    ("poem-0", ["白日依山盡，黃河入海流。", "欲窮千里目，更上一層樓。"]),
    # Eight-line 五言律诗 with a character supplied by the editors: valid, two windows.
    (
        "poem-1",
        [
            "國破山[河]在，城春草木深。",
            "感時花濺淚，恨別鳥驚心。",
            "烽火連三月，家書抵萬金。",
            "白頭搔更短，渾欲不勝簪。",
        ],
    ),
    # 七言绝句 with a footnote marker: train; its annotation is misaligned.
    ("poem-2", ["朝辭白帝彩雲間，千里江陵一日還[一]。", "兩岸猿聲啼不住，輕舟已過萬重山。"]),
    # Bracketed notes, one of them a paragraph of its own: test.
    (
        "poem-26",
        [
            "床前明月光（一作「看月光」），疑是地上霜。",
            "舉頭望明月（一作「山月」），低頭思故鄉。",
            "（見《全唐詩》卷一百六十五）。",
        ],
    ),
    # Mixed line lengths: rejected.
    (
        "poem-3",
        ["君不見黃河之水天上來，奔流到海不復回。", "君不見高堂明鏡悲白髮，朝如青絲暮成雪。"],
    ),
    # The first poem again under another author: dropped as a duplicate, although it is in test.
    ("poem-52", ["白日依山盡，黃河入海流。", "欲窮千里目，更上一層樓。"]),
    # A lost character: rejected.
    ("poem-5", ["□□依山盡，黃河入海流。"]),
    # One couplet shared with the first poem: the poem is kept, its couplet is a duplicate.
    ("poem-4", ["白日依山盡，黃河入海流。"]),
]
STRAINS = {
    "poem-0": ["仄仄平平仄，平平仄仄平。", "仄平平仄仄，仄仄仄平平。"],
    "poem-1": [
        "仄仄平平仄，平平仄仄平。",
        "仄平平仄仄，仄仄仄平平。",
        "平仄平平仄，平平仄仄平。",
        "仄平平仄仄，平仄仄平平。",
    ],
    "poem-2": ["平平仄仄仄平，平仄平平仄仄平。", "仄仄平平平仄仄，平平仄仄仄平平。"],
    "poem-26": ["平平平仄平，平仄仄仄平。", "仄平仄平仄，平平平仄平。"],
    "poem-3": ["平仄仄平平平仄平仄平，平平仄仄仄仄平。", "平仄仄平平平仄平仄仄，平平平平仄平仄。"],
    "poem-52": ["仄仄平平仄，平平仄仄平。", "仄平平仄仄，仄仄仄平平。"],
    "poem-5": ["？？平平仄，平平仄仄平。"],
    "poem-4": ["仄仄平平仄，平平仄仄平。"],
}
LICENSE = "The MIT License (MIT)\n\nCopyright (c) 2016 Fixture Author\n"


def load_script():
    """Imports scripts/build_corpora.py as a module (scripts/ is not a package)."""
    spec = importlib.util.spec_from_file_location("build_corpora", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_json(path: Path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


@pytest.fixture(scope="module")
def src(tmp_path_factory) -> Path:
    """A package root holding one poem file and its tonal annotations."""
    root = tmp_path_factory.mktemp("package")
    poems = [
        {"author": "佚名", "paragraphs": paragraphs, "title": f"詩{i}", "id": poem_id}
        for i, (poem_id, paragraphs) in enumerate(POEMS)
    ]
    strains = [{"id": poem_id, "strains": marks} for poem_id, marks in STRAINS.items()]
    write_json(root / "dist" / "quantangshi" / "poet.tang.0.json", poems)
    write_json(root / "dist" / "strains" / "json" / "poet.tang.0.json", strains)
    write_json(root / "package.json", {"name": "chinese-poetry", "version": "2.0.1"})
    (root / "LICENSE").write_text(LICENSE, encoding="utf-8")
    return root


def build(src: Path, out: Path, *args: str) -> dict:
    """Runs the script as a user would and returns its JSON summary."""
    done = subprocess.run(
        [sys.executable, str(SCRIPT), str(src), "--out", str(out), *args],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout)


def read_split(out: Path, name: str, split: str) -> list[str]:
    with gzip.open(out / name / f"{split}.txt.gz", "rt", encoding="utf-8") as f:
        return f.read().splitlines()


def read_tones(out: Path) -> dict[str, tuple[int, int]]:
    lines = (out / "tones.tsv").read_text(encoding="utf-8").splitlines()
    assert lines[0] == "char\tping\tze"
    rows = [line.split("\t") for line in lines[1:]]
    assert [row[0] for row in rows] == sorted(row[0] for row in rows)
    return {char: (int(ping), int(ze)) for char, ping, ze in rows}


@pytest.fixture(scope="module")
def built(src, tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("build") / "out"
    return out, build(src, out)


def test_summary_counts(built):
    _, summary = built
    assert summary["kept"] == {"wuyan": 5, "qiyan": 1}
    assert {k: v for k, v in summary["rejected"].items() if v} == {
        "lost_char": 1,
        "mixed_line_length": 1,
    }
    assert summary["duplicate_poems"] == {"wuyan": 1, "qiyan": 0}
    assert summary["duplicate_units"]["tang-wuyan-couplet"] == 1
    assert summary["windows"]["wuyan"]["non-overlapping"]["raw"] == 4
    assert summary["windows"]["wuyan"]["overlapping"]["raw"] == 5
    assert summary["strains"] == {
        "aligned": 7,
        "misaligned": 1,
        "no_strains": 0,
        "without_poem": 0,
    }


def test_index(built):
    out, _ = built
    index = json.loads((out / "index.json").read_text(encoding="utf-8"))
    assert index["source"] == "chinese-poetry@2.0.1"
    assert index["script"] == "simplified"
    splits = {name: meta["splits"] for name, meta in index["corpora"].items()}
    assert splits == {
        "tang-wuyan-couplet": {"train": 2, "valid": 4, "test": 2},
        "tang-wuyan-quatrain": {"train": 1, "valid": 2, "test": 1},
        "tang-wuyan-lushi": {"train": 0, "valid": 1, "test": 0},
        "tang-qiyan-couplet": {"train": 2, "valid": 0, "test": 0},
        "tang-qiyan-quatrain": {"train": 1, "valid": 0, "test": 0},
        "tang-qiyan-lushi": {"train": 0, "valid": 0, "test": 0},
    }
    meta = index["corpora"]["tang-qiyan-quatrain"]
    assert (meta["n_lines"], meta["chars_per_line"]) == (4, 7)
    assert meta["examples"] == ["朝辞白帝彩云间，千里江陵一日还。两岸猿声啼不住，轻舟已过万重山。"]
    assert index["corpora"]["tang-wuyan-couplet"]["examples"] == [
        "白日依山尽，黄河入海流。",
        "欲穷千里目，更上一层楼。",
    ]
    for name, meta in index["corpora"].items():
        for split, n in meta["splits"].items():
            assert len(read_split(out, name, split)) == n


def test_simplified_text_notes_and_windows(built):
    out, _ = built
    assert read_split(out, "tang-wuyan-quatrain", "train") == [
        "白日依山尽，黄河入海流。欲穷千里目，更上一层楼。"
    ]
    assert read_split(out, "tang-wuyan-quatrain", "valid") == [
        "国破山河在，城春草木深。感时花溅泪，恨别鸟惊心。",
        "烽火连三月，家书抵万金。白头搔更短，浑欲不胜簪。",
    ]
    assert read_split(out, "tang-wuyan-lushi", "valid") == [  # the whole eight-line poem
        "国破山河在，城春草木深。感时花溅泪，恨别鸟惊心。烽火连三月，家书抵万金。白头搔更短，浑欲不胜簪。"
    ]
    assert read_split(out, "tang-wuyan-couplet", "test") == [
        "床前明月光，疑是地上霜。",
        "举头望明月，低头思故乡。",
    ]
    everything = "".join(
        "".join(read_split(out, name, split))
        for name in ("tang-wuyan-couplet", "tang-qiyan-couplet")
        for split in ("train", "valid", "test")
    )
    assert "君不见" not in everything and "君不見" not in everything  # rejected poem
    assert "白日依山尽" not in "".join(read_split(out, "tang-wuyan-couplet", "valid"))


def test_tones(built):
    out, summary = built
    tones = read_tones(out)
    assert tones["头"] == (3, 0)  # 頭 converted; poem-1 and poem-26
    assert tones["明"] == (3, 0)  # also counted in the rejected poem-3
    assert tones["月"] == (0, 3)
    assert tones["河"] == (6, 0)  # duplicates count, and the supplied [河] too
    assert "頭" not in tones and "猿" not in tones  # simplified; poem-2 is misaligned
    assert summary["tones"]["chars"] == len(tones)


def test_rebuild_is_byte_identical(src, built, tmp_path):
    out, _ = built
    again = tmp_path / "again"
    build(src, again)
    files = sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(again) for p in again.rglob("*") if p.is_file())
    assert len(files) == 6 * 3 + 4  # corpora, index.json, tones.tsv, rhymes.tsv, README.md
    for path in files:
        assert (out / path).read_bytes() == (again / path).read_bytes(), path


def test_traditional_keeps_source_text(src, tmp_path):
    out = tmp_path / "trad"
    build(src, out, "--script", "traditional")
    assert read_split(out, "tang-wuyan-quatrain", "train") == [
        "白日依山盡，黃河入海流。欲窮千里目，更上一層樓。"
    ]
    assert read_tones(out)["頭"] == (3, 0)
    assert "script: **traditional**" in (out / "README.md").read_text(encoding="utf-8").lower()


def test_cleaning_helpers():
    bc = load_script()
    assert bc.remove_notes("甲（注（嵌套）〖1〗）乙）丙") == ("甲乙丙", False)
    assert bc.remove_notes("甲乙（未閉") == ("甲乙", True)
    assert bc.resolve_square_brackets("仁高[姒]幄披[一○]") == "仁高姒幄披"
    assert bc.replace_composed("妖韶援綠{𥫗/戢}，⿰亻丸香") == "妖韶援綠〓，〓香"
    assert bc.clean_lines(["童子解吟《長恨曲》，胡兒能唱《琵琶篇》。"]) == (
        ["童子解吟長恨曲", "胡兒能唱琵琶篇"],
        False,
    )
    assert bc.classify(["白日依山盡", "黃河入海流"]) == "wuyan"
    assert bc.classify(["白日依山盡"]) == "odd_line_count"
    assert bc.classify(["白日依山", "黃河入海"]) == "other_line_length"
    assert bc.classify(["白日依山A", "黃河入海流"]) == "non_ideograph"
    assert list(bc.quatrains(tuple("abcdef"), "non-overlapping")) == [tuple("abcd")]
    assert list(bc.quatrains(tuple("abcdef"), "overlapping")) == [tuple("abcd"), tuple("cdef")]
    assert bc.format_lines(["甲", "乙", "丙", "丁"]) == "甲，乙。丙，丁。"
