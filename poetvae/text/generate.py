"""The decoders: latents z -> poems, every position from its own distribution given z.

Decoding takes the argmax at temperature 0 and samples from softmax(logits / T - rarity log f)
otherwise (f: a character's share of the train split, see `Decoding.rarity`), optionally
within the top-p nucleus (the primitives are in `sampling`). By default a character
already used in the same line is excluded: real Tang lines repeat a character in about 5 % of
lines, while an independent per-position decoder left alone repeats its safest characters far
more often. Also by default the rhyme positions (the ends of lines 2, 4, ...) share a rhyme
group of a rhyme book (平水韵 unless asked otherwise, see `prosody`): each poem first draws its
group g with probability proportional to prod over rhyme positions p of P_p(g), the chance
that position p's own draw lands in g, which is the law of g given that independent draws
rhyme; then every rhyme position samples within g, no character twice (重韵), nor the one that
ends line 1. What else may restrict a position (fixed characters, tones) is in `constraints`.
Lean on purpose: no `datasets` import here.
"""

import dataclasses
import queue
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import torch
from torch import Tensor

from ..core.device import inference_autocast
from .constraints import Constraints, rhyme_constraints, simplified
from .corpus import chunk
from .decoding import Decoding
from .keywords import parse_keywords
from .model import MASK, PoetVAE
from .sampling import argmax, fresh_seed, pick, prior_draws
from .vocab import PAD_ID, UNK_ID

CHUNK = 256  # poems made at once (see `stream`)
# character positions decoded at once: (ROWS, V) logits, 36 MB for the 6,973 characters of the
# bundled models. The vocabulary-wide steps are faster in pieces of this size than of 256
# poems (5,120 positions of a quatrain): 1.1-1.2x (wuyan, 1 thread)
ROWS = 1280
MIN_ROWS = 16  # poems decoded at once at least (see `decode`)
# held while chunks decode side by side with torch set to one thread (a process-wide setting)
_ONE_THREAD_EACH = threading.Lock()


def n_uniforms(model: PoetVAE, decoding: Decoding) -> int:
    """Uniforms one poem's decoding takes: L + 1 per pass (a character each, then the rhyme
    group); the refinement rounds take none (they decode by argmax)."""
    return (model.cfg.seq_len + 1) * decoding.passes_for(model.cfg.decoder)


@torch.no_grad()
def decode_latents(
    model: PoetVAE,
    z: Tensor,
    decoding: Decoding,
    u: Tensor | None = None,
    constraints: Constraints | None = None,
) -> Tensor:
    """Character ids for latents z, each position from its own distribution given z (and,
    for the mask-predict and causal decoders, given the other characters).

    All positions of a pass are drawn at once, each from the whole vocabulary. Where two
    positions that must differ (one line without repeats, nor the ends of two lines; the rhyme
    positions and the end of line 1 without 重韵) draw one character, the later one draws again
    without the characters its partners hold (see `_draw`). Where a constraint leaves nothing
    else, a repeat stays.

    Args:
        model: a PoetVAE.
        z: (B, Z) latents.
        decoding: temperature, top_p, no_repeat, passes and rarity are read (rhyme and refine
            are the callers': rhyme through `constraints`). Passes are for the mask-predict
            decoder (Ghazvininejad et al. 2019): pass 0 draws every free position given z and the
            fixed characters; pass t re-masks the L (passes - t) / passes least confident
            characters (the least likely under the law each was drawn from) and draws them
            again given z and the rest. The causal decoder draws left to right
            (from the whole vocabulary); the parallel one takes 1 pass.
        u: (B, passes * (L + 1)) uniforms in [0, 1): per pass, one picks each sampled character
            (inverse CDF) and the last picks the rhyme group; fresh if None.
        constraints: fixed characters, allowed sets and rhyme positions.

    Returns:
        (B, L) ids on the CPU.

    Raises:
        ValueError: no character (or no rhyme group) satisfies the constraints, or passes > 1
            for a decoder that cannot read a draft.
    """
    c = constraints or Constraints()
    decoding = decoding.for_model(model.decoding)
    B, L = z.shape[0], model.cfg.seq_len
    passes = decoding.passes_for(model.cfg.decoder)
    if passes > 1 and model.cfg.decoder != "mask-predict":
        raise ValueError(
            f"passes must be 1 for a {model.cfg.decoder} decoder, got {passes}: "
            "re-masking passes need a mask-predict model"
        )
    if u is None:
        u = torch.rand(B, passes * (L + 1))
    n = max(MIN_ROWS, ROWS // L)  # poems at once: bounded memory, about (ROWS, V) logits
    if B == 0:
        return torch.empty(0, L, dtype=torch.long)
    starts = range(0, B, n)
    # the float32 logits of every pass go here: a fresh (ROWS, V) block is 36 MB, which the
    # allocator maps anew each time, and writing it page-faulted 8x slower than this reused one
    # (22 against 2.8 ms per 1,280 x 6,973 block, 1 thread); one per worker
    workers = 1 if z.device.type != "cpu" else min(torch.get_num_threads(), len(starts))
    spaces = queue.SimpleQueue()
    for _ in range(workers):
        spaces.put(torch.empty(max(MIN_ROWS, min(B, n)) * L * model.cfg.vocab_size))

    def part(i: int) -> Tensor:
        zi, ui, ci = z[i : i + n], u[i : i + n], c.rows(i, i + n)
        b = len(zi)
        if b < MIN_ROWS:  # a short last chunk too (see `decode`)
            index = _padded(b)
            zi, ui, ci = zi[index], ui[index], ci.take(index)
        space = spaces.get()
        try:
            with torch.no_grad():  # grad mode is per thread
                return _decode_chunk(model, zi, decoding, ui, ci, space)[:b]
        finally:
            spaces.put(space)

    if workers == 1:
        return torch.cat([part(i) for i in starts])
    # chunks side by side, one torch thread each: on 2 CPU threads 1.2-1.3x the throughput of
    # one chunk at a time on 2 threads (the vocabulary-wide element-wise steps and the small
    # operations split badly), the poems the same (see README.md, *Benchmarks*)
    with _ONE_THREAD_EACH:
        threads = torch.get_num_threads()
        torch.set_num_threads(1)  # process-wide: hence the lock
        try:
            with ThreadPoolExecutor(workers) as pool:
                return torch.cat(list(pool.map(part, starts)))
        finally:
            torch.set_num_threads(threads)


def _decode_chunk(
    model: PoetVAE, z: Tensor, decoding: Decoding, u: Tensor, c: Constraints, space: Tensor
) -> Tensor:
    """`decode_latents` of B <= ROWS // L poems (and >= MIN_ROWS), each pass's float32 logits
    written into `space`."""
    B, L = z.shape[0], model.cfg.seq_len
    passes = decoding.passes_for(model.cfg.decoder)
    z = z.to(next(model.parameters()).device)

    shift = _shift(model, decoding)

    def logits_of(draft: Tensor, at: int | Tensor | None) -> Tensor:
        with inference_autocast(z.device, decoding.precision):
            out = model.decode(z, draft.to(z.device), at)
        logits = space[: out.numel()].view(out.shape).copy_(out)  # to float32 on the CPU
        # (B, L, V); (B, V) at one position; (M, V) at the M positions of a mask
        return logits.add_(shift)

    width = model.cfg.chars_per_line
    line, end = torch.arange(L) // width, torch.arange(L) % width == width - 1
    # no repeats within a line, nor at the ends of two lines (real 律诗 do the latter in 1-2 % of
    # poems; 1,000 default wulu samples did in 20.5 % before this rule, qilu 9.9 %)
    same = ((line[:, None] == line) | (end[:, None] & end)) & decoding.no_repeat  # (L, L)
    same = same.expand(B, L, L)
    if c.rhymes is not None:  # and no character rhymes with itself (重韵), the end of line 1
        # included: it often rhymes too (首句入韵), and real poems repeat a rhyme character there
        # in at most 1 % of poems
        ends = c.rhymes.clone()
        ends[:, width - 1] = True
        same = same | (ends[:, :, None] & ends[:, None, :])
    same = same & ~torch.eye(L, dtype=torch.bool)  # (B, L, L) positions that must differ
    ids = torch.full((B, L), MASK, dtype=torch.long)
    for pos, idx in c.fixed.items():  # fixed characters are context from the first pass on
        ids[:, pos] = idx
    free = ids[0] == MASK  # (L,)

    T = decoding.temperature
    if model.cfg.decoder == "causal":  # each position reads the characters drawn to its left
        off = None
        for pos in free.nonzero().flatten().tolist():
            logits = logits_of(ids, pos).unsqueeze(1)  # (B, 1, V)
            if c.rhymes is not None and off is None and c.rhymes[:, pos].any():
                off = _off_rhyme(c, _choose_group(logits, c, T, u[:, L], [pos]))
            redo = torch.zeros(B, L, dtype=torch.bool)
            redo[:, pos] = True
            w = _weights(_restrict(logits[:, 0], c, off, redo, check=True), T)  # (B, V)
            ids = _draw(ids, redo, w, same, decoding, u[:, pos])[0]
        return ids

    logits = logits_of(ids, None)  # (B, L, V)
    off = None
    if c.rhymes is not None:  # drawn over every rhyme position's law
        rhyming = [p for p in c.rhymes.any(0).nonzero().flatten().tolist() if free[p]]
        off = _off_rhyme(c, _choose_group(logits[:, rhyming], c, T, u[:, L], rhyming))
    redo = free.expand(B, L)
    rows = logits.view(B * L, -1)  # (M, V), the free positions in row-major order
    rows = _restrict(rows if free.all() else rows[free.repeat(B)], c, off, redo, check=True)
    u_0 = u[:, :L][:, free].flatten()
    ids, chosen = _draw(ids, redo, _weights(rows, T), same, decoding, u_0, passes > 1)
    # a draw's confidence: its probability under the law it was drawn from
    conf = torch.zeros(B, L)
    if chosen is not None:
        conf[redo] = chosen
    shun = decoding.presence if T > 0 else 0.0
    for t in range(1, passes):  # re-mask the least confident free positions
        k = int(free.sum()) * (passes - t) // passes
        if k == 0:
            break
        score = conf.log()
        if shun:  # a character the rest of the poem repeats is that much less confident
            score = score - shun * _copies(ids, width)
        order = score.masked_fill(~free, float("inf")).argsort(-1)[:, :k]  # (B, k)
        redo = torch.zeros(B, L, dtype=torch.bool).scatter_(1, order, True)
        draft = ids.masked_fill(redo, MASK)
        logits = logits_of(draft, redo)  # (M, V), M = B k
        if shun:
            _shun(logits, draft, redo, width, shun * T)
        w = _weights(_restrict(logits, c, off, redo), T)  # (M, V)
        u_t = u[:, t * (L + 1) : t * (L + 1) + L][redo]
        ids, chosen = _draw(ids, redo, w, same, decoding, u_t, t < passes - 1)
        if chosen is not None:
            conf[redo] = chosen
    return ids


def _pairs(ids: Tensor, width: int) -> tuple[Tensor, Tensor, Tensor]:
    """The two-character phrases of (B, L) ids: (B, L - 1) first and second characters of
    each neighbouring pair, and whether it is one (both in one line, neither masked)."""
    first, second = ids[:, :-1], ids[:, 1:]
    in_line = torch.arange(ids.shape[1] - 1) % width != width - 1
    return first, second, in_line & (first != MASK) & (second != MASK)


def _copies(ids: Tensor, width: int) -> Tensor:
    """(B, L) how often the rest of each poem repeats each position's character, plus the
    two-character phrases it stands in (with its left and right neighbour)."""
    copies = (ids.unsqueeze(2) == ids.unsqueeze(1)).sum(-1) - 1
    first, second, valid = _pairs(ids, width)
    same = (first.unsqueeze(2) == first.unsqueeze(1)) & (second.unsqueeze(2) == second.unsqueeze(1))
    repeats = ((same & valid.unsqueeze(1)).sum(-1) - 1) * valid  # (B, L - 1) per phrase
    copies[:, 1:] += repeats  # the phrase a position ends
    copies[:, :-1] += repeats  # the phrase it begins
    return copies


def _shun(logits: Tensor, draft: Tensor, redo: Tensor, width: int, amount: float) -> None:
    """Subtract `amount` in place from the (M, V) logits of the positions of `redo` (row-major)
    once for each copy of a character that the rest of the poem (the `draft`) holds, and once
    more for each two-character phrase of the poem that the character would make again with
    the position's left or right neighbour: the law times exp(-presence n) at T."""
    b, pos = redo.nonzero(as_tuple=True)  # (M,) each
    rows = torch.arange(len(b)).unsqueeze(1)  # (M, 1)
    held = draft[b]  # (M, L) what the rest of each poem holds
    first, second, valid = (t[b] for t in _pairs(draft, width))  # (M, L - 1) each
    at = pos.unsqueeze(1)
    left = held.gather(1, (at - 1).clamp(min=0)).masked_fill(at % width == 0, MASK)
    right = held.gather(1, (at + 1).clamp(max=held.shape[1] - 1))
    right = right.masked_fill(at % width == width - 1, MASK)
    # (row, character) pairs: every held character, the second of every phrase that begins
    # with the left neighbour, the first of every phrase that ends with the right one
    hits = [
        (rows.expand_as(held), held, held != MASK),
        (rows.expand_as(first), second, valid & (first == left) & (left != MASK)),
        (rows.expand_as(second), first, valid & (second == right) & (right != MASK)),
    ]
    r = torch.cat([row[keep] for row, _, keep in hits])
    chars = torch.cat([char[keep] for _, char, keep in hits])
    logits.index_put_((r, chars), torch.full((len(r),), -amount), accumulate=True)


def _shift(model: PoetVAE, decoding: Decoding) -> Tensor:
    """(V,) what decoding adds to the model's logits: -inf where a character is never drawn
    (<pad>, <unk>, and a variant character whose standard form the vocabulary holds, see
    `vocab.Vocab.variant_ids`: 疎 beside 疏), and `Decoding.rarity`'s -rarity T log f, f being
    each character's share of the train split's characters, so that the law at temperature T
    is proportional to p^(1/T) f^-rarity (not at argmax decoding, T 0)."""
    T = decoding.temperature
    V = model.cfg.vocab_size
    if decoding.rarity == 0 or T == 0 or model.vocab is None:
        shift = torch.zeros(V)
    else:
        shift = torch.tensor(model.vocab.log_freq).mul_(-decoding.rarity * T)
    barred = [PAD_ID, UNK_ID] + (model.vocab.variant_ids if model.vocab is not None else [])
    return shift.index_fill_(0, torch.tensor(barred), float("-inf"))


def _weights(logits: Tensor, temperature: float) -> Tensor:
    """exp(logits / T - max), the law characters are drawn from up to a factor per row,
    computed in place of `logits`; at T = 0 (argmax decoding) the logits themselves: their
    argmax is the law's, without two passes over the vocabulary."""
    if temperature == 0:
        return logits
    top = logits.amax(-1, keepdim=True)
    return torch.add(top / -temperature, logits, alpha=1 / temperature, out=logits).exp_()


def _restrict(
    logits: Tensor, c: Constraints, off: Tensor | None, redo: Tensor, check: bool = False
) -> Tensor:
    """Set the (M, V) logits of the positions of `redo` (B, L), in row-major order, to -inf
    in place where the constraints (the allowed sets; at the rhyme positions, `off`, the
    characters outside each poem's rhyme group, see `_off_rhyme`) forbid a character.

    Raises:
        ValueError: with `check`, a position with no character left.
    """
    b, pos = redo.nonzero(as_tuple=True)  # (M,) each
    if off is not None:  # the group was drawn where it leaves each position a character
        r = c.rhymes[b, pos].nonzero().flatten()
        logits[r] = logits[r].masked_fill(off[b[r]], float("-inf"))
    if c.allowed is not None:
        allowed = c.allowed[b, pos]  # (M, V)
        logits.masked_fill_(~allowed, float("-inf"))
        empty = ~allowed[:, UNK_ID + 1 :].any(-1)  # <pad> and <unk> are never drawn
        if check and empty.any():
            first = int(pos[empty].min())
            raise ValueError(f"no character satisfies the constraints at position {first + 1}")
    return logits


def _draw(
    ids: Tensor,
    redo: Tensor,
    w: Tensor,
    same: Tensor,
    d: Decoding,
    u: Tensor,
    confidence: bool = True,
) -> tuple[Tensor, Tensor | None]:
    """Draw the positions of `redo` at once.

    Args:
        ids: (B, L) ids; those outside `redo` are kept (MASK counts as no character).
        redo: (B, L) bool, the M positions to draw.
        w: (M, V) their laws' weights (see `_weights`), in row-major order of `redo`: at
            temperature 0 (greedy) logits, -inf where barred; else probabilities up to a factor
            per row (see `sampling.pick`), 0 where barred.
        same: (B, L, L) bool, pairs of positions that must not hold one character.
        d: greedy (temperature 0) or not, and top-p.
        u: (M,) uniforms.
        confidence: whether to return the probabilities of the drawn characters.

    Returns:
        A copy of ids with the positions of `redo` written, and (M,) the probability of each
        drawn character under its row's law (None without `confidence`).

    A drawn position clashes when a kept position, or a drawn one to its left, that it must
    differ from holds its character. Clashing positions draw again from their law without the
    characters that their non-clashing partners hold, with the uniform left over from their
    last draw (so each redraw follows its restricted law exactly); where nothing is left, the
    repeat stays. Each round settles at least the leftmost clashing position of every poem, so
    there are at most L rounds, and usually one or none.
    """
    greedy = d.temperature == 0
    ids = ids.clone()
    b, pos = redo.nonzero(as_tuple=True)  # (M,) each
    partners = same[b, pos]  # (M, L)
    before = ~redo[b] | (torch.arange(ids.shape[1]) < pos[:, None])  # (M, L): kept, or to the left
    settled = torch.zeros(len(b), dtype=torch.bool)  # rows that keep a repeat: nothing else left
    rows = torch.arange(len(b))
    barred = float("-inf") if greedy else 0.0
    if greedy:
        k, rest = argmax(w), u
    else:
        k, rest, total = pick(w, d.top_p, u)
    chosen = torch.empty(len(b), dtype=torch.long)  # (M,)
    V = w.shape[-1]
    for _ in range(ids.shape[1] + 1):  # at most L redraws, then a last check
        chosen[rows] = k
        ids[b[rows], pos[rows]] = k
        clash = (ids[b] == ids[b, pos][:, None]) & partners & before  # (M, L)
        clash = clash.any(-1) & ~settled
        if not clash.any():
            break
        rows = clash.nonzero().flatten()
        redrawn = torch.zeros_like(redo)
        redrawn[b[rows], pos[rows]] = True
        held = ids[b[rows]].masked_fill(~partners[rows] | redrawn[b[rows]], MASK)  # (R, L)
        # (R, V + 1) banned characters; the last column catches MASK
        banned = torch.zeros(len(rows), V + 1, dtype=torch.bool)
        banned = banned.scatter_(1, held.masked_fill(held < 0, V), True)[:, :V]
        restricted = w[rows].masked_fill(banned, barred)  # the law without them
        left = (restricted > barred).any(-1)
        settled[rows[~left]] = True
        rows = rows[left]
        if greedy:
            k = argmax(restricted[left])
        else:
            k, rest[rows], _ = pick(restricted[left], d.top_p, rest[rows])
    if not confidence:
        return ids, None
    drawn = w.gather(-1, chosen.unsqueeze(-1)).squeeze(-1)
    return ids, (drawn - w.logsumexp(-1)).exp() if greedy else drawn / total


def _off_rhyme(c: Constraints, group: Tensor) -> Tensor:
    """(B, V) bool: the characters outside each poem's rhyme group, (B,) `group`."""
    return ~c.rhyme_groups[:, group].T.contiguous()


def _choose_group(logits: Tensor, c: Constraints, temperature: float, u: Tensor, at: list[int]):
    """(B,) rhyme groups drawn with probability proportional to P(every rhyme position's own
    draw lands in group g and is allowed), by uniforms u (the best group at temperature 0).

    logits: (B, P, V), the laws of the free rhyme positions `at` known so far.

    Raises:
        ValueError: no group fits the fixed rhyme characters.
    """
    scores = _rhyme_group_scores(logits, c, temperature, at)
    if not torch.isfinite(scores).any(-1).all():
        raise ValueError(
            "no rhyme group fits the characters fixed at the rhyme positions (the ends of "
            "lines 2, 4, ...): turn rhyme off to keep them"
        )
    return pick(scores.softmax(-1), 1.0, u, greedy=temperature == 0)[0]


def _rhyme_group_scores(
    logits: Tensor, c: Constraints, temperature: float, at: list[int]
) -> Tensor:
    """(B, G) log P(every rhyme position's own draw lands in group g and is allowed).

    logits: (B, P, V), the laws of the free positions `at` (the others are left out: a causal
    decoder does not know them yet). Positions are independent given z (and the kept
    characters), so the log of that is a sum over rhyme positions of the log mass their
    (tempered) law puts on the allowed characters of g; a fixed rhyme character admits exactly
    its own groups.
    """
    t = temperature if temperature > 0 else 1.0
    scores = torch.zeros(len(c.rhymes), c.rhyme_groups.shape[1])  # (B, G)
    for pos, idx in c.fixed.items():
        fits = torch.where(c.rhyme_groups[idx], 0.0, float("-inf"))  # (G,)
        scores += torch.where(c.rhymes[:, pos, None], fits, 0.0)
    p = (logits / t).softmax(-1)  # (B, P, V)
    if c.allowed is not None:
        p = p * c.allowed[:, at]
    mass = (p @ c.rhyme_groups.float()).log()  # (B, P, G)
    return scores + mass.masked_fill(~c.rhymes[:, at, None], 0.0).sum(1)


def conditioned(model: PoetVAE, keywords: str | list[str] | None) -> PoetVAE:
    """The model given keywords (see `keywords.parse_keywords`; Traditional characters it does
    not know are read in Simplified script), or the model itself for None.

    Raises:
        ValueError: bad keywords (none, too many, unknown characters: named) or a model
            without keywords.
    """
    if keywords is None:
        return model
    words = [simplified(model, w) for w in parse_keywords(keywords)]
    with torch.no_grad():
        return model.given(model.keyword_ids(words))


def generate(
    model: PoetVAE,
    n: int = 5,
    decoding: Decoding = Decoding(),
    seed: int | None = None,
    start: int = 0,
    keywords: str | list[str] | None = None,
) -> list[list[str]]:
    """Sample n poems from the model's prior p(z), or p(z | keywords) given keywords.

    Args:
        decoding: temperature, top-p, no repeats, rhyme (see the module docstring), passes
            (see `decode_latents`) and latent refinement rounds (see `refine_latents`).
        seed: same seed, same poems; poem i of a seed is the same whatever n is.
        start: index of the first poem within the seed's sequence (see `stream`).
        keywords: 1 to 4 words the poems are about (a conditional model only): a string
            separated by commas, 、 or spaces, or a list. Left to the model: `compose.write`
            (and `poetvae generate`) also writes each where the poem's z makes it likeliest.

    Returns:
        n poems, each a list of lines (characters only, no punctuation).
    """
    check_count(n)
    model = conditioned(model, keywords)
    if n == 0:
        return []
    z, u = prior_draws(model.prior, n, n_uniforms(model, decoding), seed, start)
    c = rhyme_constraints(model, n, book=decoding.rhyme_book) if decoding.rhyme else None
    z = z[:, 0]
    return to_poems(model, decode(model, z, u, c, decoding))


def check_count(n: int) -> None:
    """Raise ValueError for a negative number of poems."""
    if n < 0:
        raise ValueError(f"the number of poems must be >= 0, got {n}")


def decode(
    model: PoetVAE, z: Tensor, u: Tensor, c: Constraints | None, decoding: Decoding
) -> Tensor:
    """`decoding.refine` rounds of latent refinement, then `decode_latents`; (B, L) ids.

    u: (B, n_uniforms(model, decoding)) uniforms.

    Fewer than MIN_ROWS poems are decoded with copies of the last one up to MIN_ROWS, dropped
    after: below that the CPU's matrix products round a poem's numbers differently from the
    larger batches `stream` decodes in, and poem i of a seed came out otherwise when n was
    small (7 of 60 poems, decoded 10 at a time against 256 at a time). `decode_latents` pads
    a short last chunk of its own the same way.
    """
    B = len(z)
    if 0 < B < MIN_ROWS:
        index = _padded(B)
        padded = None if c is None else c.take(index)
        return decode(model, z[index], u[index], padded, decoding)[:B]
    for _ in range(decoding.refine):
        z = refine_latents(model, z, decoding, c)
    return decode_latents(model, z, decoding, u, c)


def _padded(B: int) -> Tensor:
    """(MIN_ROWS,) index of B < MIN_ROWS poems followed by copies of the last one."""
    return torch.cat([torch.arange(B), torch.full((MIN_ROWS - B,), B - 1)])


@torch.no_grad()
def refine_latents(model: PoetVAE, z: Tensor, decoding: Decoding, c: Constraints | None) -> Tensor:
    """One round of latent refinement: z <- mu(argmax decode(z)), the delta posterior of Shu et
    al. (2020), "Latent-Variable Non-Autoregressive Neural Machine Translation with
    Deterministic Inference": one pass (every position given z alone), by argmax, under the
    decoding's constraints (no repeats, rhyme, ...).

    On 1,000 wuyan prior samples this moves z as a 4-pass decoding at the sampling settings did
    (the final poems' fluency, variety and coherence alike at T 0.95 against 0.9 before) at
    about a quarter of the cost: see README.md, *Decoders*.

    Returns:
        (B, Z) latents on the CPU.
    """
    argmax = dataclasses.replace(decoding, temperature=0.0, passes=1)
    u = torch.zeros(len(z), model.cfg.seq_len + 1)  # argmax draws read no uniform
    ids = decode_latents(model, z, argmax, u, c)
    device = next(model.parameters()).device
    mus = []
    for part in ids.split(CHUNK):
        with inference_autocast(device, decoding.precision):
            mu = model.encode(part.to(device))[0]
        mus.append(mu.float().cpu())
    return torch.cat(mus)


def to_poems(model: PoetVAE, ids: Tensor) -> list[list[str]]:
    """(B, L) ids -> B poems, each a list of lines."""
    form = model.cfg.shape
    return [chunk(model.vocab.decode(row.tolist()), form) for row in ids]


def stream(
    draw: Callable[..., list[list[str]]],
    model: PoetVAE,
    n: int,
    seed: int | None = None,
    chunk: int = CHUNK,
    **options,
) -> Iterator[list[str]]:
    """Yield n poems one by one, made `chunk` at a time: memory does not grow with n.

    Args:
        draw: `generate` or `compose.write`; called as draw(model, n=, seed=, start=, **options).
        seed: as for `draw`; without one a random seed is drawn once, for the whole stream.
        chunk: poems per call (divided by `rerank` when it is given, as each poem then decodes
            that many candidates).

    Yields:
        Poem i of the seed, the same poem that draw(model, n, seed=seed)[i] gives.
    """
    seed = fresh_seed() if seed is None else seed
    chunk = max(1, chunk // options.get("rerank", 1))
    for start in range(0, n, chunk):
        yield from draw(model, n=min(chunk, n - start), seed=seed, start=start, **options)
