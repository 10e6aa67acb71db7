"""Build ``corpora/variants/variants.tsv``: variant characters of the corpora -> standard forms.

The Tang poems of the chinese-poetry data set, in Simplified script by OpenCC's t2s, keep many
variant characters (异体字) that a Simplified edition writes in their standard form: 疎 for 疏, 劒
for 剑, 鴈 for 雁, 猨 for 猿. This script maps a character of the shipped corpora when it is not in
the 通用规范汉字表 (Unihan's kTGH) and exactly one of its variants in Unihan (kSemanticVariant,
kZVariant, kSimplifiedVariant), taken to Simplified script (corpora/t2s), is. A character of that
table is never mapped (乾, 徵, 於 stay). Then by hand: ADDED, frequent variants that Unihan does not
relate; CHOSEN, the standard form where Unihan offers several or a wrong one; LEFT_OUT, mappings
that would change a character's meaning. Rows are ``variant<TAB>standard`` in code-point order;
Unicode's licence goes beside them.

Usage::

    apt-get download unicode-data && dpkg -x unicode-data_*.deb unicode-data
    python scripts/build_variants.py unicode-data/usr/share/unicode [--out corpora/variants]
"""

import argparse
import bz2
import gzip
import sys
from collections import defaultdict
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
FILES = ("Unihan_Variants.txt.bz2", "Unihan_OtherMappings.txt.bz2")
RELATIONS = ("kSemanticVariant", "kZVariant", "kSimplifiedVariant")
# frequent in the Tang corpora, standard form in the 第一批异体字整理表 sense, unrelated in Unihan
ADDED = dict(
    zip(
        "嬾褭桮歛逈巵顇毬秖秪牓髪蔕姪搆鷰悮虵藂徴珮",
        "懒袅杯敛迥卮悴球只只榜发蒂侄构燕误蛇丛徵佩",
        strict=True,
    )
)
# where Unihan offers several standard forms, or not the one a Simplified edition writes
CHOSEN = dict(zip("讐汚袴胷盌甖燿髣躭狥", "雠污裤胸碗罂耀仿耽徇", strict=True))
# mappings left out: 乹 亁 are 乾 (qián) too; 殽 is also 肴 (food); 雝 is 雍; 豝 (a sow), 襮
# (a collar), 鞙, 螆, 漰, 簨, 䕭, 麰: Unihan's variant is another word
LEFT_OUT = set("乹亁殽雝豝襮鞙螆漰簨䕭麰")


def unihan(folder: Path) -> dict[str, dict[str, str]]:
    """Unihan's fields of each character, from the files of FILES in `folder`."""
    fields: dict[str, dict[str, str]] = defaultdict(dict)
    for name in FILES:
        with bz2.open(folder / name, "rt", encoding="utf-8") as f:
            for line in f:
                if line.startswith("#") or not line.strip():
                    continue
                code, key, value = line.rstrip("\n").split("\t")
                fields[chr(int(code[2:], 16))][key] = value
    return fields


def corpus_chars() -> set[str]:
    """The characters of the shipped corpora's poems."""
    chars: set[str] = set()
    for path in sorted((REPO_ROOT / "corpora").glob("*/*.txt.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as f:
            for line in f:
                chars.update(line.strip())
    return chars


def pairs(fields: dict[str, dict[str, str]], chars: set[str]) -> dict[str, str]:
    """variant -> standard for the characters `chars` (see the module's docstring)."""
    t2s_path = REPO_ROOT / "corpora" / "t2s" / "t2s.tsv"
    t2s = dict(line.split("\t") for line in t2s_path.read_text("utf-8").splitlines())
    standard = {c for c, f in fields.items() if "kTGH" in f}
    out = {}
    for char in chars:
        if char in standard or char in LEFT_OUT or not "\u3400" <= char <= "\U0003134f":
            continue
        related = {
            chr(int(token.split("<")[0][2:], 16))
            for key in RELATIONS
            for token in fields.get(char, {}).get(key, "").split()
        }
        forms = {t2s.get(c, c) for c in related} & standard - {char}
        if len(forms) == 1:
            out[char] = forms.pop()
    out.update({v: s for v, s in {**ADDED, **CHOSEN}.items() if v in chars})
    bad = {v: s for v, s in out.items() if s not in standard}
    if bad:
        raise SystemExit(f"standard forms outside the 通用规范汉字表: {bad}")
    return out


LICENCE = """\
corpora/variants/variants.tsv is derived by scripts/build_variants.py from the Unihan database
(Unihan_Variants.txt, Unihan_OtherMappings.txt; Unicode {version}), with changes by hand listed
in that script: it is modified data, and holds only the pairs of characters of the shipped
corpora. The Unihan database's licence follows.

{notice}"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("unihan", type=Path, help="folder of Unihan_*.txt.bz2")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "corpora" / "variants")
    args = parser.parse_args(argv)
    rows = sorted(pairs(unihan(args.unihan), corpus_chars()).items())
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "variants.tsv").write_text("".join(f"{v}\t{s}\n" for v, s in rows), "utf-8")
    with bz2.open(args.unihan / FILES[0], "rt", encoding="utf-8") as f:
        header = [line for line in f if line.startswith("#")][:12]
    version = next(line.split(":")[1].strip() for line in header if "Unicode version" in line)
    notice = "".join(line[2:] if line.startswith("# ") else "\n" for line in header)
    copyright_file = args.unihan.parent / "doc" / "unicode-data" / "copyright"
    if copyright_file.exists():
        notice += "\n" + copyright_file.read_text("utf-8")
    (args.out / "LICENSE").write_text(LICENCE.format(version=version, notice=notice), "utf-8")
    print(f"{len(rows)} variant characters from Unicode {version} -> {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
