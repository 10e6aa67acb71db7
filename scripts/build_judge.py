"""Build the outside fluency judge's text, ``corpora/song-judge/``, from the chinese-poetry package.

The train-split bigram judge of ``poetvae eval`` is fitted on the text the model learns from, so
it flatters the model. This script writes text that no shipped corpus trains on: lines of 全宋詩
(``dist/quantangshi/poet.song.*.json``, Song-dynasty shi), cleaned and converted to Simplified
script exactly as ``build_corpora.py`` does for the Tang poems, from poems written wholly in five-
or seven-character lines. Lines that occur anywhere in the shipped Tang corpora are dropped (Song
anthologies quote Tang lines), the rest are de-duplicated and a fixed fifth of them is kept (by a
hash of the line), so the package stays small. Rebuilding on the same package gives the same
bytes.

Usage::

    npm pack chinese-poetry@2.0.1 && tar xzf chinese-poetry-2.0.1.tgz
    python scripts/build_judge.py package [--out corpora/song-judge]
"""

import argparse
import gzip
import hashlib
import json
import sys
from pathlib import Path

from build_corpora import (
    FORMS,
    REPO_ROOT,
    classify,
    clean_lines,
    make_converter,
    package_version,
    write_gzip,
)

KEEP_ONE_IN = 5  # lines kept: those whose hash is 0 modulo this


def tang_lines(corpora: Path) -> set[str]:
    """Every line of every split of the shipped Tang corpora."""
    index = json.loads((corpora / "index.json").read_text(encoding="utf-8"))
    lines: set[str] = set()
    for name, entry in index["corpora"].items():
        width = entry["chars_per_line"]
        for path in (corpora / name).glob("*.txt.gz"):
            with gzip.open(path, "rt", encoding="utf-8") as f:
                for poem in f:
                    text = "".join(c for c in poem.strip() if c not in "，。")
                    lines.update(text[i : i + width] for i in range(0, len(text), width))
    return lines


def kept(line: str) -> bool:
    return int(hashlib.sha1(line.encode("utf-8")).hexdigest(), 16) % KEEP_ONE_IN == 0


def build(src: Path, out: Path) -> dict:
    """Write ``{wuyan,qiyan}.txt.gz`` (one line of verse per line) and README.md into `out`."""
    convert = make_converter("simplified")
    tang = tang_lines(REPO_ROOT / "corpora")
    found = {form: set() for form in FORMS}
    whole: set[str] = set()  # whole poems, one line of verse after another
    poems = 0
    for path in sorted(src.glob("dist/quantangshi/poet.song.*.json")):
        for record in json.loads(path.read_text(encoding="utf-8")):
            lines, unclosed = clean_lines(record.get("paragraphs", []))
            form = classify(lines)
            if unclosed or form not in FORMS:
                continue
            poems += 1
            simple = [convert(line) for line in lines]
            found[form].update(simple)
            if len(simple) in (4, 8) and not tang.intersection(simple):
                whole.add("，".join(simple))
    summary = {"source": package_version(src), "song_poems_used": poems}
    for form, lines in found.items():
        keep = sorted(line for line in lines - tang if kept(line))
        write_gzip(out / f"{form}.txt.gz", keep)
        summary[form] = {
            "distinct_lines": len(lines),
            "in_tang_corpora": len(lines & tang),
            "kept": len(keep),
        }
    keep = sorted(poem for poem in whole if kept(poem))
    write_gzip(out / "poems.txt.gz", keep)
    summary["poems"] = {"distinct": len(whole), "kept": len(keep)}
    (out / "README.md").write_text(render_readme(summary), encoding="utf-8")
    return summary


def render_readme(s: dict) -> str:
    rows = "\n".join(
        f"| {form} | {s[form]['distinct_lines']:,} | {s[form]['in_tang_corpora']:,} | "
        f"{s[form]['kept']:,} |"
        for form in FORMS
    )
    return f"""# song-judge: the outside fluency judge's text

Written by `scripts/build_judge.py`; do not edit by hand.

Lines of verse from 全宋詩 (Song-dynasty shi) in the npm package `{s["source"]}` (MIT licence,
upstream <https://github.com/chinese-poetry/chinese-poetry>), `dist/quantangshi/poet.song.*.json`,
from the {s["song_poems_used"]:,} poems written wholly in five- or seven-character lines. They are
cleaned and converted to Simplified script as the Tang corpora are. Lines found anywhere in the
shipped Tang corpora are dropped, the rest de-duplicated, and one line in {KEEP_ONE_IN} is kept
(those whose SHA-1 is 0 modulo {KEEP_ONE_IN}). No model of this package trains on them:
`poetvae eval` fits its outside character bigram judge (`song_bigram_nll_per_char`) on the file of
the model's line length.

| file | distinct Song lines | also in the Tang corpora (dropped) | kept |
|---|---|---|---|
{rows}

`poems.txt.gz` holds whole poems (lines joined by `，`) for the outside judge of whole-poem
coherence (`coherence` in `poetvae eval`): the {s["poems"]["distinct"]:,} distinct Song poems of
four or eight lines (绝句 and 律诗 shapes) that share no line with the Tang corpora, one in
{KEEP_ONE_IN} kept by the same hash rule ({s["poems"]["kept"]:,} poems).

Rebuild:

```sh
npm pack chinese-poetry@2.0.1 && tar xzf chinese-poetry-2.0.1.tgz
python scripts/build_judge.py package
```
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("package", type=Path, help="root of the unpacked chinese-poetry package")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "corpora" / "song-judge")
    args = parser.parse_args(argv)
    json.dump(build(args.package, args.out), sys.stdout, ensure_ascii=False, indent=1)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
