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
import itertools
import math

import torch
from torch import Tensor

from ..core.metrics import iwae_nll
from . import prosody
from .corpus import Form, parse_poem, split_lines, to_simplified
from .generate import (
    Constraints,
    _pick,
    check_decoding,
    decode,
    decode_latents,
    default_passes,
    n_uniforms,
    prior_draws,
    rhyme_constraints,
    rhyme_matrix,
    to_poems,
)
from .model import PoetVAE
from .vocab import PAD_ID, UNK_ID

PLACEHOLDERS = "＿_○*"  # a free position in a --pattern: ＿ (full-width low line), _, ○ or *
CANDIDATES = 128  # prior candidates per poem for the posterior given fixed characters


def form_of(model: PoetVAE) -> Form:
    return Form(model.cfg.n_lines, model.cfg.chars_per_line)


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
    form = form_of(model)
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
    form = form_of(model)
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
    out: dict[int, int] = {}
    for part in fixed:
        for pos, idx in part.items():
            if out.get(pos, idx) != idx:
                raise ValueError(f"conflicting characters asked for at position {pos + 1}")
            out[pos] = idx
    return out


@torch.no_grad()
def posterior_latents(
    model: PoetVAE, fixed: dict[int, int], z: Tensor, u: Tensor, temperature: float
) -> Tensor:
    """One z per poem from p(z | fixed characters), by importance resampling.

    Args:
        model: a PoetVAE.
        fixed: position -> id.
        z: (B, M, Z) candidates drawn from the prior.
        u: (B,) uniforms choosing among candidates (the best one at temperature 0).
        temperature: 0 = keep the most likely candidate.

    Returns:
        (B, Z) latents.
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
    log_lik = torch.cat(log_lik).view(B, M)  # log p(fixed | z_m)
    pick = _pick(log_lik, 1.0 if temperature > 0 else 0.0, 1.0, u)  # w_m ∝ p(fixed | z_m)
    return z[torch.arange(B), pick]


@functools.cache
def _template_masks(pieces: tuple[str, ...], n_lines: int, n_chars: int) -> tuple[Tensor, Tensor]:
    is_ping, is_ze = (torch.tensor(t) for t in prosody.tone_ids(pieces, unambiguous=True))
    by_tone = {"平": is_ping, "仄": is_ze, "中": torch.ones(len(pieces), dtype=torch.bool)}
    templates = prosody.valid_patterns(n_lines, n_chars)
    masks = torch.stack([torch.stack([by_tone[t] for t in "".join(tpl)]) for tpl in templates])
    # rhyme positions: the end of every even line, and of line 1 where it is level (首句入韵)
    rhymes = torch.zeros(len(templates), n_lines * n_chars, dtype=torch.bool)
    for t, tpl in enumerate(templates):
        for i, line in enumerate(tpl):
            rhymes[t, (i + 1) * n_chars - 1] = i % 2 == 1 or (i == 0 and line[-1] == "平")
    return masks, rhymes  # (T, L, V), (T, L)


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
    form = form_of(model)
    rhymes = _template_masks(tuple(model.vocab.itos), form.n_lines, form.chars_per_line)[1]
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
    form = form_of(model)
    masks, rhymes = _template_masks(pieces, form.n_lines, form.chars_per_line)
    fits = _strict_fits(model, fixed, book)
    logp = model.decode(z.to(next(model.parameters()).device)).float().log_softmax(-1).cpu()
    logp[..., [PAD_ID, UNK_ID]] = float("-inf")
    # log P(template satisfied | z) = sum over positions of the log mass of allowed characters
    mass = torch.stack(
        [logp.masked_fill(~m, float("-inf")).logsumexp(-1).sum(-1) for m in masks], dim=1
    )  # (B, T)
    choice = mass.masked_fill(~fits, float("-inf")).argmax(-1)  # (B,)
    return Constraints(
        fixed=fixed,
        allowed=masks[choice],
        rhymes=rhymes[choice],
        rhyme_groups=rhyme_matrix(pieces, book, level=True),
    )


@torch.no_grad()
def poem_nll(model: PoetVAE, ids: Tensor, k: int = 10, seed: int = 0) -> Tensor:
    """IWAE NLL bound per character of each poem (B, L) ids, in nats: the model's fluency score."""
    device = next(model.parameters()).device
    x = ids.to(device)
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(seed)
        mu, logvar = model.encode(x)

        return (iwae_nll(mu, logvar, lambda z: model.log_px(z, x), k) / model.cfg.seq_len).cpu()


def write(
    model: PoetVAE,
    n: int = 5,
    temperature: float = 0.0,
    top_p: float = 1.0,
    no_repeat: bool = True,
    seed: int | None = None,
    acrostic: str | None = None,
    pattern: str | None = None,
    tones: str = "free",
    rerank: int = 1,
    search: bool = True,
    rhyme: bool = True,
    passes: int | None = None,
    refine: int = 0,
    start: int = 0,
    rhyme_book: str = prosody.DEFAULT_RHYME_BOOK,
) -> list[list[str]]:
    """Poems from the prior under any combination of constraints.

    Args:
        model: a PoetVAE.
        n: number of poems.
        temperature, top_p, no_repeat: decoding, as in `generate`.
        seed: same seed, same poems.
        acrostic: one character per line, each line's first.
        pattern: a fill-in template (see `pattern_positions`).
        tones: "free", or "strict" for regulated 平仄 with one level-tone (平声) rhyme group.
        rhyme: with free tones, the ends of lines 2, 4, ... share a rhyme group (strict tones
            always rhyme).
        rhyme_book: the rhyme book, "pingshui" (平水韵) or "xinyun" (中华新韵); see
            `prosody.rhyme_groups`.
        rerank: draw this many candidates per poem and keep the one with the lowest IWAE NLL.
        search: with fixed characters, draw z from p(z | fixed) (True) or from the prior and
            only overwrite the fixed positions (False, the naive baseline).
        passes: decoding passes of a mask-predict model (see `decode_latents`); None = the
            model's default.
        refine: latent refinement rounds (see `generate.refine_latents`).
        start: index of the first poem within the seed's sequence (see `generate.stream`).

    Returns:
        n poems, each a list of lines.

    Raises:
        ValueError: unusable constraints (wrong length, unknown characters, conflicts).
    """
    if tones not in ("free", "strict"):
        raise ValueError(f"tones must be free or strict, got {tones!r}")
    if rerank < 1:
        raise ValueError("rerank must be >= 1")
    temperature = check_decoding(n, temperature, top_p)
    fixed = merge(
        acrostic_positions(model, acrostic) if acrostic else {},
        pattern_positions(model, pattern) if pattern else {},
    )
    if model.cfg.decoder == "causal" and (fixed or tones == "strict"):
        raise ValueError(
            "acrostic, pattern and strict tones need per-position laws given z: the causal "
            "decoder has none (use a parallel or mask-predict model)"
        )
    if fixed:
        check_kept(model, fixed, tones, rhyme, rhyme_book)
    if n == 0:  # after the checks: a bad acrostic is an error even for no poems
        return []
    passes = default_passes(model) if passes is None else passes
    L = model.cfg.seq_len
    total = n * rerank
    z, u = prior_draws(model.prior, total, n_uniforms(model, passes, refine), seed, start * rerank)
    z = z[:, 0]
    if fixed and search:
        extra, pick_u = prior_draws(
            model.prior, total, 1, None if seed is None else ~seed, start * rerank, CANDIDATES
        )
        candidates = torch.cat([z.unsqueeze(1), extra], dim=1)
        z = posterior_latents(model, fixed, candidates, pick_u[:, 0], temperature)
    if tones == "strict":
        c = tone_constraints(model, z, fixed, rhyme_book)
    elif rhyme:
        c = rhyme_constraints(model, total, fixed, rhyme_book)
    else:
        c = Constraints(fixed=fixed)
    ids = decode(model, z, u, c, temperature, top_p, no_repeat, passes, refine)  # (n * rerank, L)
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
    lines = parse_poem(simplified(model, text), form_of(model))
    if lines is None:
        shape = parse_poem(text)
        has = f": it has {len(shape)} lines of {len(shape[0])} characters" if shape else ""
        raise ValueError(f"{text!r} is not a poem of the model's form ({form_of(model)}){has}")
    return torch.tensor([model.vocab.encode("".join(lines))])


@torch.no_grad()
def reconstruct(model: PoetVAE, text: str) -> tuple[list[str], list[bool]]:
    """Encode a poem, decode z = mu by argmax, as `interpolate` decodes its first poem (no
    character twice in a line); returns the lines and which characters survived."""
    x = encode_text(model, text)
    mu, _ = model.encode(x.to(next(model.parameters()).device))
    ids = decode_latents(model, mu, 0.0, no_repeat=True, passes=default_passes(model))
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
    ids = decode_latents(model, z, 0.0, no_repeat=no_repeat, passes=default_passes(model))
    return to_poems(model, ids)
