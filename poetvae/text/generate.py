"""The decoders: latents z -> poems, every position from its own distribution given z.

Decoding takes the argmax at temperature 0 and samples from softmax(logits / T) otherwise,
optionally within the top-p nucleus (the primitives are in `sampling`). By default a character
already used in the same line is excluded: real Tang lines repeat a character in about 5 % of
lines, while an independent per-position decoder left alone repeats its safest characters far
more often. Also by default the rhyme positions (the ends of lines 2, 4, ...) share a rhyme
group: each poem first draws its group g with probability proportional to prod over rhyme
positions p of P_p(g), the chance that position p's own draw lands in g, which is the law of g
given that independent draws rhyme; then every rhyme position samples within g, no character
twice (重韵). What else may restrict a position (fixed characters, tones) is in `constraints`.
Lean on purpose: no `datasets` import here.
"""

from collections.abc import Callable, Iterator

import torch
from torch import Tensor

from .constraints import Constraints, form_of, rhyme_constraints
from .corpus import chunk
from .decoding import Decoding
from .model import MASK, PoetVAE
from .sampling import fresh_seed, pick, prior_draws
from .vocab import PAD_ID, UNK_ID

CHUNK = 256  # poems decoded at once


def n_uniforms(model: PoetVAE, decoding: Decoding) -> int:
    """Uniforms one poem's decoding takes: L + 1 per pass (a character each, then the rhyme
    group), the decoding's passes per decoding, 1 + `refine` decodings."""
    passes = decoding.passes_for(model.cfg.decoder)
    return (model.cfg.seq_len + 1) * passes * (1 + decoding.refine)


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

    Args:
        model: a PoetVAE.
        z: (B, Z) latents.
        decoding: temperature, top_p, no_repeat and passes are read (rhyme and refine are the
            callers': rhyme through `constraints`). Passes are for the mask-predict decoder
            (Ghazvininejad et al. 2019): pass 0 draws every free position given z and the fixed
            characters; pass t re-masks the L (passes - t) / passes least confident characters
            and draws them again given z and the rest. The causal decoder draws left to right
            in one pass; the parallel one takes 1 pass.
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
    L = model.cfg.seq_len
    temperature, top_p, no_repeat = decoding.temperature, decoding.top_p, decoding.no_repeat
    passes = decoding.passes_for(model.cfg.decoder)
    if passes < 1 or (passes > 1 and model.cfg.decoder != "mask-predict"):
        raise ValueError(
            f"passes must be 1 for a {model.cfg.decoder} decoder (and >= 1), got {passes}: "
            "re-masking passes need a mask-predict model"
        )
    if u is None:
        u = torch.rand(z.shape[0], passes * (L + 1))
    if z.shape[0] > CHUNK:  # bounded memory: (CHUNK, L, V) logits at a time
        return torch.cat(
            [
                decode_latents(
                    model, z[i : i + CHUNK], decoding, u[i : i + CHUNK], c.rows(i, i + CHUNK)
                )
                for i in range(0, z.shape[0], CHUNK)
            ]
        )
    z = z.to(next(model.parameters()).device)
    B, L, n = z.shape[0], model.cfg.seq_len, model.cfg.chars_per_line
    V = model.cfg.vocab_size
    rhyme, at = c.rhyme_groups, c.rhymes

    def logits_of(draft: Tensor, at: int | Tensor | None) -> Tensor:
        logits = model.decode(z, draft.to(z.device), at).float().cpu()
        logits[..., [PAD_ID, UNK_ID]] = float("-inf")
        return logits  # (B, L, V); (B, V) at one position; (M, V) at the M positions of a mask

    def draw(logits_at, joint: bool, out: Tensor, u: Tensor, redo=None, group=None):
        """One pass: draw the positions in `redo` (all free ones if None) into out, left to
        right. logits_at(pos) -> (B, V) is read after the positions to its left are written
        (the causal decoder needs them). With `joint`, every rhyme position's law is known up
        front and the rhyme group is drawn over all of them; otherwise (causal) the first
        rhyme position's own law picks it. Kept characters count for no-repeat and rhyme.
        Writes into `out`, so that logits_at can read what is drawn."""
        keep = torch.zeros(B, L, dtype=torch.bool) if redo is None else ~redo
        for pos, idx in c.fixed.items():
            out[:, pos], keep[:, pos] = idx, True
        rows = torch.arange(B)
        used = torch.zeros(B, V, dtype=torch.bool)
        rhymed = torch.zeros(B, V, dtype=torch.bool)  # no character rhymes with itself (重韵)
        if rhyme is not None:
            r, q = (keep & at).nonzero(as_tuple=True)
            rhymed[r, out[r, q]] = True
            if group is None and joint:
                group = _choose_group(logits_at, c, temperature, u[:, L], None)
        for pos in range(L):
            if pos % n == 0:  # a new line: its kept characters are already used
                used.zero_()
                r, j = keep[:, pos : pos + n].nonzero(as_tuple=True)
                used[r, out[r, pos + j]] = True
            if keep[:, pos].all():
                continue
            step = logits_at(pos)
            rhyming = rhyme is not None and bool(at[:, pos].any())
            if rhyming and group is None:
                group = _choose_group(logits_at, c, temperature, u[:, L], pos)
            if c.allowed is not None or rhyming:
                avoid = used if no_repeat else torch.zeros(B, V, dtype=torch.bool)
                banned = ~c.allowed[:, pos] if c.allowed is not None else torch.zeros_like(avoid)
                if rhyming:
                    banned |= ~rhyme[:, group].T & at[:, pos : pos + 1]
                    avoid = avoid | (rhymed & at[:, pos : pos + 1])
                step = step.masked_fill(banned, float("-inf"))
                if not torch.isfinite(step[~keep[:, pos]]).any(-1).all():
                    raise ValueError(
                        f"no character satisfies the constraints at position {pos + 1}"
                    )
                # under constraints repeats are avoided, not forbidden: where nothing else is
                # allowed, they stay
                without = step.masked_fill(avoid, float("-inf"))
                step = torch.where(torch.isfinite(without).any(-1, keepdim=True), without, step)
            elif no_repeat:
                step = step.masked_fill(used, float("-inf"))
            draw_rows = ~keep[:, pos]  # only these rows draw here; the others keep their character
            out[draw_rows, pos] = pick(step[draw_rows], temperature, top_p, u[draw_rows, pos])
            ids = out[:, pos]
            used[rows, ids] = True
            if rhyme is not None:
                rhymed[at[:, pos], ids[at[:, pos]]] = True
        return out, group

    if model.cfg.decoder == "causal":  # each position reads the characters drawn to its left
        ids = torch.full((B, L), MASK, dtype=torch.long)
        return draw(lambda pos: logits_of(ids, pos), False, ids, u[:, : L + 1])[0]
    free = torch.ones(L, dtype=torch.bool)
    free[list(c.fixed)] = False
    ids, conf, group = torch.full((B, L), MASK, dtype=torch.long), None, None
    for pos, idx in c.fixed.items():  # fixed characters are context from the first pass on
        ids[:, pos] = idx
    for t in range(passes):
        redo = free.expand(B, L).clone()  # pass 0 draws every free position
        if t > 0:  # then re-mask the least confident free positions
            k = int(free.sum()) * (passes - t) // passes
            if k == 0:
                break
            order = conf.masked_fill(~free, float("inf")).argsort(-1)[:, :k]  # (B, k)
            redo = torch.zeros(B, L, dtype=torch.bool).scatter_(1, order, True)
        if t == 0:  # every position's logits, (B, L, V)
            logits = logits_of(ids, None)

            def at_pos(pos: int, logits=logits) -> Tensor:
                return logits[:, pos]

        else:  # only where something is drawn: (M, V) for the M redrawn (poem, position) pairs
            logits = logits_of(ids.masked_fill(redo, MASK), redo)
            where = torch.full((B, L), -1, dtype=torch.long)
            where[redo] = torch.arange(len(logits))

            def at_pos(pos: int, logits=logits, where=where) -> Tensor:
                rows = where[:, pos]
                step = torch.zeros(B, V)  # rows that keep their character: read, never drawn
                step[rows >= 0] = logits[rows[rows >= 0]]
                return step

        ids, group = draw(
            at_pos, True, ids.clone(), u[:, t * (L + 1) : (t + 1) * (L + 1)], redo, group
        )
        if t + 1 < passes:  # the confidence of each drawn character, for the next re-masking
            drawn = logits[redo] if t == 0 else logits  # (M, V)
            chosen = drawn.gather(-1, ids[redo].unsqueeze(-1)).squeeze(-1)  # (M,)
            conf = torch.zeros(B, L) if conf is None else conf
            conf[redo] = (chosen - drawn.logsumexp(-1)).exp()
    return ids


def _choose_group(logits_at, c: Constraints, temperature: float, u: Tensor, upto: int | None):
    """(B,) rhyme groups drawn with probability proportional to P(every rhyme position's own
    draw lands in group g and is allowed), by uniforms u (the best group at temperature 0).

    Raises:
        ValueError: no group fits the fixed rhyme characters.
    """
    scores = _rhyme_group_scores(logits_at, c, temperature, upto)
    if not torch.isfinite(scores).any(-1).all():
        raise ValueError(
            "no rhyme group fits the characters fixed at the rhyme positions (the ends of "
            "lines 2, 4, ...): turn rhyme off (--no-rhyme) to keep them"
        )
    return pick(scores, 1.0 if temperature > 0 else 0.0, 1.0, u)


def _rhyme_group_scores(
    logits_at, c: Constraints, temperature: float, upto: int | None = None
) -> Tensor:
    """(B, G) log P(every rhyme position's own draw lands in group g and is allowed).

    logits_at(pos) -> (B, V). Positions are independent given z (and the kept characters), so
    the log of that is a sum over rhyme positions of the log mass their (tempered) law puts on
    the allowed characters of g; a fixed rhyme character admits exactly its own groups. With
    `upto`, free positions right of it are left out (a causal decoder does not know their law
    yet).
    """
    t = temperature if temperature > 0 else 1.0
    member = c.rhyme_groups.float()  # (V, G)
    scores = torch.zeros(len(c.rhymes), member.shape[1])  # (B, G)
    for pos in c.rhymes.any(0).nonzero().flatten().tolist():
        rows = c.rhymes[:, pos]
        if pos in c.fixed:
            fits = c.rhyme_groups[c.fixed[pos]]  # (G,)
            scores[rows] += torch.where(fits, 0.0, float("-inf"))
        elif upto is None or pos <= upto:
            p = (logits_at(pos)[rows] / t).softmax(-1)  # (R, V)
            if c.allowed is not None:
                p = p * c.allowed[rows, pos]
            scores[rows] += (p @ member).log()
    return scores


def generate(
    model: PoetVAE,
    n: int = 5,
    decoding: Decoding = Decoding(),
    seed: int | None = None,
    start: int = 0,
) -> list[list[str]]:
    """Sample n poems from the prior p(z) = N(0, I).

    Args:
        decoding: temperature, top-p, no repeats, rhyme (see the module docstring), passes
            (see `decode_latents`) and latent refinement rounds (see `refine_latents`).
        seed: same seed, same poems; poem i of a seed is the same whatever n is.
        start: index of the first poem within the seed's sequence (see `stream`).

    Returns:
        n poems, each a list of lines (characters only, no punctuation).
    """
    check_count(n)
    if n == 0:
        return []
    z, u = prior_draws(n, model.cfg.latent_dim, n_uniforms(model, decoding), seed, start)
    c = rhyme_constraints(model, n) if decoding.rhyme else None
    return to_poems(model, decode(model, z, u, c, decoding))


def check_count(n: int) -> None:
    """Raise ValueError for a negative number of poems."""
    if n < 0:
        raise ValueError(f"the number of poems must be >= 0, got {n}")


def decode(
    model: PoetVAE, z: Tensor, u: Tensor, c: Constraints | None, decoding: Decoding
) -> Tensor:
    """`decoding.refine` rounds of latent refinement, then `decode_latents`; (B, L) ids.

    u: (B, n_uniforms(model, decoding)) uniforms, one slice per decoding.
    """
    per = u.shape[1] // (1 + decoding.refine)
    for r in range(decoding.refine):
        z = refine_latents(model, z, decoding, u[:, r * per : (r + 1) * per], c)
    return decode_latents(model, z, decoding, u[:, decoding.refine * per :], c)


@torch.no_grad()
def refine_latents(
    model: PoetVAE, z: Tensor, decoding: Decoding, u: Tensor, c: Constraints | None
) -> Tensor:
    """One round of latent refinement: z <- mu(decode(z)), the delta posterior of Shu et al.
    (2020), "Latent-Variable Non-Autoregressive Neural Machine Translation with Deterministic
    Inference". Decoding at the sampling settings (not argmax) keeps more variety.

    Returns:
        (B, Z) latents on the CPU.
    """
    ids = decode_latents(model, z, decoding, u, c)
    mus = [
        model.encode(part.to(next(model.parameters()).device))[0].float().cpu()
        for part in ids.split(CHUNK)
    ]
    return torch.cat(mus)


def to_poems(model: PoetVAE, ids: Tensor) -> list[list[str]]:
    """(B, L) ids -> B poems, each a list of lines."""
    form = form_of(model)
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
