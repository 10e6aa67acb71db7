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


def pick(logp: Tensor, top_p: float, u: Tensor, greedy: bool = False) -> tuple[Tensor, Tensor]:
    """(B, K) log-probabilities -> (B,) ids: the likeliest with `greedy` (argmax decoding),
    else a draw from the top-p nucleus by uniforms u.

    No row is sorted to find its nucleus: a row draws from its whole law by inverse CDF and
    keeps the draw where less than top_p of the mass is likelier (inside the nucleus, at least
    top_p of the draws); elsewhere it draws again within the nucleus (sorted then) from the
    uniform left over from the first draw. Either way the id follows the nucleus law exactly:
    p(c) + (1 - P(nucleus)) p(c) / P(nucleus) = p(c) / P(nucleus).

    A row may be a shortlist of a law, its K likeliest ids with their probabilities in the whole
    law: the nucleus is then measured in the whole law's mass, and where the shortlist holds
    less than top_p, all of it is the nucleus.

    Args:
        logp: (B, K) log-probabilities, e.g. log_softmax(logits / temperature).
        top_p: sample only from the smallest set of ids holding this much probability.
        u: (B,) uniforms in [0, 1).
        greedy: take the likeliest id.

    Returns:
        The ids, and (B,) uniforms left over: where u fell within the chosen id's share of the
        CDF, rescaled to [0, 1). Given the choice it is uniform again and independent of it,
        so a redraw of the row under more restrictions (e.g. without a character that is
        taken) can use it and still follow the restricted law exactly. With greedy, u itself.
    """
    if greedy:
        return logp.argmax(-1), u.clone()
    probs = logp.exp()  # (B, K)
    ids, rest = _inverse_cdf(probs, u)  # any order of the ids gives the same sample law
    if top_p >= 1.0:
        return ids, rest
    p = probs.gather(-1, ids.unsqueeze(-1))  # (B, 1)
    outside = (probs * (probs > p)).sum(-1) >= top_p  # (B,): top_p of the mass is likelier
    if outside.any():
        r = outside.nonzero().flatten()
        sorted_p, order = probs[r].sort(-1, descending=True)
        nucleus = sorted_p * (sorted_p.cumsum(-1) - sorted_p < top_p)  # keeps the top id
        k, rest[r] = _inverse_cdf(nucleus, rest[r])
        ids[r] = order.gather(-1, k.unsqueeze(-1)).squeeze(-1)
    return ids, rest


def _inverse_cdf(p: Tensor, u: Tensor) -> tuple[Tensor, Tensor]:
    """Draw from each row of (B, K) probabilities (renormalised) with uniforms u: (B,) indices
    and the uniforms left over (see `pick`)."""
    cdf = p.cumsum(-1)
    x = (u * cdf[:, -1]).unsqueeze(-1)  # (B, 1)
    rank = torch.searchsorted(cdf, x, right=True).clamp(max=cdf.shape[-1] - 1)  # (B, 1)
    hi = cdf.gather(-1, rank)
    lo = hi - p.gather(-1, rank)
    rest = torch.where(hi > lo, (x - lo) / (hi - lo), u.unsqueeze(-1)).clamp(0, BELOW_ONE)
    return rank.squeeze(-1), rest.squeeze(-1)
