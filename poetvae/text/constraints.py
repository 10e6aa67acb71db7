"""What decoding may write, per position: fixed characters (acrostic 藏头诗, fill-in patterns
that keep characters anywhere), allowed sets (the regulated 平仄 templates, keywords placed
where each poem's z makes them likeliest) and rhyme positions that share one rhyme group of a
rhyme book.

Every position has its own distribution given z, so these are restrictions of each position's
law, which a left-to-right generator could only approach by search. The rhyme positions of a
form are defined once, in `rhyme_positions`; the rhyme groups of the vocabulary in
`rhyme_matrix`. Fixed characters that rhyme or strict tones cannot keep are named before any
decoding (`check_kept`).
"""

import functools
import itertools
from dataclasses import dataclass, field

import torch
from torch import Tensor

from . import prosody
from .corpus import split_lines, to_simplified
from .forms import Shape
from .model import PoetVAE
from .vocab import PAD_ID, UNK_ID

PLACEHOLDERS = "＿_○*"  # a free position in a --pattern: ＿ (full-width low line), _, ○ or *


@dataclass
class Constraints:
    """Restrictions on what decoding may write, per position.

    fixed: position -> character id written there whatever the model says.
    allowed: (B, L, V) bool, characters each position may take (e.g. a tone template).
    rhymes: (B, L) bool, positions whose characters must share one rhyme group, per poem.
    rhyme_groups: (V, G) bool, the rhyme groups of each character (see `rhyme_matrix`).
    """

    fixed: dict[int, int] = field(default_factory=dict)
    allowed: Tensor | None = None
    rhymes: Tensor | None = None
    rhyme_groups: Tensor | None = None

    def rows(self, start: int, stop: int) -> "Constraints":
        """The constraints of poems start..stop."""

        def part(t: Tensor | None) -> Tensor | None:
            return None if t is None else t[start:stop]

        return Constraints(self.fixed, part(self.allowed), part(self.rhymes), self.rhyme_groups)

    def take(self, index: Tensor) -> "Constraints":
        """The constraints of the poems at (B,) index, in its order (repeats allowed)."""

        def part(t: Tensor | None) -> Tensor | None:
            return None if t is None else t[index]

        return Constraints(self.fixed, part(self.allowed), part(self.rhymes), self.rhyme_groups)


def rhyme_positions(form: Shape, first_line: bool = False) -> Tensor:
    """(L,) bool: the rhyme positions of a form, the ends of lines 2, 4, ..., and with
    `first_line` the end of line 1 too (首句入韵)."""
    n = form.chars_per_line
    at = torch.zeros(form.seq_len, dtype=torch.bool)
    at[2 * n - 1 :: 2 * n] = True
    at[n - 1] = first_line
    return at


@functools.cache
def rhyme_matrix(
    pieces: tuple[str, ...], book: str = prosody.DEFAULT_RHYME_BOOK, level: bool = False
) -> Tensor:
    """(V, G) bool: the rhyme groups of each vocabulary piece in a rhyme book (none for <pad>
    and <unk>); with `level`, only the book's level-tone (平声) groups (see `prosody`)."""
    level_groups = prosody.level_rhymes(book)
    names = [g for g in prosody.rhyme_names(book) if not level or g in level_groups]
    column = {name: j for j, name in enumerate(names)}
    pairs = [
        (i, column[g])
        for i in range(UNK_ID + 1, len(pieces))
        for g in prosody.rhyme_groups(pieces[i], book)
        if g in column
    ]
    m = torch.zeros(len(pieces), len(column), dtype=torch.bool)
    if pairs:
        m[tuple(torch.tensor(pairs).T)] = True
    return m


def rhyme_constraints(
    model: PoetVAE,
    n: int,
    fixed: dict[int, int] | None = None,
    book: str = prosody.DEFAULT_RHYME_BOOK,
) -> Constraints:
    """One shared rhyme group of `book` over the ends of lines 2, 4, ... for n poems (none for
    couplets)."""
    at = rhyme_positions(model.cfg.shape)
    if at.sum() < 2:  # a couplet has one rhyme position: nothing to share
        return Constraints(fixed=dict(fixed or {}))
    pieces = tuple(model.vocab.itos)
    return Constraints(
        fixed=dict(fixed or {}), rhymes=at.expand(n, -1), rhyme_groups=rhyme_matrix(pieces, book)
    )


def simplified(model: PoetVAE, text: str) -> str:
    """`text` as the model reads it: each Traditional character it does not know in Simplified
    script (盡 -> 尽; see `corpus.to_simplified`), as the corpora were converted."""
    return to_simplified(text, model.vocab)


def unknown_chars(model: PoetVAE, chars: str) -> str:
    """The characters of `chars` that the model does not know, each once, in input order
    (placeholders of a pattern are known)."""
    return "".join(
        dict.fromkeys(c for c in chars if c not in PLACEHOLDERS and c not in model.vocab)
    )


def _check_vocab(model: PoetVAE, chars: str) -> None:
    missing = unknown_chars(model, chars)
    if missing:
        raise ValueError(f"not in the model's vocabulary: {missing}")


def acrostic_positions(model: PoetVAE, heads: str) -> dict[int, int]:
    """Position -> id fixing the first character of each line to `heads`.

    Raises:
        ValueError: the wrong number of characters, or characters the model does not know.
    """
    form = model.cfg.shape
    heads = "".join(split_lines(simplified(model, heads)))
    if len(heads) != form.n_lines:
        raise ValueError(
            f"acrostic needs {form.n_lines} characters (one per line of the "
            f"model's form, {form}); got {len(heads)}"
        )
    _check_vocab(model, heads)
    return {i * form.chars_per_line: model.vocab.stoi[c] for i, c in enumerate(heads)}


def pattern_positions(model: PoetVAE, pattern: str) -> dict[int, int]:
    """Position -> id for the given characters of a template such as "床前＿＿光，疑是＿＿霜".

    Lines are separated by punctuation (or run on, counted by the form's line length); a pattern
    may cover the first lines only. Free positions are written with any of PLACEHOLDERS, so kept
    characters may stand anywhere: "＿＿＿＿＿，＿＿＿＿＿，白日依山尽" keeps line 3 only.

    Raises:
        ValueError: a line of the wrong length, too many lines, or unknown characters.
    """
    form = model.cfg.shape
    lines = split_lines(simplified(model, pattern))
    if len(lines) == 1 and len(lines[0]) > form.chars_per_line:
        lines = [
            lines[0][i : i + form.chars_per_line]
            for i in range(0, len(lines[0]), form.chars_per_line)
        ]
    if not lines or len(lines) > form.n_lines or any(len(x) != form.chars_per_line for x in lines):
        raise ValueError(
            f"pattern must be up to {form.n_lines} lines of {form.chars_per_line} "
            f"characters or placeholders ({PLACEHOLDERS}); got {pattern!r}"
        )
    text = "".join(lines)
    _check_vocab(model, text)
    return {i: model.vocab.stoi[c] for i, c in enumerate(text) if c not in PLACEHOLDERS}


def merge(*fixed: dict[int, int]) -> dict[int, int]:
    """One position -> id map from several.

    Raises:
        ValueError: two maps ask for different characters at one position.
    """
    out: dict[int, int] = {}
    for part in fixed:
        for pos, idx in part.items():
            if out.get(pos, idx) != idx:
                raise ValueError(f"conflicting characters asked for at position {pos + 1}")
            out[pos] = idx
    return out


@functools.cache
def _templates(pieces: tuple[str, ...], form: Shape) -> tuple[Tensor, Tensor, Tensor]:
    is_ping, is_ze = (torch.tensor(t) for t in prosody.tone_ids(pieces, unambiguous=True))
    classes = torch.stack([is_ping, is_ze, torch.ones_like(is_ping)])  # (3, V): 平, 仄, 中
    templates = prosody.valid_patterns(form.n_lines, form.chars_per_line)
    kinds = torch.tensor([["平仄中".index(t) for t in "".join(tpl)] for tpl in templates])
    # the first line rhymes where it ends level (首句入韵)
    rhymes = torch.stack([rhyme_positions(form, tpl[0][-1] == "平") for tpl in templates])
    return classes, kinds, rhymes  # (3, V), (T, L), (T, L)


def _kept(model: PoetVAE, fixed: dict[int, int], pos: int) -> str:
    n = model.cfg.chars_per_line
    return f"{model.vocab.itos[fixed[pos]]} (line {pos // n + 1}, character {pos % n + 1})"


def rhyme_clash(
    model: PoetVAE,
    fixed: dict[int, int],
    positions: list[int],
    book: str = prosody.DEFAULT_RHYME_BOOK,
) -> str | None:
    """Why the fixed characters at these rhyme positions cannot share a rhyme group, or None.

    Returns:
        one line naming the fixed character that breaks the rhyme (and the one it cannot rhyme
        with), e.g. "the kept 山 (line 2, character 5) cannot rhyme with 流 (line 4, character 5)".
    """
    kept = [p for p in positions if p in fixed]
    groups = {p: prosody.rhyme_groups(model.vocab.itos[fixed[p]], book) for p in kept}
    shared = None
    for i, p in enumerate(kept):
        if not groups[p]:
            return f"the kept {_kept(model, fixed, p)} has no known rhyme group"
        if shared is not None and not shared & groups[p]:
            clash = [q for q in kept[:i] if not groups[q] & groups[p]] or kept[:i]
            others = " or ".join(_kept(model, fixed, q) for q in clash)
            return f"the kept {_kept(model, fixed, p)} cannot rhyme with {others}"
        shared = groups[p] if shared is None else shared & groups[p]
    return None


def check_kept(
    model: PoetVAE,
    fixed: dict[int, int],
    tones: str,
    rhyme: bool,
    book: str = prosody.DEFAULT_RHYME_BOOK,
) -> None:
    """Check that rhyme (and strict tones) can keep the fixed characters, before any decoding.

    Raises:
        ValueError: one line naming the fixed character that breaks them.
    """
    if tones == "strict":
        _strict_fits(model, fixed, book)
    elif rhyme and (at := rhyme_constraints(model, 1).rhymes) is not None:
        if clash := rhyme_clash(model, fixed, at[0].nonzero().flatten().tolist(), book):
            raise ValueError(f"{clash}: free a kept character or turn rhyme off (--no-rhyme)")


def _strict_fits(model: PoetVAE, fixed: dict[int, int], book: str) -> Tensor:
    """(T,) bool: the regulated templates that admit the fixed characters, by tone (a heteronym
    or a character of unknown tone fits either, as in `prosody.check`) and by rhyme.

    Raises:
        ValueError: none does; the message names the fixed characters that break them.
    """
    form = model.cfg.shape
    rhymes = _templates(tuple(model.vocab.itos), form)[2]
    templates = ["".join(t) for t in prosody.valid_patterns(form.n_lines, form.chars_per_line)]
    tone = {p: prosody.tone(model.vocab.itos[i]) for p, i in fixed.items()}

    def admits(tpl: str, positions) -> bool:
        return all(tpl[p] == "中" or tone[p] in (tpl[p], prosody.EITHER) for p in positions)

    def clash(t: int) -> str | None:
        return rhyme_clash(model, fixed, rhymes[t].nonzero().flatten().tolist(), book)

    fits = torch.tensor([admits(tpl, fixed) and not clash(t) for t, tpl in enumerate(templates)])
    if fits.any():
        return fits
    fix = "free a kept character or use --tones free"
    for p in fixed:
        if not any(admits(tpl, [p]) for tpl in templates):
            want = templates[0][p]
            raise ValueError(
                f"the kept {_kept(model, fixed, p)} is {tone[p]} where every regulated 平仄 "
                f"template wants {want}: {fix}"
            )
    for p, q in itertools.combinations(sorted(fixed), 2):
        if not any(admits(tpl, [p, q]) for tpl in templates):
            raise ValueError(
                f"the kept {_kept(model, fixed, p)}, {tone[p]}, and {_kept(model, fixed, q)}, "
                f"{tone[q]}, fit no regulated 平仄 template together: {fix}"
            )
    reason = next((clash(t) for t, tpl in enumerate(templates) if admits(tpl, fixed)), None)
    raise ValueError(f"{reason or 'the kept characters fit no regulated 平仄 template'}: {fix}")


@torch.no_grad()
def tone_constraints(
    model: PoetVAE, z: Tensor, fixed: dict[int, int], book: str = prosody.DEFAULT_RHYME_BOOK
) -> Constraints:
    """Strict regulated tones and one level-tone (平声) rhyme group of `book`, with each poem's
    most likely template among those that admit the fixed characters.

    Raises:
        ValueError: no template admits the fixed characters (the message names them).
    """
    pieces = tuple(model.vocab.itos)
    classes, kinds, rhymes = _templates(pieces, model.cfg.shape)
    allowed = classes[kinds]  # (T, L, V)
    fits = _strict_fits(model, fixed, book)
    p = model.decode(z.to(next(model.parameters()).device)).float().softmax(-1).cpu()
    p[..., [PAD_ID, UNK_ID]] = 0.0
    # log P(template satisfied | z) = sum over positions of the log mass of allowed characters
    mass = (p @ classes.T.float()).log()  # (B, L, 3): of each tone class
    score = mass.gather(-1, kinds.T.expand(len(p), -1, -1)).sum(1)  # (B, T)
    choice = score.masked_fill(~fits, float("-inf")).argmax(-1)  # (B,)
    return Constraints(
        fixed=fixed,
        allowed=allowed[choice],
        rhymes=rhymes[choice],
        rhyme_groups=rhyme_matrix(pieces, book, level=True),
    )


@torch.no_grad()
def keyword_constraints(
    model: PoetVAE, z: Tensor, words: list[list[int]], c: Constraints
) -> Constraints:
    """`c` with each keyword placed in every poem, where its z makes it likeliest.

    For each keyword in turn, every span of its length within one line is scored by the log
    probability of the keyword's characters there under the poem's per-position laws given z
    (a keyword for Jiuge's planner, a constraint here: any position, one pass over the laws);
    spans that hold a fixed character, a rhyme position, an earlier keyword, or a character
    the allowed sets (strict tones) refuse, are left out. The best span's positions may then
    take the keyword's characters only. A keyword with no span left (longer than a line, or
    refused everywhere) is not placed in that poem.

    Args:
        model: a PoetVAE (given the keywords, see `generate.conditioned`).
        z: (B, Z) latents.
        words: each keyword's character ids.
        c: the other constraints.

    Returns:
        Constraints with the same fixed characters and rhymes and (B, L, V) allowed sets.
    """
    B, L, n = z.shape[0], model.cfg.seq_len, model.cfg.chars_per_line
    device = next(model.parameters()).device
    logp = torch.cat(
        [model.decode(part.to(device)).float().log_softmax(-1).cpu() for part in z.split(256)]
    )  # (B, L, V)
    allowed = c.allowed.clone() if c.allowed is not None else torch.ones_like(logp, dtype=bool)
    taken = torch.zeros(B, L, dtype=torch.bool)
    taken[:, list(c.fixed)] = True
    if c.rhymes is not None:  # the rhyme group is drawn for the rhyme positions' own laws
        taken |= c.rhymes
    rows = torch.arange(B)
    for ids in words:
        w = len(ids)
        if w > n:
            continue
        starts = torch.tensor([i * n + j for i in range(L // n) for j in range(n - w + 1)])
        span = starts[:, None] + torch.arange(w)  # (S, w) positions of each span
        chars = torch.tensor(ids)  # (w,)
        ok = ~taken[:, span].any(-1) & allowed[:, span, chars].all(-1)  # (B, S)
        score = logp[:, span, chars].sum(-1).masked_fill(~ok, float("-inf"))  # (B, S)
        best, found = score.argmax(-1), ok.any(-1)  # (B,) each
        b = rows[found]
        for i in range(w):
            pos = span[best[found], i]  # (P,)
            allowed[b, pos] = False
            allowed[b, pos, chars[i]] = True
            taken[b, pos] = True
    return Constraints(c.fixed, allowed, c.rhymes, c.rhyme_groups)
