"""The drawing primitives of decoding: per-poem seeded streams of latents and uniforms, and
inverse-CDF sampling of one character per row within a top-p nucleus
(Holtzman et al. 2020, "The Curious Case of Neural Text Degeneration").

Each poem's randomness comes from its own seeded stream, so poem i of a seed is the same
whatever n is. `prior_draws` is the one place where prior latents are drawn.
"""

import os

import torch
from torch import Tensor

TOP_K = 256  # candidates searched first for the top-p nucleus
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
    for i in range(n):
        gen.manual_seed((seed * 1_000_003 + start + i) % 2**64)  # any int seed, as torch's uint64
        z[i] = prior.sample(latents, gen)
        u[i] = torch.rand(n_uniforms, generator=gen)
    return z, u


def pick(
    logp: Tensor, top_p: float, u: Tensor, greedy: bool = False, top: Tensor | None = None
) -> tuple[Tensor, Tensor]:
    """(B, K) log-probabilities -> (B,) ids: the likeliest with `greedy` (argmax decoding),
    else inverse-CDF sampling with uniforms u within the top-p nucleus.

    A row may be a shortlist of its law (probabilities summing to less than 1): the nucleus is
    measured in the whole law's mass, and where the shortlist holds less than top_p, all of it
    is the nucleus.

    Args:
        logp: (B, K) log-probabilities, e.g. log_softmax(logits / temperature).
        top_p: sample only from the smallest set of ids holding this much probability.
        u: (B,) uniforms in [0, 1).
        greedy: take the likeliest id.
        top: (B, k) the ids of each row's k likeliest entries, likeliest first, if known.

    Returns:
        The ids, and (B,) uniforms left over: where u fell within the chosen id's share of the
        CDF, rescaled to [0, 1). Given the choice it is uniform again and independent of it,
        so a redraw of the row under more restrictions (e.g. without a character that is
        taken) can use it and still follow the restricted law exactly. With greedy, u itself.
    """
    if greedy:
        return logp.argmax(-1), u.clone()
    if top_p >= 1.0:  # the whole law: any fixed order gives the same sample law
        return _inverse_cdf(logp.exp(), None, 1.0, u)
    # the nucleus lies in the top TOP_K for most rows; the others look 4x as far, and so on
    K = logp.shape[-1]
    order = logp.topk(min(TOP_K, K), dim=-1).indices if top is None else top  # (B, k)
    sorted_p = logp.gather(-1, order).exp()  # descending
    ids, rest = _inverse_cdf(sorted_p, order, top_p, u)
    wide = ((sorted_p.sum(-1) < top_p) & (order.shape[-1] < K)).nonzero().flatten()
    k = 4 * order.shape[-1]
    while len(wide):
        k = min(k, K)
        sorted_lp, order = logp[wide].topk(k, dim=-1)  # (R, k)
        sorted_p = sorted_lp.exp()
        done = (sorted_p.sum(-1) >= top_p) | (k == K)
        r = wide[done]
        ids[r], rest[r] = _inverse_cdf(sorted_p[done], order[done], top_p, u[r])
        wide, k = wide[~done], 4 * k
    return ids, rest


def _inverse_cdf(p: Tensor, order: Tensor | None, top_p: float, u: Tensor) -> tuple[Tensor, Tensor]:
    """Sample from (B, K) probabilities in descending order (or any order when top_p = 1)."""
    if top_p < 1.0:
        p = p * (p.cumsum(-1) - p < top_p)  # the nucleus; always keeps the top character
    cdf = p.cumsum(-1)
    x = (u * cdf[:, -1]).unsqueeze(-1)  # (B, 1)
    rank = torch.searchsorted(cdf, x, right=True).clamp(max=cdf.shape[-1] - 1)  # (B, 1)
    hi = cdf.gather(-1, rank)
    lo = hi - p.gather(-1, rank)
    rest = torch.where(hi > lo, (x - lo) / (hi - lo), u.unsqueeze(-1)).clamp(0, BELOW_ONE)
    ids = rank if order is None else order.gather(-1, rank)
    return ids.squeeze(-1), rest.squeeze(-1)
