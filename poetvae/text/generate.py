"""Poems from the prior: z ~ N(0, I), decoded position by position.

Every position has its own distribution given z. Decoding takes the argmax at temperature 0 and
samples from softmax(logits / T) otherwise, optionally within the top-p nucleus. By default a
character already used in the same line is excluded: real Tang lines repeat a character in
about 5 % of lines, while an independent per-position decoder left alone repeats its safest
characters far more often. Each poem's randomness comes from its own seeded stream, so poem i
of a seed is the same whatever n is. Lean on purpose: no `datasets` import here.
"""

import os
from dataclasses import dataclass, field

import torch
from torch import Tensor

from .corpus import Form, chunk
from .model import PoetVAE
from .vocab import PAD_ID, UNK_ID

CHUNK = 256  # poems decoded at once
TOP_K = 256  # candidates searched for the top-p nucleus before falling back to a full sort
DEFAULT_TEMPERATURE = 0.8  # what `poetvae generate` and eval's prior samples use
DEFAULT_TOP_P = 0.9


def prior_draws(n: int, latent_dim: int, seq_len: int, seed: int | None) -> tuple[Tensor, Tensor]:
    """Latents z ~ N(0, I) and one uniform per position, from a per-poem seeded stream.

    Returns:
        z (n, Z) and u (n, L) on the CPU.
    """
    if seed is None:
        seed = int.from_bytes(os.urandom(7), "little")
    z, u = torch.empty(n, latent_dim), torch.empty(n, seq_len)
    gen = torch.Generator()
    for i in range(n):
        gen.manual_seed((seed * 1_000_003 + i) % 2**64)  # any int seed, as torch's uint64
        z[i] = torch.randn(latent_dim, generator=gen)
        u[i] = torch.rand(seq_len, generator=gen)
    return z, u


@dataclass
class Constraints:
    """Restrictions on what decoding may write, per position.

    fixed: position -> character id written there whatever the model says.
    allowed: (B, L, V) bool, characters each position may take (e.g. a tone template).
    rhymes: (B, L) bool, positions whose characters must share one rhyme group, per poem.
    rhyme_groups: (V, G) bool, the rhyme groups of each character.
    """

    fixed: dict[int, int] = field(default_factory=dict)
    allowed: Tensor | None = None
    rhymes: Tensor | None = None
    rhyme_groups: Tensor | None = None


@torch.no_grad()
def decode_latents(
    model: PoetVAE,
    z: Tensor,
    temperature: float = 0.0,
    top_p: float = 1.0,
    no_repeat: bool = True,
    u: Tensor | None = None,
    constraints: Constraints | None = None,
) -> Tensor:
    """Character ids for latents z, left to right, each position from its own distribution.

    Args:
        model: a PoetVAE.
        z: (B, Z) latents.
        temperature: 0 = argmax; otherwise the softmax temperature.
        top_p: sample only from the smallest set of characters holding this much probability.
        no_repeat: never repeat a character within a line (relaxed only where nothing else is
            allowed).
        u: (B, L) uniforms in [0, 1) that pick each sampled character (inverse CDF); fresh if None.
        constraints: fixed characters, allowed sets and rhyme positions.

    Returns:
        (B, L) ids on the CPU.
    """
    c = constraints or Constraints()
    if u is None:
        u = torch.rand(z.shape[0], model.cfg.seq_len)
    if z.shape[0] > CHUNK:  # bounded memory: (CHUNK, L, V) logits at a time
        return torch.cat(
            [
                decode_latents(
                    model,
                    z[i : i + CHUNK],
                    temperature,
                    top_p,
                    no_repeat,
                    u[i : i + CHUNK],
                    _rows(c, i, i + CHUNK),
                )
                for i in range(0, z.shape[0], CHUNK)
            ]
        )
    logits = model.decode(z.to(next(model.parameters()).device)).float().cpu()  # (B, L, V)
    logits[..., [PAD_ID, UNK_ID]] = float("-inf")
    B, L, V = logits.shape
    n = model.cfg.chars_per_line
    restricted = c.allowed is not None or c.rhyme_groups is not None
    out = torch.empty(B, L, dtype=torch.long)
    used = torch.zeros(B, V, dtype=torch.bool)
    rhyme, at = c.rhyme_groups, c.rhymes
    group_set = torch.ones(B, rhyme.shape[1], dtype=torch.bool) if rhyme is not None else None
    rhymed = torch.zeros(B, V, dtype=torch.bool)  # no character rhymes with itself (重韵)
    if rhyme is not None:
        for pos, idx in c.fixed.items():  # fixed rhyme characters decide the group up front
            group_set[at[:, pos]] &= rhyme[idx]
            rhymed[at[:, pos], idx] = True
    for pos in range(L):
        if pos % n == 0:
            used.zero_()
        if pos in c.fixed:
            ids = torch.full((B,), c.fixed[pos], dtype=torch.long)
        else:
            step = logits[:, pos]
            if restricted:
                banned = torch.zeros(B, V, dtype=torch.bool)
                if c.allowed is not None:
                    banned |= ~c.allowed[:, pos]
                if rhyme is not None:
                    off_rhyme = ~(group_set.float() @ rhyme.float().T).bool()  # (B, V)
                    banned |= (off_rhyme | rhymed) & at[:, pos : pos + 1]
                step = step.masked_fill(banned, float("-inf"))
            if no_repeat:
                without = step.masked_fill(used, float("-inf"))
                ok = torch.isfinite(without).any(-1, keepdim=True) if restricted else True
                step = torch.where(ok, without, step) if restricted else without
            if restricted and not torch.isfinite(step).any(-1).all():
                raise ValueError(f"no character satisfies the constraints at position {pos + 1}")
            ids = _pick(step, temperature, top_p, u[:, pos])
        out[:, pos] = ids
        used[torch.arange(B), ids] = True
        if rhyme is not None:
            group_set[at[:, pos]] &= rhyme[ids[at[:, pos]]]
            rhymed[at[:, pos], ids[at[:, pos]]] = True
    return out


def _pick(logits: Tensor, temperature: float, top_p: float, u: Tensor) -> Tensor:
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


def _rows(c: Constraints, start: int, stop: int) -> Constraints:
    """The constraints of poems start..stop."""

    def part(t: Tensor | None) -> Tensor | None:
        return None if t is None else t[start:stop]

    return Constraints(c.fixed, part(c.allowed), part(c.rhymes), c.rhyme_groups)


def generate(
    model: PoetVAE,
    n: int = 5,
    temperature: float = 0.0,
    top_p: float = 1.0,
    no_repeat: bool = True,
    seed: int | None = None,
) -> list[list[str]]:
    """Sample n poems from the prior p(z) = N(0, I).

    Returns:
        n poems, each a list of lines (characters only, no punctuation).
    """
    z, u = prior_draws(n, model.cfg.latent_dim, model.cfg.seq_len, seed)
    ids = decode_latents(model, z, temperature, top_p, no_repeat, u)
    return to_poems(model, ids)


def to_poems(model: PoetVAE, ids: Tensor) -> list[list[str]]:
    """(B, L) ids -> B poems, each a list of lines."""
    form = Form(model.cfg.n_lines, model.cfg.chars_per_line)
    return [chunk(model.vocab.decode(row.tolist()), form) for row in ids]
