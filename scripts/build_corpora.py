"""Build the Tang-poem corpora shipped in ``corpora/`` from the chinese-poetry npm package.

This script owns the data files under ``corpora/`` (the package ``poetvae.corpora``; its
``__init__.py`` is not ours): the four gzipped corpora
(``tang-{wuyan,qiyan}-{couplet,quatrain}/{train,valid,test}.txt.gz``), ``index.json``,
``tones.tsv``, ``rhymes.tsv`` and ``README.md``. Nothing there is edited by hand; rerunning the
script on the same package rebuilds every file byte for byte.

Usage::

    npm pack chinese-poetry@2.0.1 && tar xzf chinese-poetry-2.0.1.tgz
    python scripts/build_corpora.py package [--script simplified|traditional] [--out corpora]

Pipeline: parse every poem of 全唐詩 (``dist/quantangshi/poet.tang.*.json``), strip editorial
notes, split into lines, keep the poems written wholly in five- or seven-character lines
(五言 / 七言), convert the script, drop duplicate poems, split by a hash of the poem id, cut
couplets and four-line windows, and write them out. The tonal annotations
(``dist/strains/json/poet.tang.*.json``) of every poem whose lines align with the cleaned text
are tallied into a per-character 平/仄 table. Every character of the corpora and of that table
gets its rhyme groups (``poetvae.text.prosody.pinyin_rhyme_groups``) in ``rhymes.tsv``.
"""

import argparse
import gzip
import hashlib
import json
import re
import sys
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from poetvae.text.corpus import is_ideograph

REPO_ROOT = Path(__file__).resolve().parent.parent
UPSTREAM_URL = "https://github.com/chinese-poetry/chinese-poetry"

FORMS = {"wuyan": 5, "qiyan": 7}
SHAPES = {"couplet": 2, "quatrain": 4}
SPLITS = ("train", "valid", "test")
N_EXAMPLES = 3
# Four-line windows of poems longer than a quatrain step by two couplets (lines 0-3, 4-7, ...):
# this is the rule whose counts match the reference measurement (see corpora/README.md).
WINDOW_RULE = "non-overlapping"
WINDOW_STEPS = {"non-overlapping": 4, "overlapping": 2}
HETERONYM_SHARE = 0.2

# Editorial notes: everything inside these brackets is dropped, nesting included.
NOTE_OPEN = "（(〔〖【"
NOTE_CLOSE = "）)〕〗】"
# Square brackets outside notes mark characters supplied by the editors ("[爽]節在重九"), whose
# content is kept, or footnote markers ("[一]", "[一○]"), which are dropped.
SQUARE_RE = re.compile(r"[\[［]([^\[\]［］]*)[\]］]")
FOOTNOTE_RE = re.compile(r"[一二三四五六七八九十百○〇零0-9]+")
# Characters the source cannot encode are spelled out: "{𥫗/戢}", "{炙火=肉}" or an ideographic
# description sequence "⿰亻丸". Each becomes one placeholder so that line lengths stay right.
COMPOSED_RE = re.compile(r"\{[^{}]*\}")
COMPOSED = "〓"
IDS_ARITY = {chr(c): 2 for c in range(0x2FF0, 0x2FFC)} | {"⿲": 3, "⿳": 3}
# Quotation and title marks are dropped, their content kept; so is a stray "/" ("自留玩/").
MARKS = str.maketrans("", "", "「」『』《》〈〉“”‘’\"'/")
SEPARATORS = "，。！？；：、,.!?;:"
SEPARATOR_RE = re.compile(f"[{re.escape(SEPARATORS)}]")
# Marks for characters lost in the source (□) or written as a circle / dot.
LOST = set("□○●◎■◇")
STRAIN_SEPARATORS = "，。"
# Rejection reasons, in the order classify() checks them.
REASONS = (
    "empty",
    "lost_char",
    "composed_char",
    "non_ideograph",
    "odd_line_count",
    "mixed_line_length",
    "other_line_length",
)
PING, ZE = "平", "仄"


@dataclass(frozen=True)
class Poem:
    """A cleaned Tang poem.

    Attributes:
        id: Poem id from the source (a UUID), used for the split.
        lines: Cleaned lines in the output script, without punctuation.
    """

    id: str
    lines: tuple[str, ...]


@dataclass(frozen=True)
class Unit:
    """One corpus example: a couplet or a quatrain, with the split of its poem."""

    split: str
    lines: tuple[str, ...]


def source_files(directory: Path) -> list[Path]:
    """Lists ``poet.tang.N.json`` files of a directory in numeric order of N.

    Args:
        directory: Directory holding ``poet.tang.*.json`` files.

    Returns:
        The files, sorted by their number so that poems come in source order.
    """
    files = directory.glob("poet.tang.*.json")
    return sorted(files, key=lambda path: int(path.name.split(".")[2]))


def load_json_lists(directory: Path) -> list[dict]:
    """Concatenates the JSON lists of every ``poet.tang.*.json`` file of a directory."""
    records: list[dict] = []
    for path in source_files(directory):
        records.extend(json.loads(path.read_text(encoding="utf-8")))
    return records


def remove_notes(text: str) -> tuple[str, bool]:
    """Drops bracketed editorial notes, nested ones included.

    A note left open runs to the end of the text; a stray closing bracket is dropped.

    Args:
        text: Joined paragraphs of a poem.

    Returns:
        The text without notes, and whether a note was left open.
    """
    kept: list[str] = []
    depth = 0
    for char in text:
        if char in NOTE_OPEN:
            depth += 1
        elif char in NOTE_CLOSE:
            depth = max(depth - 1, 0)
        elif depth == 0:
            kept.append(char)
    return "".join(kept), depth > 0


def resolve_square_brackets(text: str) -> str:
    """Drops footnote markers like ``[一]`` and unwraps supplied characters like ``[爽]``."""

    def replace(match: re.Match) -> str:
        content = match.group(1)
        return "" if FOOTNOTE_RE.fullmatch(content) else content

    return SQUARE_RE.sub(replace, text)


def _ids_end(text: str, start: int) -> int:
    """Returns the index just past the ideographic description sequence starting at ``start``."""
    if start >= len(text):
        return start
    arity = IDS_ARITY.get(text[start])
    if arity is None:
        return start + 1
    end = start + 1
    for _ in range(arity):
        end = _ids_end(text, end)
    return end


def replace_composed(text: str) -> str:
    """Replaces every spelled-out character (``{…}`` or ``⿰XY``) by one placeholder."""
    text = COMPOSED_RE.sub(COMPOSED, text)
    out: list[str] = []
    index = 0
    while index < len(text):
        if text[index] in IDS_ARITY:
            out.append(COMPOSED)
            index = _ids_end(text, index)
        else:
            out.append(text[index])
            index += 1
    return "".join(out)


def clean_lines(paragraphs: Iterable[str]) -> tuple[list[str], bool]:
    """Turns the paragraphs of a poem into its lines of verse.

    Args:
        paragraphs: Paragraphs as stored in the source.

    Returns:
        The non-empty lines without punctuation, and whether an editorial note was left open.
    """
    text = unicodedata.normalize("NFC", "".join(paragraphs))
    text, unclosed = remove_notes(text)
    text = resolve_square_brackets(text)
    text = replace_composed(text).translate(MARKS)
    text = "".join(text.split())
    return [line for line in SEPARATOR_RE.split(text) if line], unclosed


def classify(lines: list[str]) -> str:
    """Names the form a poem is wholly written in, or why it is rejected.

    Checks run in this order and the first failure is the reason: ``empty``, ``lost_char``
    (□, ○, …), ``composed_char`` (spelled-out character), ``non_ideograph`` (digit, Latin,
    private use, stray mark, …), ``odd_line_count`` (one line included), ``mixed_line_length``,
    ``other_line_length`` (uniform, but neither 5 nor 7).

    Args:
        lines: Cleaned lines of a poem.

    Returns:
        ``"wuyan"`` or ``"qiyan"`` for a kept poem, otherwise the rejection reason.
    """
    chars = "".join(lines)
    if not chars:
        return "empty"
    if any(char in LOST for char in chars):
        return "lost_char"
    if COMPOSED in chars:
        return "composed_char"
    if not all(is_ideograph(char) for char in chars):
        return "non_ideograph"
    if len(lines) % 2:
        return "odd_line_count"
    lengths = {len(line) for line in lines}
    if len(lengths) > 1:
        return "mixed_line_length"
    for form, length in FORMS.items():
        if lengths == {length}:
            return form
    return "other_line_length"


def make_converter(script: str) -> Callable[[str], str]:
    """Returns a length-preserving text converter for the requested script.

    Args:
        script: ``"simplified"`` (OpenCC ``t2s``) or ``"traditional"`` (identity).

    Returns:
        A function mapping a line to the same line in the requested script.
    """
    if script == "traditional":
        return lambda text: text
    import opencc

    t2s = opencc.OpenCC("t2s")

    @cache
    def char_t2s(char: str) -> str:
        converted = t2s.convert(char)
        return converted if len(converted) == 1 else char

    def convert(text: str) -> str:
        converted = t2s.convert(text)
        if len(converted) == len(text):
            return converted
        return "".join(char_t2s(char) for char in text)

    return convert


def split_of(poem_id: str) -> str:
    """Assigns a poem to a split from the SHA-1 of its id: 90 % train, 5 % valid, 5 % test."""
    bucket = int(hashlib.sha1(poem_id.encode()).hexdigest(), 16) % 100
    if bucket < 90:
        return "train"
    return "valid" if bucket < 95 else "test"


def dedupe_poems(poems: list[Poem]) -> tuple[list[Poem], int]:
    """Keeps the first poem, in source order, of every identical text.

    Args:
        poems: Poems of one form, already in the output script.

    Returns:
        The unique poems and how many were dropped.
    """
    seen: set[tuple[str, ...]] = set()
    unique = []
    for poem in poems:
        if poem.lines not in seen:
            seen.add(poem.lines)
            unique.append(poem)
    return unique, len(poems) - len(unique)


def couplets(lines: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
    """Yields line pairs (0, 1), (2, 3), … of a poem."""
    for start in range(0, len(lines) - 1, 2):
        yield lines[start : start + 2]


def quatrains(lines: tuple[str, ...], rule: str) -> Iterator[tuple[str, ...]]:
    """Yields the four-line windows of a poem, aligned on couplet boundaries.

    Args:
        lines: Lines of a poem (an even number of them).
        rule: ``"non-overlapping"`` (lines 0-3, 4-7, …) or ``"overlapping"`` (0-3, 2-5, …).
            A poem of exactly four lines (绝句) yields itself under both rules.

    Yields:
        Tuples of four lines.
    """
    for start in range(0, len(lines) - 3, WINDOW_STEPS[rule]):
        yield lines[start : start + 4]


def cut_units(poems: list[Poem], shape: str, rule: str = WINDOW_RULE) -> list[Unit]:
    """Cuts poems into couplets or quatrains that inherit their poem's split."""
    units = []
    for poem in poems:
        split = split_of(poem.id)
        pieces = couplets(poem.lines) if shape == "couplet" else quatrains(poem.lines, rule)
        units.extend(Unit(split, piece) for piece in pieces)
    return units


def measure_windows(poems: list[Poem]) -> dict[str, dict[str, int]]:
    """Counts the quatrains of a form under every window rule, before and after dedupe."""
    counts = {}
    for rule in WINDOW_STEPS:
        units = cut_units(poems, "quatrain", rule)
        counts[rule] = {"raw": len(units), "unique": len(dedupe_units(units)[0])}
    return counts


def dedupe_units(units: list[Unit]) -> tuple[list[Unit], int]:
    """Keeps the first occurrence of every text across all splits, so none straddles splits.

    Returns:
        The unique units and how many were dropped.
    """
    seen: set[tuple[str, ...]] = set()
    unique = []
    for unit in units:
        if unit.lines not in seen:
            seen.add(unit.lines)
            unique.append(unit)
    return unique, len(units) - len(unique)


def format_lines(lines: Iterable[str]) -> str:
    """Joins lines as ``L1，L2。L3，L4。``: a comma after odd lines, a full stop after even ones."""
    return "".join(line + ("，" if index % 2 == 0 else "。") for index, line in enumerate(lines))


def write_gzip(path: Path, lines: list[str]) -> None:
    """Writes text lines to a gzip file with a fixed header, so rebuilds are byte-identical."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = "".join(line + "\n" for line in lines).encode("utf-8")
    with path.open("wb") as raw, gzip.GzipFile("", "wb", 9, raw, mtime=0) as packed:
        packed.write(data)


def strain_marks(strains: list[str]) -> list[str]:
    """Splits tonal annotations into per-line marks (平, 仄, ○, ？, 通)."""
    text = "".join(strains)
    return [segment for segment in re.split(f"[{STRAIN_SEPARATORS}]", text) if segment]


def count_tones(
    cleaned: dict[str, list[str]], strains: dict[str, list[str]], convert: Callable[[str], str]
) -> tuple[dict[str, Counter], Counter]:
    """Tallies how often each character is annotated 平 or 仄.

    A poem counts only if its annotation has exactly as many lines as the cleaned text and
    every annotated line is as long as the matching line of text; other marks (○ unknown,
    ？ unknown, 通 either tone) and non-ideographs are skipped.

    Args:
        cleaned: Cleaned lines (original script) of every poem, by id.
        strains: Tonal annotations by poem id.
        convert: Script converter; characters are counted after conversion.

    Returns:
        ``{char: Counter(平=…, 仄=…)}`` and a Counter of poems ``aligned``, ``misaligned``,
        ``no_strains``.
    """
    table: dict[str, Counter] = {}
    stats: Counter = Counter()
    for poem_id, lines in cleaned.items():
        if poem_id not in strains:
            stats["no_strains"] += 1
            continue
        marks = strain_marks(strains[poem_id])
        if [len(line) for line in lines] != [len(segment) for segment in marks] or not lines:
            stats["misaligned"] += 1
            continue
        stats["aligned"] += 1
        text = "".join(convert(line) for line in lines)
        for char, mark in zip(text, "".join(marks), strict=True):
            if mark in (PING, ZE) and is_ideograph(char):
                table.setdefault(char, Counter())[mark] += 1
    return table, stats


def tone_stats(table: dict[str, Counter]) -> dict[str, int]:
    """Summarises the tone table: characters, heteronyms, tallied annotations."""
    heteronyms = [
        char
        for char, counts in table.items()
        if min(counts[PING], counts[ZE]) >= HETERONYM_SHARE * (counts[PING] + counts[ZE])
    ]
    frequent = [char for char in heteronyms if table[char].total() >= 100]
    return {
        "chars": len(table),
        "heteronyms": len(heteronyms),
        "heteronyms_seen_100_times": len(frequent),
        "ping": sum(counts[PING] for counts in table.values()),
        "ze": sum(counts[ZE] for counts in table.values()),
    }


def write_tones(path: Path, table: dict[str, Counter]) -> None:
    """Writes the tone table as ``char<TAB>ping<TAB>ze`` rows sorted by character."""
    rows = ["char\tping\tze"]
    rows += [f"{char}\t{table[char][PING]}\t{table[char][ZE]}" for char in sorted(table)]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")


def write_rhymes(path: Path, chars: set[str]) -> dict[str, int]:
    """Writes ``char<TAB>groups`` rows sorted by character (groups space-separated, may be empty).

    Returns:
        {"chars": rows written, "no_group": characters without a rhyme group}.
    """
    from poetvae.text.prosody import RHYME_TABLE, pinyin_rhyme_groups

    rows, no_group = ["char\tgroups"], 0
    for char in sorted(chars):
        groups = pinyin_rhyme_groups(char)
        no_group += not groups
        rows.append(f"{char}\t{' '.join(g for g in RHYME_TABLE if g in groups)}")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return {"chars": len(chars), "no_group": no_group}


def package_version(src: Path) -> str:
    """Reads ``name@version`` from the package's ``package.json``."""
    meta = json.loads((src / "package.json").read_text(encoding="utf-8"))
    return f"{meta['name']}@{meta['version']}"


def copyright_line(src: Path) -> str:
    """Returns the ``Copyright …`` line of the package's licence."""
    for line in (src / "LICENSE").read_text(encoding="utf-8").splitlines():
        if line.strip().lower().startswith("copyright"):
            return line.strip()
    return "(no copyright line found)"


def build(src: Path, out: Path, script: str) -> dict:
    """Builds every file under ``out`` from the package at ``src``.

    Args:
        src: Root of the unpacked chinese-poetry package (holds ``dist/`` and ``package.json``).
        out: Output directory (created if needed).
        script: ``"simplified"`` or ``"traditional"``.

    Returns:
        A JSON-able summary of every count.
    """
    convert = make_converter(script)
    records = load_json_lists(src / "dist" / "quantangshi")
    strains = {
        rec["id"]: rec["strains"] for rec in load_json_lists(src / "dist" / "strains" / "json")
    }
    out.mkdir(parents=True, exist_ok=True)

    cleaned, verdicts, unclosed_notes = clean_all(records)
    tally = Counter(verdicts.values())
    summary: dict = {
        "source": package_version(src),
        "script": script,
        "poems": len(records),
        "kept": {form: tally[form] for form in FORMS},
        "rejected": {reason: tally[reason] for reason in REASONS},
        "rejected_total": sum(tally[reason] for reason in REASONS),
        "unclosed_notes": unclosed_notes,
        "duplicate_poems": {},
        "windows": {},
        "duplicate_units": {},
        "corpora": {},
    }
    # Key order is fixed by construction (corpora as in FORMS x SHAPES, splits as in SPLITS).
    index: dict = {"source": summary["source"], "script": script, "corpora": {}}
    chars: set[str] = set()
    for form, length in FORMS.items():
        poems = [
            Poem(poem_id, tuple(convert(line) for line in cleaned[poem_id]))
            for poem_id, verdict in verdicts.items()
            if verdict == form
        ]
        poems, summary["duplicate_poems"][form] = dedupe_poems(poems)
        summary["windows"][form] = measure_windows(poems)
        for shape, n_lines in SHAPES.items():
            name = f"tang-{form}-{shape}"
            units, summary["duplicate_units"][name] = dedupe_units(cut_units(poems, shape))
            texts = write_corpus(out / name, units)
            chars.update(c for split in texts.values() for text in split for c in text)
            summary["corpora"][name] = {split: len(texts[split]) for split in SPLITS}
            index["corpora"][name] = {
                "chars_per_line": length,
                "examples": texts["train"][:N_EXAMPLES],
                "n_lines": n_lines,
                "splits": summary["corpora"][name],
            }

    table, tone_counts = count_tones(cleaned, strains, convert)
    summary["strains"] = {key: tone_counts[key] for key in ("aligned", "misaligned", "no_strains")}
    summary["strains"]["without_poem"] = len(strains.keys() - cleaned.keys())
    summary["tones"] = tone_stats(table)

    write_tones(out / "tones.tsv", table)
    chars.update(table)
    chars -= {"，", "。"}
    summary["rhymes"] = write_rhymes(out / "rhymes.tsv", chars)
    (out / "index.json").write_text(
        json.dumps(index, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )
    (out / "README.md").write_text(render_readme(summary, copyright_line(src)), encoding="utf-8")
    return summary


def clean_all(records: list[dict]) -> tuple[dict[str, list[str]], dict[str, str], int]:
    """Cleans and classifies every poem of the source, in source order.

    Args:
        records: Poems as stored in the source (``id`` and ``paragraphs`` are used).

    Returns:
        Cleaned lines by poem id, the verdict of :func:`classify` by poem id, and how many
        poems had an editorial note left open.
    """
    cleaned: dict[str, list[str]] = {}
    verdicts: dict[str, str] = {}
    unclosed_notes = 0
    for record in records:
        lines, unclosed = clean_lines(record["paragraphs"])
        unclosed_notes += unclosed
        cleaned[record["id"]] = lines
        verdicts[record["id"]] = classify(lines)
    return cleaned, verdicts, unclosed_notes


def write_corpus(directory: Path, units: list[Unit]) -> dict[str, list[str]]:
    """Writes ``{train,valid,test}.txt.gz`` of one corpus and returns their lines by split."""
    texts = {
        split: [format_lines(unit.lines) for unit in units if unit.split == split]
        for split in SPLITS
    }
    for split in SPLITS:
        write_gzip(directory / f"{split}.txt.gz", texts[split])
    return texts


def render_readme(summary: dict, copyright: str) -> str:
    """Renders ``corpora/README.md`` from the build summary."""
    rejected = "\n".join(f"| `{reason}` | {n} |" for reason, n in summary["rejected"].items())
    windows = "\n".join(
        f"| {form} | {rule} | {counts['raw']} | {counts['unique']} |"
        for form, rules in summary["windows"].items()
        for rule, counts in rules.items()
    )
    corpora = "\n".join(
        f"| `{name}` | {c['train']} | {c['valid']} | {c['test']} | {sum(c.values())} "
        f"| {summary['duplicate_units'][name]} |"
        for name, c in summary["corpora"].items()
    )
    strains, tones = summary["strains"], summary["tones"]
    kept, dupes = summary["kept"], summary["duplicate_poems"]
    return README_TEMPLATE.format(
        source=summary["source"],
        url=UPSTREAM_URL,
        copyright=copyright,
        script=summary["script"],
        poems=summary["poems"],
        wuyan=kept["wuyan"],
        qiyan=kept["qiyan"],
        rejected_total=summary["rejected_total"],
        rejected=rejected,
        unclosed=summary["unclosed_notes"],
        dupe_wuyan=dupes["wuyan"],
        dupe_qiyan=dupes["qiyan"],
        window_rule=WINDOW_RULE,
        windows=windows,
        corpora=corpora,
        aligned=strains.get("aligned", 0),
        misaligned=strains.get("misaligned", 0),
        no_strains=strains.get("no_strains", 0),
        rhyme_chars=summary["rhymes"]["chars"],
        rhyme_none=summary["rhymes"]["no_group"],
        without_poem=strains["without_poem"],
        chars=tones["chars"],
        heteronyms=tones["heteronyms"],
        heteronyms_100=tones["heteronyms_seen_100_times"],
        share=int(HETERONYM_SHARE * 100),
        ping=tones["ping"],
        ze=tones["ze"],
    )


README_TEMPLATE = """\
# Corpora

Generated by `scripts/build_corpora.py`; do not edit by hand (this file included).

## Provenance

Source: the npm package `{source}` (upstream: <{url}>), dataset 全唐詩 in
`dist/quantangshi/poet.tang.*.json` and its tonal annotations in
`dist/strains/json/poet.tang.*.json`. Licence: MIT, "{copyright}"; the licence text is in
the package's `LICENSE` file and applies to these derived files too.

Rebuild (byte-identical output):

```sh
npm pack chinese-poetry@2.0.1 && tar xzf chinese-poetry-2.0.1.tgz
python scripts/build_corpora.py package            # writes corpora/
```

Script: **{script}** (OpenCC `t2s` unless `--script traditional` was given).

## Cleaning and filtering

Per poem: the paragraphs are joined; editorial notes in brackets （…） (…) 〔…〕 〖…〗 【…】
are removed with their content, nesting included (a note never closed runs to the end:
{unclosed} poems); square brackets are editorial: `[一]`-style footnote numbers are removed,
any other `[X]` is a character supplied by the editors and is kept without its brackets
(the tonal annotations count it too); spelled-out characters `{{…}}` and ideographic
description sequences (`⿰亻丸`) become one placeholder each; quotation and title marks
「」『』《》〈〉 are dropped, their content kept; the text is split into lines at
`，。！？；：、` (and their ASCII forms). A stray `/` after a character is dropped.

A poem is kept for a form only if it is wholly in that form: an even number (≥ 2) of lines,
every line exactly 5 (五言, wuyan) or exactly 7 (七言, qiyan) characters, every character a CJK
ideograph. Of {poems} poems, {wuyan} are wuyan, {qiyan} qiyan and {rejected_total} rejected;
reasons (first failing check, in this order):

| reason | poems |
|---|---|
{rejected}

`empty`: no text left once notes are removed (mostly a lone `。`: a title whose text is
lost); `lost_char`: □, ○, ● … marking a lost character; `composed_char`: a spelled-out
character; `non_ideograph`: anything else that is not a CJK ideograph (digit, Latin letter,
private-use character, `-`, `…`, `·`); `odd_line_count` includes single lines;
`other_line_length`: uniform lines of another length (四言, 六言, …).

## Deduplication

The same poem often appears under several authors. Within a form, poems whose text is
identical after script conversion are kept once, the first in source order: {dupe_wuyan} wuyan
and {dupe_qiyan} qiyan poems removed. This happens before the split, so a duplicate cannot land
in two splits. Then, within each corpus, identical couplets / quatrains (shared by different
poems) are kept once, the first in source order, whatever its split: the last column of the
table below.

## Split

By poem: `bucket = int(hashlib.sha1(poem_id.encode()).hexdigest(), 16) % 100` on the source
`id`; buckets 0-89 train, 90-94 valid, 95-99 test. Couplets and windows inherit their poem's
split.

## Shapes and window rule

Couplets are line pairs (0,1), (2,3), … of every kept poem. Quatrains are real 绝句 (poems of
exactly four lines) plus four-line windows of longer poems aligned on couplet boundaries. Two
window rules were measured (counts after poem dedupe; "unique" also after quatrain dedupe):

| form | rule | windows | unique |
|---|---|---|---|
{windows}

The corpora use the **{window_rule}** rule (lines 0-3, 4-7, …; a trailing couplet is dropped):
its counts are the ones close to the reference measurement made earlier (~68k wuyan, ~30k qiyan
windows); overlapping windows give far more (wuyan ~1.7 times as many).

## Files

`<name>/{{train,valid,test}}.txt.gz`: one example per line, UTF-8, lines joined as
`L1，L2。L3，L4。` (comma after odd lines, full stop after even lines), in source order; gzip
with mtime 0. `index.json`: per corpus, characters per line, lines per example, split sizes and
three training examples.

| corpus | train | valid | test | total | duplicates removed |
|---|---|---|---|---|---|
{corpora}

## tones.tsv

Tab-separated, UTF-8, header `char	ping	ze`, one row per character (in the corpora's script)
sorted by code point: how often the character is annotated 平 (level) or 仄 (oblique) across
all Tang poems, not only the kept forms. A poem counts only when its annotation lines up with
the cleaned text line by line ({aligned} poems); {misaligned} poems were skipped as misaligned
(mostly annotations computed over text with notes in it), {no_strains} had no annotation and
{without_poem} annotations had no poem. Marks ○ / ？ (unknown) and 通 (either) are not counted.
Script conversion can merge several traditional characters into one simplified character;
counts are summed after conversion. {chars} characters, {ping} 平 and {ze} 仄 annotations;
{heteronyms} characters have both counts ≥ {share} % of their total ({heteronyms_100} of them
seen at least 100 times). The annotations are not always read in context: 爲/为, which also
has a 仄 reading, is always marked 平.

## rhymes.tsv

Tab-separated, UTF-8, header `char	groups`, one row per character of the corpora and of
tones.tsv ({rhyme_chars} characters), sorted by code point: the 中华新韵 rhyme groups of every
modern reading that pypinyin knows, space-separated, empty for the {rhyme_none} characters with
none. It is derived by `poetvae.text.prosody.pinyin_rhyme_groups` (see that module for the rule
and its limits) and saves loading pypinyin when decoding with rhyme.
"""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parses the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("src", type=Path, help="root of the unpacked chinese-poetry package")
    parser.add_argument("--script", choices=("simplified", "traditional"), default="simplified")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "corpora", help="output dir")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Builds the corpora and prints a JSON summary of the counts."""
    args = parse_args(argv)
    summary = build(args.src, args.out, args.script)
    json.dump(summary, sys.stdout, ensure_ascii=False, indent=1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
