"""Build ``corpora/t2s/t2s.tsv``: Traditional -> Simplified, one character at a time, from OpenCC.

The corpora are in Simplified script (OpenCC ``t2s`` at build time, see ``build_corpora.py``); a
poem a user pastes may be in Traditional script. So that `poetvae generate` and `reconstruct`
can read it without OpenCC (an extra for building only), this script writes every CJK ideograph
that OpenCC's ``t2s`` turns into one other character, as ``traditional<TAB>simplified`` rows in
code-point order, and copies OpenCC's licence (Apache 2.0) beside it. Rebuilding with the same
OpenCC version gives the same bytes.

Usage::

    pip install opencc==1.4.2
    python scripts/build_t2s.py [--out corpora/t2s]
"""

import argparse
import shutil
import sys
from importlib import metadata
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
# the CJK ideograph blocks: URO, extension A, compatibility ideographs, extensions B to H
BLOCKS = (
    (0x3400, 0x4DBF),
    (0x4E00, 0x9FFF),
    (0xF900, 0xFAFF),
    (0x20000, 0x2A6DF),
    (0x2A700, 0x2EBEF),
    (0x30000, 0x3134F),
)


def pairs() -> list[tuple[str, str]]:
    """(traditional, simplified) for each ideograph that OpenCC t2s maps to one other one."""
    import opencc

    t2s = opencc.OpenCC("t2s")
    out = []
    for lo, hi in BLOCKS:
        for code in range(lo, hi + 1):
            char = chr(code)
            simplified = t2s.convert(char)
            if simplified != char and len(simplified) == 1:
                out.append((char, simplified))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "corpora" / "t2s")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    rows = pairs()
    text = "".join(f"{t}\t{s}\n" for t, s in rows)
    (args.out / "t2s.tsv").write_text(text, encoding="utf-8")
    licence = [f for f in metadata.files("opencc") or [] if f.name == "LICENSE"]
    shutil.copyfile(licence[0].locate(), args.out / "LICENSE")
    version = metadata.version("opencc")
    print(f"{len(rows)} characters from OpenCC {version} t2s -> {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
