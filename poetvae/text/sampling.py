"""The drawing primitives of decoding: per-poem seeded streams of latents and uniforms, and
inverse-CDF sampling of one character per row within a top-p nucleus
(Holtzman et al. 2020, "The Curious Case of Neural Text Degeneration").

Each poem's randomness comes from its own seeded stream, so poem i of a seed is the same
whatever n is. `prior_draws` is the one place where prior latents are drawn.
"""

import os

import torch
from torch import Tensor

BELOW_ONE = 1 - 2**-24  # the largest float32 below 1: a uniform is in [0, 1)
MAX_REJECTIONS = 8  # draws of a row outside its top-p nucleus before it is sorted
BLOCK = 64  # ids summarised together (see `pick`)


def fresh_seed() -> int:
    """A random seed, for runs without one."""
    return int.from_bytes(os.urandom(7), "little")


def prior_draws(
    prior, n: int, n_uniforms: int, seed: int | None, start: int = 0, latents: int = 1
) -> tuple[Tensor, Tensor]:
    """Latents z ~ p(z) and n_uniforms uniforms per poem, from a per-poem seeded stream.

    Poems start .. start + n - 1 of the seed are drawn, so a long run can be made in parts.

    Args:
        prior: the model's prior (core.priors), drawn with each poem's generator.
        latents: latents per poem (candidates of a posterior search).

    Returns:
        z (n, latents, Z) and u (n, n_uniforms) on the CPU.
    """
    if seed is None:
        seed = fresh_seed()
    z, u = torch.empty(n, latents, prior.latent_dim), torch.empty(n, n_uniforms)
    gen = torch.Generator()
    flow = hasattr(prior, "push_blocks")  # draw each poem's base point, then push them together
    for i in range(n):
        gen.manual_seed((seed * 1_000_003 + start + i) % 2**64)  # any int seed, as torch's uint64
        z[i] = prior.base_sample(latents, gen) if flow else prior.sample(latents, gen)
        u[i] = torch.rand(n_uniforms, generator=gen)
    if flow:
        z = prior.push_blocks(z.flatten(0, 1)).view(n, latents, -1)
    return z, u


def pick(w: Tensor, top_p: float, u: Tensor, greedy: bool = False) -> tuple[Tensor, Tensor, Tensor]:
    """(B, K) weights -> (B,) ids: the heaviest with `greedy` (argmax decoding), else a draw from
    the top-p nucleus by uniforms u.

    A row's weights are its law's probabilities up to a factor (each row is normalised here),
    0 for an id that cannot be drawn: e.g. exp(logits / T - max).

    Vocabulary-wide rows are the costly part of decoding, so a row is read in full twice
    only, for the sum and the largest weight of each block of BLOCK ids. A draw picks its block
    by inverse CDF over the block sums, then its id by inverse CDF within that block. The
    nucleus is never sorted: a draw is kept where less than top_p of the row's mass is likelier
    (at least top_p of the draws). The blocks whose largest weight exceeds the draw's bound that
    mass from above, so only rows where the bound reaches top_p are counted in full. A draw
    outside the nucleus draws again from the uniform left over from it until it is inside.
    This rejection sampling keeps the nucleus law exactly, p(c) / P(nucleus). A row still
    outside after MAX_REJECTIONS draws (probability below (1 - top_p)^MAX_REJECTIONS) draws
    within its sorted nucleus.

    Args:
        w: (B, K) non-negative weights, each row with some positive one.
        top_p: sample only from the smallest set of ids holding this much probability.
        u: (B,) uniforms in [0, 1).
        greedy: take the heaviest id (the first of equals, as argmax).

    Returns:
        The ids; (B,) uniforms left over: where u fell within the chosen id's share of the CDF,
        rescaled to [0, 1). Given the choice it is uniform again and independent of it, so a
        redraw of the row under more restrictions (e.g. without a character that is taken) can
        use it and still follow the restricted law exactly (with greedy, u itself); and (B,) the
        rows' total weights.
    """
    sums, tops = _per_block(w, torch.sum), _per_block(w, torch.amax)  # (B, N) each
    total = sums.sum(-1)
    if greedy:
        return _first_largest(w, tops), u.clone(), total
    ids, rest = _inverse_cdf(w, sums, u)
    if top_p >= 1.0:
        return ids, rest, total
    r = torch.arange(len(w))  # rows whose draw may lie outside the nucleus
    for _ in range(MAX_REJECTIONS):
        p = w[r, ids[r]].unsqueeze(-1)  # (R, 1)
        bound = (sums[r] * (tops[r] > p)).sum(-1)  # >= the mass likelier than the draw
        open_ = bound >= top_p * total[r]
        r, p = r[open_], p[open_]
        if len(r) == 0:
            break
        wr = w[r]
        outside = (wr * (wr > p)).sum(-1) >= top_p * total[r]  # top_p of the mass is likelier
        r = r[outside]
        if len(r) == 0:
            break
        ids[r], rest[r] = _inverse_cdf(w[r], sums[r], rest[r])
    else:
        sorted_w, order = w[r].sort(-1, descending=True)
        nucleus = sorted_w * (sorted_w.cumsum(-1) - sorted_w < top_p * total[r, None])
        k, rest[r] = _inverse_cdf(nucleus, _per_block(nucleus, torch.sum), rest[r])
        ids[r] = order.gather(-1, k.unsqueeze(-1)).squeeze(-1)
    return ids, rest, total


def argmax(x: Tensor) -> Tensor:
    """(B, K) -> (B,) the index of each row's largest entry, the first of equals (as
    torch.argmax, which ran several times slower over rows as long as a vocabulary than the
    largest entry of each block of BLOCK: 13.8 against 4.5 ms per 1,280 x 6,973 float32 rows,
    1 thread). -inf entries are fine."""
    return _first_largest(x, _per_block(x, torch.amax))


def _first_largest(x: Tensor, tops: Tensor) -> Tensor:
    """argmax of (B, K) x given (B, N) the largest entry of each of its blocks."""
    ids, xb = _block(x, tops.argmax(-1), float("-inf"))  # the first block holding the largest
    return ids.gather(-1, xb.argmax(-1, keepdim=True)).squeeze(-1)


def _per_block(w: Tensor, reduce) -> Tensor:
    """(B, K) -> (B, N) `reduce` (torch.sum, torch.amax) over each of the N blocks of BLOCK ids
    of each row (the last may be shorter)."""
    B, K = w.shape
    n = K // BLOCK * BLOCK
    parts = [reduce(w[:, :n].view(B, n // BLOCK, BLOCK), -1)]
    if n < K:
        parts.append(reduce(w[:, n:], -1, keepdim=True))
    return torch.cat(parts, -1)


def _block(w: Tensor, block: Tensor, beyond_row: float = 0.0) -> tuple[Tensor, Tensor]:
    """(B,) block of each row -> (B, BLOCK) its ids and their weights (`beyond_row` past the
    row's end)."""
    ids = block.unsqueeze(-1) * BLOCK + torch.arange(BLOCK)
    beyond = ids >= w.shape[-1]
    ids = ids.masked_fill(beyond, w.shape[-1] - 1)
    return ids, w.gather(-1, ids).masked_fill(beyond, beyond_row)


def _inverse_cdf(w: Tensor, sums: Tensor, u: Tensor) -> tuple[Tensor, Tensor]:
    """Draw from each row of (B, K) weights with uniforms u, given its (B, N) block sums: (B,)
    ids and the uniforms left over (see `pick`)."""
    csum = sums.cumsum(-1)  # (B, N)
    x = (u * csum[:, -1]).unsqueeze(-1)  # (B, 1)
    block = torch.searchsorted(csum, x, right=True).squeeze(-1)
    block = torch.minimum(block, _last_positive(sums))  # x rounded up to the total
    x = x - (csum - sums).gather(-1, block.unsqueeze(-1))  # within the block
    ids, wb = _block(w, block)
    cdf = wb.cumsum(-1)  # (B, BLOCK)
    rank = torch.searchsorted(cdf, x.clamp(min=0), right=True).squeeze(-1)
    rank = torch.minimum(rank, _last_positive(wb)).unsqueeze(-1)
    hi = cdf.gather(-1, rank)
    lo = hi - wb.gather(-1, rank)
    rest = ((x - lo) / (hi - lo)).clamp(0, BELOW_ONE)
    return ids.gather(-1, rank).squeeze(-1), rest.squeeze(-1)


def _last_positive(w: Tensor) -> Tensor:
    """(B, K) -> (B,) the index of each row's last positive entry."""
    K = w.shape[-1]
    return K - 1 - (w > 0).flip(-1).to(torch.uint8).argmax(-1)
