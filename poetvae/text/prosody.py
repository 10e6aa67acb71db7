"""Tone (平仄) and rhyme checks for 五言 and 七言 poems, and the regulated-verse tone templates.

Owns the prosody rules of recent-style verse (近体诗) as a scorer for generated poems and as tone
masks for constrained decoding. The rules follow the standard textbook account (王力《汉语诗律学》,
1958; 启功《诗文声律论稿》, 1977):

1. ``alternation`` (二四六分明): positions 2 and 4 of a line differ in tone; in 七言 also 4 and 6
   differ and 2 and 6 agree (1-based positions).
2. ``opposition`` (对): in each couplet (lines 1-2, 3-4, ...) positions 2, 4 (and 6) have opposite
   tones between the two lines.
3. ``level_rhyme``: the last character of each couplet's second line (the rhyme position) is 平.
4. ``no_three_level_tail`` (忌三平尾): no line ends in three 平 characters.
5. ``rhyme``: the rhyme positions (ends of lines 2, 4, 6, 8) share a rhyme group. A couplet has a
   single rhyme position, so the rule does not apply: ``None``, left out of rates.
6. ``adhesion`` (粘): position 2 of the first line of each couplet after the first has the tone of
   position 2 of the line before it. In a quatrain it is reported alone and left out of
   ``"all"``: 失粘 was common and accepted in Tang quatrains (折腰体, e.g. 王维《送元二使安西》),
   so it is a style marker there rather than a defect. In a regulated poem of eight lines (律诗)
   粘 is a rule like the others and part of ``"all"`` (`rules_of`); ``None`` for couplets.

The same rules read any even number of lines: a 律诗 is four couplets, each opposed within and
stuck (粘) to the one before, rhyming level on lines 2, 4, 6 and 8. Its middle couplets' 对仗
(parallelism) is a matter of words, not tones: ``text.evaluate.Parallelism`` measures it.

Beside the rules, ``template`` (in `rates`; `fits_template` for one poem) asks more than they
do: that the poem fills one of the regulated templates of `valid_patterns` with a character of
one known tone at every fixed position, no heteronym or unknown character among them. That is
what ``--tones strict`` writes (it draws fixed positions among such characters only), where the
rules let a heteronym pass for either tone.

Tones come from ``corpora/tones.tsv``: per character, how often the chinese-poetry data set's
``dist/strains`` annotations mark it 平 or 仄 across Tang poems (see ``corpora/README.md``). A
character seen at least ``MIN_COUNT`` times is 平 when its 平 share is at least ``PING_SHARE``, 仄
when at most ``1 - PING_SHARE``, and otherwise a heteronym (多音字 with both readings common, e.g.
看 思 听 过). A heteronym, and an unknown character (not in the table, or seen fewer than
``MIN_COUNT`` times), satisfies either tone requirement. Each rule treats such a character on its
own, so one heteronym may be read 平 by one rule and 仄 by another; how often this leniency could
matter is reported by ``rates`` as the share of tone-checked positions (the positions that rules
1-4 read: 2 to 5 in 五言, 2 and 4 to 7 in 七言) that hold a heteronym or an unknown character.

Rhyme follows a rhyme book, named by ``book``:

- ``pingshui`` (the default): 平水韵, the rhyme book of regulated Tang verse (106 rhymes in the
  five tone sections 上平, 下平, 上, 去, 入; 105 in the shipped copy). A character rhymes in each
  rhyme the book lists it under, and only there: 看 in 十四寒 and 十五翰, 家 in 六麻 only, so a rare
  modern reading never makes a rhyme. Its level-tone (平声) rhymes are the 30 of 上平 and 下平
  (``level_rhymes``). The book is ``corpora/rhyme-books/Pingshui_Rhyme.json`` (MIT; source and
  licence beside it).
- ``xinyun``: the 14 groups of 中华新韵 (中华诗词学会, 2005) applied to every modern reading
  (pypinyin, ``heteronym=True``) of a character: rhyme as a modern reader hears it. It merges
  rhymes that were distinct in Tang (e.g. 东/冬/庚) and splits some that were one (e.g. 元 and 门,
  both 元韵, now 寒 and 文), and a rare reading may make a rhyme (家 as gū). ``corpora/rhymes.tsv``
  holds the groups of every character of the shipped corpora, computed by the same rule when the
  corpora are built, so that decoding with rhyme does not pay for pypinyin at start-up; other
  characters are looked up in pypinyin when first asked for. It has no tone sections: every
  group counts as level (strict decoding takes the tone from the tone table).

A rhyme character the book does not list (no group) is left out of the rhyme rule, like an
unknown tone.
"""

import csv
import functools
import io
import json
from collections.abc import Iterable, Sequence
from importlib import resources
from typing import Literal

PING, ZE, EITHER = "平", "仄", "either"
Tone = Literal["平", "仄", "either"]

# With fewer than 3 annotations a character's 平 share cannot tell a single-reading character
# from a heteronym (a 50/50 heteronym shows 2-0 half the time), so it counts as unknown.
MIN_COUNT = 3
PING_SHARE = 0.8

RULES = ("alternation", "opposition", "level_rhyme", "no_three_level_tail", "rhyme", "adhesion")
# Rules that make up "all" in a quatrain or couplet; adhesion is reported alone there, and is
# one of them in a 律诗 (see the module docstring and `rules_of`).
STRICT_RULES = RULES[:5]
LUSHI_LINES = 8  # from this many lines on, 粘 is part of "all"

RHYME_BOOKS = {"pingshui": "平水韵", "xinyun": "中华新韵"}  # name -> the book's own name
DEFAULT_RHYME_BOOK = "pingshui"
_LEVEL_SECTIONS = ("上平声部", "下平声部")  # the sections of 平水韵 whose rhymes are level (平声)

# 中华新韵: rhyme group -> pypinyin strict finals (ü written v). 支 is the "empty" -i after
# zh ch sh r z c s; every other final i belongs to 齐.
RHYME_TABLE = {
    "麻": ("a", "ia", "ua"),
    "波": ("o", "e", "uo"),
    "皆": ("ie", "ve", "ê"),
    "开": ("ai", "uai"),
    "微": ("ei", "uei"),
    "豪": ("ao", "iao"),
    "尤": ("ou", "iou"),
    "寒": ("an", "ian", "uan", "van"),
    "文": ("en", "in", "uen", "vn"),
    "唐": ("ang", "iang", "uang"),
    "庚": ("eng", "ing", "ueng", "ong", "iong"),
    "齐": ("i", "er", "v"),
    "支": (),
    "姑": ("u",),
}
_FINAL_TO_GROUP = {final: group for group, finals in RHYME_TABLE.items() for final in finals}
_APICAL_INITIALS = frozenset({"zh", "ch", "sh", "r", "z", "c", "s"})

# Regulated-verse line types, 五言 (王力's A/B/C/D; 中 = either tone). Position 1 is free except
# in B (a 仄 there leaves a lone 平, 孤平); position 3 of D is fixed 仄 to avoid 三平尾.
_LINES_5 = {"A": "中仄平平仄", "B": "平平仄仄平", "C": "中平平仄仄", "D": "中仄仄平平"}
# 七言 prefixes each 五言 type with two characters of the opposite tone to its second one.
_LINES_7 = {
    "A": "中平中仄平平仄",
    "B": "中仄平平仄仄平",
    "C": "中仄中平平仄仄",
    "D": "中平中仄仄平平",
}
# First couplets: 仄起 / 平起 of 五言 (平起 / 仄起 of 七言), first line unrhymed or rhymed.
_FIRST_COUPLETS = ("AB", "CD", "DB", "BD")
# A later couplet sticks (粘) to the line before: after B (2nd char 平) comes CD, after D comes AB.
_NEXT_COUPLET = {"B": "CD", "D": "AB"}


@functools.cache
def _table() -> dict[str, tuple[int, int]]:
    text = resources.files("poetvae.corpora").joinpath("tones.tsv").read_text(encoding="utf-8")
    rows = csv.DictReader(io.StringIO(text), delimiter="\t")
    return {row["char"]: (int(row["ping"]), int(row["ze"])) for row in rows}


def _tone_class(char: str) -> str:
    ping, ze = _table().get(char, (0, 0))
    if ping + ze < MIN_COUNT:
        return "unknown"
    share = ping / (ping + ze)
    if share >= PING_SHARE:
        return PING
    if share <= 1 - PING_SHARE:
        return ZE
    return "heteronym"


def tone(char: str) -> Tone:
    """The tone of one character from the Tang annotation table.

    Args:
        char: a single (simplified) Chinese character.

    Returns:
        "平" or "仄"; "either" for a heteronym or a character with fewer than ``MIN_COUNT``
        annotations (unknown), which satisfies both tone requirements.
    """
    cls = _tone_class(char)
    return cls if cls in (PING, ZE) else EITHER


@functools.cache
def _rhyme_table() -> dict[str, frozenset[str]]:
    text = resources.files("poetvae.corpora").joinpath("rhymes.tsv").read_text(encoding="utf-8")
    rows = (line.partition("\t") for line in text.splitlines()[1:])  # char<TAB>groups
    return {char: frozenset(groups.split()) for char, _, groups in rows}


@functools.cache
def tone_mark(char: str) -> str:
    """The tone of a character as shown beside it: 平, 仄, or 中 for either (see ``tone``)."""
    t = tone(char)
    return "中" if t == EITHER else t


@functools.cache
def _pingshui() -> tuple[dict[str, bool], dict[str, frozenset[str]]]:
    """平水韵: rhyme -> level (平声) or not, in the book's order; char -> its rhymes."""
    path = resources.files("poetvae.corpora").joinpath("rhyme-books", "Pingshui_Rhyme.json")
    book = json.loads(path.read_text(encoding="utf-8"))  # section -> rhyme -> characters
    level, chars = {}, {}
    for section, rhymes in book.items():
        for rhyme, members in rhymes.items():
            level[rhyme] = section in _LEVEL_SECTIONS
            for char in members:
                chars.setdefault(char, set()).add(rhyme)
    return level, {char: frozenset(rhymes) for char, rhymes in chars.items()}


def _check_book(book: str) -> None:
    if book not in RHYME_BOOKS:
        raise ValueError(f"unknown rhyme book {book!r}: choose one of {', '.join(RHYME_BOOKS)}")


def rhyme_names(book: str = DEFAULT_RHYME_BOOK) -> tuple[str, ...]:
    """The rhyme groups of a book in its own order (一东, 二冬, … for 平水韵).

    Raises:
        ValueError: an unknown book.
    """
    _check_book(book)
    return tuple(_pingshui()[0]) if book == "pingshui" else tuple(RHYME_TABLE)


def level_rhymes(book: str = DEFAULT_RHYME_BOOK) -> frozenset[str]:
    """The level-tone (平声) rhyme groups of a book: 上平 and 下平 of 平水韵; every 中华新韵 group,
    as that book does not divide its groups by tone.

    Raises:
        ValueError: an unknown book.
    """
    _check_book(book)
    if book == "pingshui":
        return frozenset(rhyme for rhyme, level in _pingshui()[0].items() if level)
    return frozenset(RHYME_TABLE)


def rhyme_groups(char: str, book: str = DEFAULT_RHYME_BOOK) -> frozenset[str]:
    """The rhyme groups of a character in a rhyme book (see the module docstring).

    Args:
        char: a single Chinese character.
        book: "pingshui" (平水韵: the rhymes the book lists it under) or "xinyun" (中华新韵: the
            groups of all its modern readings).

    Returns:
        group names (e.g. ``frozenset({"十一尤"})`` for 流 in 平水韵, ``{"尤"}`` in 中华新韵);
        empty when the book does not list the character (or, for 中华新韵, when pypinyin knows
        no reading of it or none has a rhyming final, e.g. 嗯 n/ng).

    Raises:
        ValueError: an unknown book.
    """
    _check_book(book)
    if book == "pingshui":
        return _pingshui()[1].get(char, frozenset())
    return _xinyun_groups(char)


@functools.cache
def _xinyun_groups(char: str) -> frozenset[str]:
    known = _rhyme_table().get(char)
    return known if known is not None else pinyin_rhyme_groups(char)


def pinyin_rhyme_groups(char: str) -> frozenset[str]:
    """`rhyme_groups` computed from pypinyin's readings (what ``corpora/rhymes.tsv`` stores)."""
    from pypinyin import Style, pinyin  # 0.2 s to import: only for characters off the table
    from pypinyin.contrib.tone_convert import to_finals, to_initials

    readings = pinyin(char, style=Style.NORMAL, heteronym=True, errors="ignore")
    groups = set()
    for syllable in readings[0] if readings else []:
        final = to_finals(syllable, strict=True)
        if final == "i" and to_initials(syllable, strict=True) in _APICAL_INITIALS:
            groups.add("支")
        elif final in _FINAL_TO_GROUP:
            groups.add(_FINAL_TO_GROUP[final])
    return frozenset(groups)


def _shape(lines: Sequence[str]) -> int:
    n = len(lines[0]) if lines else 0
    if n not in (5, 7) or len(lines) % 2 or any(len(line) != n for line in lines):
        raise ValueError(f"need an even number (>= 2) of 5- or 7-character lines, got {lines!r}")
    return n


def _differ(a: str, b: str) -> bool:
    return EITHER in (a, b) or a != b


def _agree(a: str, b: str) -> bool:
    return EITHER in (a, b) or a == b


def rules_of(n_lines: int) -> tuple[str, ...]:
    """The rules that make up ``"all"`` for poems of `n_lines` lines: `STRICT_RULES`, and
    adhesion too from eight lines on (律诗)."""
    return RULES if n_lines >= LUSHI_LINES else STRICT_RULES


def check(lines: Sequence[str], book: str = DEFAULT_RHYME_BOOK) -> dict[str, bool | None]:
    """Check each prosody rule on one poem (see the module docstring for the rules).

    Args:
        lines: the poem's lines, an even number of strings of 5 (五言) or 7 (七言) characters.
        book: the rhyme book of the ``rhyme`` rule (see `rhyme_groups`).

    Returns:
        rule name -> True (passes), False (fails) or None (does not apply: ``rhyme`` and
        ``adhesion`` for a couplet), plus ``"all"``: every applicable rule of
        ``rules_of(len(lines))`` passes (adhesion is part of it for eight lines, not for four).

    Raises:
        ValueError: the lines are not an even number of equally long 5- or 7-character lines,
            or an unknown book.
    """
    n = _shape(lines)
    tones = [[tone(c) for c in line] for line in lines]
    even = range(1, 6, 2) if n == 7 else range(1, 4, 2)  # 0-based positions 2, 4 (, 6)
    couplets = list(zip(tones[0::2], tones[1::2]))

    def alternates(t: list[str]) -> bool:
        ok = _differ(t[1], t[3])
        return ok and (n == 5 or (_differ(t[3], t[5]) and _agree(t[1], t[5])))

    result: dict[str, bool | None] = {
        "alternation": all(alternates(t) for t in tones),
        "opposition": all(_differ(a[i], b[i]) for a, b in couplets for i in even),
        "level_rhyme": all(b[-1] != ZE for _, b in couplets),
        "no_three_level_tail": all(t[-3:] != [PING] * 3 for t in tones),
        "rhyme": _rhymes(lines, book),
        "adhesion": None
        if len(couplets) < 2
        else all(_agree(tones[i - 1][1], tones[i][1]) for i in range(2, len(lines), 2)),
    }
    result["all"] = all(result[rule] is not False for rule in rules_of(len(lines)))
    return result


def fits_template(lines: Sequence[str]) -> bool:
    """Whether the poem fills a regulated template (`valid_patterns`) with a character of one
    known tone at every fixed (平 or 仄) position: no heteronym and no unknown character there.

    Raises:
        ValueError: as ``check``.
    """
    n = _shape(lines)
    classes = [_tone_class(c) for c in "".join(lines)]
    return any(
        all(want == "中" or got == want for want, got in zip("".join(tpl), classes, strict=True))
        for tpl in valid_patterns(len(lines), n)
    )


def _rhymes(lines: Sequence[str], book: str) -> bool | None:
    """The rhyme rule: some group is shared by every rhyme character that has one (none known =
    any); None for a couplet."""
    if len(lines) < 4:
        return None
    groups = [g for g in (rhyme_groups(line[-1], book) for line in lines[1::2]) if g]
    return not groups or bool(frozenset.intersection(*groups))


def rates(
    poems: Iterable[Sequence[str]], book: str = DEFAULT_RHYME_BOOK
) -> dict[str, float | int | None]:
    """Share of poems passing each rule, and how often tones were undecided.

    Args:
        poems: poems as accepted by ``check`` (forms may be mixed).
        book: the rhyme book of the ``rhyme`` rule and of ``"all"``.

    Returns:
        rule name and ``"all"`` -> share of poems passing it, among the poems where it applies
        (None if it applies to none, e.g. ``rhyme`` over couplets); ``"rhyme_<book>"`` for each
        of `RHYME_BOOKS`: the rhyme rule by that book; ``"template"``: share of poems that
        `fits_template` (a regulated template, no heteronym at a fixed position); ``"n"``:
        number of poems;
        ``"heteronym_share"`` / ``"unknown_share"``: share of tone-checked positions (those read
        by rules 1-4) holding a heteronym / an unknown character, pooled over all poems.
    """
    by_book = tuple(f"rhyme_{b}" for b in RHYME_BOOKS)
    passed = dict.fromkeys((*RULES, "all", *by_book, "template"), 0)
    applied = dict.fromkeys(passed, 0)
    counts = {"heteronym": 0, "unknown": 0, "positions": 0}
    n_poems = 0
    for lines in poems:
        n_poems += 1
        results = check(lines, book)
        results.update({f"rhyme_{b}": _rhymes(lines, b) for b in RHYME_BOOKS})
        results["template"] = fits_template(lines)
        for rule, ok in results.items():
            applied[rule] += ok is not None
            passed[rule] += bool(ok)
        checked = (1, 2, 3, 4) if len(lines[0]) == 5 else (1, 3, 4, 5, 6)
        for line in lines:
            for i in checked:
                cls = _tone_class(line[i])
                counts["positions"] += 1
                counts[cls] = counts.get(cls, 0) + 1
    out: dict[str, float | int | None] = {
        rule: passed[rule] / applied[rule] if applied[rule] else None for rule in passed
    }
    out["n"] = n_poems
    for cls in ("heteronym", "unknown"):
        out[f"{cls}_share"] = counts[cls] / counts["positions"] if counts["positions"] else None
    return out


def tone_ids(
    vocab_chars: Sequence[str], unambiguous: bool = False
) -> tuple[list[bool], list[bool]]:
    """Per-token tone masks for constrained decoding.

    Args:
        vocab_chars: the vocabulary's pieces in id order (length V).
        unambiguous: mark only characters of one known tone: leave out heteronyms (看 过 思 …)
            and characters whose tone the table does not know (fewer than MIN_COUNT
            annotations), so that a strict decoder meets a tone requirement under any reading.

    Returns:
        (is_ping, is_ze), two lists of length V. Unless `unambiguous`, a heteronym or an unknown
        piece is True in both, including pieces that are not characters (``<pad>``,
        ``<unk>``), which a decoder should mask on its own.
    """
    classes = [_tone_class(c) for c in vocab_chars]
    either = set() if unambiguous else {"heteronym", "unknown"}
    return ([t == PING or t in either for t in classes], [t == ZE or t in either for t in classes])


def valid_patterns(n_lines: int, chars_per_line: int) -> list[list[str]]:
    """The regulated-verse 平仄 templates of a form, as strings of 平 / 仄 / 中 (either).

    There are four per form, from the first couplet: 仄起 or 平起 (tone of the 2nd character of
    line 1, as named for 五言; 七言 flips the names), with the first line unrhymed or rhymed
    (首句入韵); later couplets follow by 粘. For 4 lines these are the 绝句 templates, for 8 the
    律诗 ones. Every template passes rules 1-4 and adhesion whatever tones fill its 中 positions.

    Args:
        n_lines: an even number of lines (2 = couplet, 4 = 绝句, 8 = 律诗).
        chars_per_line: 5 or 7.

    Returns:
        templates, each a list of ``n_lines`` strings of ``chars_per_line`` characters.

    Raises:
        ValueError: an odd or non-positive ``n_lines``, or a line length other than 5 or 7.
    """
    if n_lines < 2 or n_lines % 2 or chars_per_line not in (5, 7):
        raise ValueError(f"no templates for {n_lines} lines of {chars_per_line} characters")
    line_types = _LINES_5 if chars_per_line == 5 else _LINES_7
    templates = []
    for first in _FIRST_COUPLETS:
        kinds = first
        while len(kinds) < n_lines:
            kinds += _NEXT_COUPLET[kinds[-1]]
        templates.append([line_types[k] for k in kinds])
    return templates


def annotate(lines: Sequence[str], book: str = DEFAULT_RHYME_BOOK) -> dict:
    """Tones and rhyme of one poem, for display (e.g. by `poetvae serve`'s page).

    The rhyme positions are the ends of lines 2, 4, ..., and the end of line 1 where it is not
    仄 and shares their rhyme group (首句入韵).

    Args:
        lines: the poem's lines, as accepted by ``check``.
        book: the rhyme book (see `rhyme_groups`).

    Returns:
        ``tones``: per line, a string of 平 / 仄 / 中 (中 = either: a heteronym or unknown);
        ``rhyme_positions``: [line, character] pairs, 0-based; ``rhyme_groups``: the groups
        shared by every rhyme position that has one, in the book's order (empty when they share
        none), e.g. ["七阳"]; ``rhyme_book``: the book's name (平水韵 or 中华新韵);
        ``rules``: ``check(lines, book)``.

    Raises:
        ValueError: as ``check``.
    """
    rules = check(lines, book)
    n = len(lines[0])
    ends = [(i, n - 1) for i in range(1, len(lines), 2)]
    known = [g for g in (rhyme_groups(lines[i][j], book) for i, j in ends) if g]
    shared = frozenset.intersection(*known) if known else frozenset()
    first = lines[0][-1]
    if shared & rhyme_groups(first, book) and tone(first) != ZE:
        ends.insert(0, (0, n - 1))
    return {
        "tones": ["".join(map(tone_mark, line)) for line in lines],
        "rhyme_positions": [list(p) for p in ends],
        "rhyme_groups": [g for g in rhyme_names(book) if g in shared],
        "rhyme_book": RHYME_BOOKS[book],
        "rules": rules,
    }
