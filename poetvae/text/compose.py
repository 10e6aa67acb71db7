"""Writing to order. Every position has its own distribution given z, so constraints that a
left-to-right generator struggles with are natural here:

- acrostic (藏头诗) and fill-in patterns fix characters at chosen positions, anywhere in the poem
  (revision: keep some characters or lines of a poem, redraw the rest). z is then drawn from
  the posterior given those characters, p(z | fixed) ∝ p(z) p(fixed | z), by importance
  resampling over prior candidates, so the free positions agree with the fixed ones; the naive
  alternative (decode a prior z, overwrite) is kept for comparison (`search=False`). Rhyme and
  strict tones take the fixed characters as given, or name the one that breaks them.
- strict tones: each poem picks the regulated 平仄 template that its z makes most likely (the
  template's probability mass under the independent per-position distributions), decoding is
  restricted to characters of the template's tone under every reading (a heteronym such as 看
  only where the tone is free), and the rhyme positions to one rhyme group.
- rerank: draw K candidates per poem and keep the one with the best IWAE log-likelihood.
- interpolation between two poems' posterior means, and reconstruction.
"""

import functools
import math

import torch
from torch import Tensor

from ..core.metrics import iwae_nll
from .constraints import (
    Constraints,
    acrostic_positions,
    check_kept,
    keyword_constraints,
    merge,
    pattern_positions,
    rhyme_constraints,
    simplified,
    tone_constraints,
)
from .corpus import parse_poem
from .decoding import Decoding
from .generate import check_count, conditioned, decode, decode_latents, n_uniforms, to_poems
from .keywords import parse_keywords
from .model import PoetVAE
from .sampling import pick, prior_draws

CANDIDATES = 128  # prior candidates per poem for the posterior given fixed characters
# importance samples of a rerank score: against 10, the poems `--rerank 8` keeps are 0.003 nats
# per character less fluent under the model (200 wuyan poems, K = 20) for two thirds of the cost
RERANK_SAMPLES = 5


@torch.no_grad()
def posterior_latents(
    model: PoetVAE, fixed: dict[int, int], z: Tensor, u: Tensor, temperature: float
) -> Tensor:
    """K latents per poem from p(z | fixed characters), by importance resampling of one pool.

    Args:
        model: a PoetVAE.
        fixed: position -> id.
        z: (B, M, Z) candidates drawn from the prior, a pool per poem.
        u: (B, K) uniforms, each choosing one candidate (the best one at temperature 0).
        temperature: 0 = keep the most likely candidate.

    Returns:
        (B, K, Z) latents.
    """
    B, M, Z = z.shape
    at = torch.zeros(model.cfg.seq_len, dtype=torch.bool)
    at[list(fixed)] = True
    ids = torch.tensor([fixed[p] for p in sorted(fixed)])  # (F,) in position order, as `at` is
    device = next(model.parameters()).device
    log_lik = []
    for rows in z.view(B * M, Z).split(128):
        # logits at the F fixed positions only: the projection to V dominates the decoder
        logits = model.decode(rows.to(device), at=at.to(device).expand(len(rows), -1))
        logp = logits.float().view(len(rows), len(ids), -1).log_softmax(-1).cpu()  # (R, F, V)
        log_lik.append(logp.gather(-1, ids.expand(len(rows), -1).unsqueeze(-1)).sum((1, 2)))
    log_lik = torch.cat(log_lik).view(B, 1, M).expand(-1, u.shape[1], -1)  # log p(fixed | z_m)
    w = log_lik.reshape(-1, M).softmax(-1)  # w_m ∝ p(fixed | z_m)
    chosen = pick(w, 1.0, u.flatten(), greedy=temperature == 0)[0]
    return z[torch.arange(B).repeat_interleave(u.shape[1]), chosen].view(B, -1, Z)


@torch.no_grad()
def poem_nll(model: PoetVAE, ids: Tensor, k: int = RERANK_SAMPLES, seed: int = 0) -> Tensor:
    """IWAE NLL bound per character of each poem (B, L) ids under the model and its prior (the
    keywords' p(z | c) for a model given keywords), in nats, with k importance samples: the
    model's fluency score (the rerank's by default)."""
    device = next(model.parameters()).device
    x = ids.to(device)
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(seed)
        mu, logvar = model.encode(x)

        log_px = functools.partial(model.log_px, x=x)
        nll = iwae_nll(mu, logvar, log_px, k, log_prior=model.prior.log_prob)
        return (nll / model.cfg.seq_len).cpu()


def write(
    model: PoetVAE,
    n: int = 5,
    decoding: Decoding = Decoding(),
    seed: int | None = None,
    acrostic: str | None = None,
    pattern: str | None = None,
    tones: str = "free",
    rerank: int = 1,
    search: bool = True,
    start: int = 0,
    keywords: str | list[str] | None = None,
    place: bool = True,
) -> list[list[str]]:
    """Poems from the prior (given keywords: p(z | keywords)) under any combination of
    constraints.

    Args:
        model: a PoetVAE.
        n: number of poems.
        decoding: as in `generate`; its rhyme applies with free tones (strict tones always
            rhyme, in a level-tone (平声) group of its rhyme book).
        seed: same seed, same poems.
        acrostic: one character per line, each line's first.
        pattern: a fill-in template (see `pattern_positions`).
        tones: "free", or "strict" for regulated 平仄 with one level-tone (平声) rhyme group.
        rerank: draw this many candidates per poem and keep the one with the lowest IWAE NLL.
            With fixed characters, a poem's candidates resample one pool: its rerank prior
            draws and CANDIDATES more, each weighed once.
        search: with fixed characters, draw z from p(z | fixed) (True) or from the prior and
            only overwrite the fixed positions (False, the naive baseline).
        start: index of the first poem within the seed's sequence (see `generate.stream`).
        keywords: 1 to 4 words the poems are about (see `generate.generate`); the fixed
            characters' posterior search and the rerank score are then given them too.
        place: with keywords, write each keyword where the poem's z makes it likeliest (see
            `constraints.keyword_constraints`); False leaves them to the model alone, as
            `generate.generate` does.

    Returns:
        n poems, each a list of lines.

    Raises:
        ValueError: unusable constraints (wrong length, unknown characters, conflicts).
    """
    if tones not in ("free", "strict"):
        raise ValueError(f"tones must be free or strict, got {tones!r}")
    if rerank < 1:
        raise ValueError("rerank must be >= 1")
    check_count(n)
    decoding = decoding.for_model(model.decoding)
    words = parse_keywords(keywords) if keywords is not None else []
    model = conditioned(model, words or None)
    fixed = merge(
        acrostic_positions(model, acrostic) if acrostic else {},
        pattern_positions(model, pattern) if pattern else {},
    )
    if model.cfg.decoder == "causal" and (fixed or tones == "strict"):
        raise ValueError(
            "acrostic, pattern and strict tones need per-position laws given z: the causal "
            "decoder has none (use a parallel or mask-predict model)"
        )
    book = decoding.rhyme_book
    if fixed:
        check_kept(model, fixed, tones, decoding.rhyme, book)
    if n == 0:  # after the checks: a bad acrostic is an error even for no poems
        return []
    L = model.cfg.seq_len
    total = n * rerank
    z, u = prior_draws(model.prior, total, n_uniforms(model, decoding), seed, start * rerank)
    z = z[:, 0]  # (n rerank, Z)
    if fixed and search:  # a poem's candidates resample one pool: its prior draws and more
        seed2 = None if seed is None else ~seed
        extra, pick_u = prior_draws(model.prior, n, rerank, seed2, start, CANDIDATES)
        pool = torch.cat([z.view(n, rerank, -1), extra], dim=1)  # (n, rerank + CANDIDATES, Z)
        z = posterior_latents(model, fixed, pool, pick_u, decoding.temperature).view(total, -1)
    if tones == "strict":
        c = tone_constraints(model, z, fixed, book)
    elif decoding.rhyme:
        c = rhyme_constraints(model, total, fixed, book)
    else:
        c = Constraints(fixed=fixed)
    if words and place:
        ids = [model.vocab.encode(simplified(model, w)) for w in words]
        c = keyword_constraints(model, z, ids, c)
    ids = decode(model, z, u, c, decoding)  # (n * rerank, L)
    if rerank > 1:
        # each poem's candidates are scored alone, with the same noise: independent of n
        best = torch.stack([poem_nll(model, group).argmin() for group in ids.split(rerank)])
        ids = ids.view(n, rerank, L)[torch.arange(n), best]
    return to_poems(model, ids)


def encode_text(model: PoetVAE, text: str) -> Tensor:
    """A poem of the model's form (punctuation optional; Traditional script is read as
    `simplified` says) -> (1, L) ids; unknown characters become `<unk>` (the encoder has seen
    it for rare characters).

    Raises:
        ValueError: not a poem of the model's form.
    """
    lines = parse_poem(simplified(model, text), model.cfg.shape)
    if lines is None:
        shape = parse_poem(text)
        has = f": it has {len(shape)} lines of {len(shape[0])} characters" if shape else ""
        raise ValueError(f"{text!r} is not a poem of the model's form ({model.cfg.shape}){has}")
    return torch.tensor([model.vocab.encode("".join(lines))])


@torch.no_grad()
def reconstruct(model: PoetVAE, text: str) -> tuple[list[str], list[bool]]:
    """Encode a poem, decode z = mu by argmax, as `interpolate` decodes its first poem (no
    character twice in a line); returns the lines and which characters survived."""
    x = encode_text(model, text)
    mu, _ = model.encode(x.to(next(model.parameters()).device))
    ids = decode_latents(model, mu, Decoding(temperature=0.0))
    kept = (ids[0] == x[0]).tolist()
    return to_poems(model, ids)[0], kept


@torch.no_grad()
def interpolate(
    model: PoetVAE, a: str, b: str, steps: int = 8, slerp: bool = False, no_repeat: bool = True
) -> list[list[str]]:
    """Poems decoded (argmax) along the path between the posterior means of poems a and b.

    Linear by default; `slerp` follows the great circle (White 2016), which keeps the norm of z
    typical of the prior instead of shrinking it mid-way.
    """
    if steps < 2:
        raise ValueError("steps must be >= 2")
    device = next(model.parameters()).device
    mu_a, _ = model.encode(encode_text(model, a).to(device))
    mu_b, _ = model.encode(encode_text(model, b).to(device))
    t = torch.linspace(0, 1, steps, device=device).unsqueeze(1)  # (S, 1)
    if slerp:
        cos = torch.nn.functional.cosine_similarity(mu_a, mu_b).clamp(-1 + 1e-7, 1 - 1e-7)
        omega = torch.acos(cos)
        if omega.item() < 1e-4:
            z = (1 - t) * mu_a + t * mu_b
        else:
            z = (torch.sin((1 - t) * omega) * mu_a + torch.sin(t * omega) * mu_b) / math.sin(omega)
    else:
        z = (1 - t) * mu_a + t * mu_b  # (S, Z)
    ids = decode_latents(model, z, Decoding(temperature=0.0, no_repeat=no_repeat))
    return to_poems(model, ids)
