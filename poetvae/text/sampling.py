"""The drawing primitives of decoding: per-poem seeded streams of latents and uniforms, and
inverse-CDF sampling of one character per row at a temperature, within a top-p nucleus
(Holtzman et al. 2020, "The Curious Case of Neural Text Degeneration").

Each poem's randomness comes from its own seeded stream, so poem i of a seed is the same
whatever n is. `prior_draws` is the one place where prior latents are drawn.
"""

import os

import torch
from torch import Tensor

TOP_K = 256  # candidates searched for the top-p nucleus before falling back to a full sort


def fresh_seed() -> int:
    """A random seed, for runs without one."""
    return int.from_bytes(os.urandom(7), "little")


def prior_draws(
    n: int, latent_dim: int, n_uniforms: int, seed: int | None, start: int = 0
) -> tuple[Tensor, Tensor]:
    """Latents z ~ N(0, I) and n_uniforms uniforms per poem, from a per-poem seeded stream.

    Poems start .. start + n - 1 of the seed are drawn, so a long run can be made in parts.

    Returns:
        z (n, Z) and u (n, n_uniforms) on the CPU.
    """
    if seed is None:
        seed = fresh_seed()
    z, u = torch.empty(n, latent_dim), torch.empty(n, n_uniforms)
    gen = torch.Generator()
    for i in range(n):
        gen.manual_seed((seed * 1_000_003 + start + i) % 2**64)  # any int seed, as torch's uint64
        z[i] = torch.randn(latent_dim, generator=gen)
        u[i] = torch.rand(n_uniforms, generator=gen)
    return z, u


def pick(logits: Tensor, temperature: float, top_p: float, u: Tensor) -> Tensor:
    """(B, V) logits -> (B,) ids: argmax at T = 0, else inverse-CDF sampling with uniforms u."""
    if temperature <= 0:
        return logits.argmax(-1)
    probs = torch.softmax(logits / temperature, dim=-1)  # (B, V)
    if top_p >= 1.0:  # the full distribution: any fixed order gives the same sample law
        return _inverse_cdf(probs, None, 1.0, u)
    # the nucleus nearly always lies in the top TOP_K: sort all V only for rows where it does not
    sorted_p, order = probs.topk(min(TOP_K, probs.shape[-1]), dim=-1)
    ids = torch.empty(len(probs), dtype=torch.long)
    wide = sorted_p.sum(-1) < top_p
    if wide.any():
        ids[wide] = _inverse_cdf(*probs[wide].sort(-1, descending=True), top_p, u[wide])
    ids[~wide] = _inverse_cdf(sorted_p[~wide], order[~wide], top_p, u[~wide])
    return ids


def _inverse_cdf(p: Tensor, order: Tensor | None, top_p: float, u: Tensor) -> Tensor:
    """Sample from (B, K) probabilities in descending order (or any order when top_p = 1)."""
    if top_p < 1.0:
        p = p * (p.cumsum(-1) - p < top_p)  # the nucleus; always keeps the top character
    cdf = p.cumsum(-1)
    rank = torch.searchsorted(cdf, (u * cdf[:, -1]).unsqueeze(-1), right=True)
    rank = rank.clamp(max=cdf.shape[-1] - 1)  # (B, 1)
    return (rank if order is None else order.gather(-1, rank)).squeeze(-1)
