"""`poetvae train`: corpus -> vocabulary -> PoetVAE -> core.fit, in one function."""

import copy
import re
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from ..core import checkpoint
from ..core.config import apply_overrides, from_dict, to_dict
from ..core.device import seed_everything
from ..core.priors import (
    MIXTURE_FLOW_LAYERS,
    FlowPrior,
    GaussianMixture,
    fit_flow,
    fit_mixture,
)
from ..core.train import Progress, TrainConfig, fit
from .corpus import Corpus, load_corpus
from .keywords import extract
from .model import PoetVAE, PoetVAEConfig, files, load
from .vocab import PAD_ID, UNK_ID, Vocab


def encode_poems(vocab: Vocab, poems: list[str]) -> torch.Tensor:
    """Poems (strings of seq_len characters) -> (N, L) ids; (0, 0) for no poems (an empty split)."""
    if not poems:
        return torch.empty(0, 0, dtype=torch.long)
    return torch.tensor([vocab.encode(p) for p in poems], dtype=torch.long).view(len(poems), -1)


def encode_keywords(
    vocab: Vocab, keywords: list[list[str]], k: int, width: int = 2
) -> torch.Tensor:
    """Keywords of N poems -> (N, k, width) ids, PAD_ID where none; a keyword longer than width
    or with a character the vocabulary lacks is left out (a corpus keyword has at most two
    characters, each in >= 50 train poems: nearly always known)."""
    out = torch.full((len(keywords), k, width), PAD_ID, dtype=torch.long)
    for i, words in enumerate(keywords):
        j = 0
        for word in words:
            ids = vocab.encode(word)
            if j == k or len(ids) > width or UNK_ID in ids:
                continue
            out[i, j, : len(ids)] = torch.tensor(ids)
            j += 1
    return out


def with_keywords(corpus: Corpus) -> Corpus:
    """The corpus, its keywords extracted (in place) if it has none: a user's corpus gets them
    as scripts/build_keywords.py gives the shipped ones theirs (about a millisecond a poem)."""
    if corpus.keywords is None:
        train = corpus.splits.get("train", [])
        corpus.keywords = extract(train, corpus.splits, corpus.form.chars_per_line)
    return corpus


def training_data(model: PoetVAE, corpus: Corpus, split: str) -> tuple[torch.Tensor, ...]:
    """(x,) of a split, and its (N, K, 2) keyword ids for a conditional model; () if empty.

    A corpus without keyword files (a user's) gets its keywords extracted (`with_keywords`).
    """
    x = encode_poems(model.vocab, corpus.splits.get(split, []))
    if not len(x):
        return ()
    if not model.cfg.keywords:
        return (x,)
    with_keywords(corpus)
    return x, encode_keywords(model.vocab, corpus.keywords[split], model.cfg.keywords)


def check_resume(
    out: str | Path, overrides: tuple[str, ...] = (), preset: str | None = None
) -> dict[str, Any]:
    """Check that the run in `out` can be resumed as asked: a resumed run keeps its model, so a
    preset and overrides may only describe the model it has (as when a command is rerun with
    --resume).

    Returns:
        the run's meta (its corpus, model config, step).

    Raises:
        ValueError / CheckpointError: no run there, or a preset or overrides that change it.
    """
    meta = checkpoint.check_run_dir(out, resume=True)
    cfg = from_dict(PoetVAEConfig, meta.get("model", {}))
    asked = cfg
    if preset is not None:
        given = {k: getattr(cfg, k) for k in PoetVAEConfig.DATA_FIELDS}
        asked = PoetVAEConfig.preset(preset, **given)
    asked = apply_overrides(asked, overrides)
    changed = [k for k, v in to_dict(asked).items() if v != getattr(cfg, k)]
    if changed:
        was = ", ".join(f"{k}={getattr(cfg, k)}" for k in changed)
        raise ValueError(
            f"a resumed run keeps its model config ({was}): changing {', '.join(changed)} "
            "needs a new run"
        )
    return meta


def train(
    corpus: str | Corpus,
    out: str | Path,
    train_cfg: TrainConfig,
    device: torch.device,
    preset: str = "base",
    overrides: tuple[str, ...] = (),
    resume: bool = False,
    progress: Callable[..., Progress] | None = None,
    init_from: str | Path | None = None,
) -> dict[str, Any]:
    """Train a PoetVAE on a corpus into run directory `out`.

    Args:
        corpus: a corpus name/path (see `load_corpus`) or a loaded Corpus.
        out: run directory; must not hold a checkpoint unless `resume`.
        train_cfg: optimisation settings, the budget in epochs or steps included.
        device: training device.
        preset: PoetVAEConfig preset for a new run.
        overrides: `key=value` changes to the preset (for a resumed run: only ones that change
            nothing, else ValueError).
        resume: continue the run in `out` (model config and vocabulary come from it).
        progress: makes a progress bar (see `core.train.fit`); None: none.
        init_from: start a new run from this checkpoint's weights, config and vocabulary
            (one of the same line length and fewer lines starts a longer form: see
            `warm_start`; `overrides` apply on top, e.g. decoder=mask-predict to continue a
            parallel model with a draft path; a fresh optimizer, step 0).

    Returns:
        fit()'s summary plus "corpus" (its one-line summary) and "out".
    """
    out = Path(out)
    if isinstance(corpus, str):
        corpus = load_corpus(corpus)
    if resume:
        check_resume(out, overrides)
        model = load(out, device)
        if model.cfg.shape != corpus.form:
            raise ValueError(f"{out} was trained on another form than {corpus.form}")
        model.train()
    else:
        if (out / checkpoint.CKPT).exists():
            raise ValueError(f"{out} already holds a run: resume it, or choose another directory")
        seed_everything(train_cfg.seed)
        if init_from is not None:
            start = load(init_from)
            cfg, vocab = start.cfg, start.vocab
            lines = corpus.form.n_lines
            if cfg.chars_per_line != corpus.form.chars_per_line or lines % cfg.n_lines:
                raise ValueError(
                    f"{init_from} writes poems of {cfg.shape}: it cannot "
                    f"start a model of {corpus.form} (same line length, a multiple of its lines)"
                )
            cfg = replace(cfg, n_lines=lines)
        else:
            vocab = Vocab.train(corpus.splits["train"])
            cfg = PoetVAEConfig.preset(
                preset,
                vocab_size=len(vocab),
                n_lines=corpus.form.n_lines,
                chars_per_line=corpus.form.chars_per_line,
            )
        model = PoetVAE(apply_overrides(cfg, overrides), vocab)
        if init_from is not None:
            warm_start(model, start)
        model = model.to(device)
    train_data = training_data(model, corpus, "train")
    valid_data = training_data(model, corpus, "valid")
    meta = {**model.meta(), "corpus": corpus.name}
    result = fit(
        model,
        train_data,
        valid_data or None,
        train_cfg,
        out,
        device,
        meta=meta,
        files=files(model),
        resume=resume,
        progress=progress,
        unit="poems",
    )
    return {**result, "corpus": corpus.summary(), "out": str(out)}


# parameters with one slice per character position (their first dimension), in poem order
POSITIONAL = ("enc_pos", "dec_pos", "refine_pos", r"heads\.\d+\.2\.(weight|bias)")


@torch.no_grad()
def warm_start(model: PoetVAE, start: PoetVAE) -> PoetVAE:
    """Copy `start`'s weights into `model`, in place.

    A model of k times the start's lines (a 律诗 of eight lines from a 绝句 of four) gets each
    position parameter of the start repeated k times, so lines 5-8 begin as lines 1-4. The
    model's parameters the start lacks keep their initial values (a grown part, such as a
    refiner); the start's that the model lacks (another prior) are dropped.
    """
    reps = model.cfg.n_lines // start.cfg.n_lines
    own = model.state_dict()
    for name, value in start.state_dict().items():
        if name not in own:
            continue
        if reps > 1 and any(re.fullmatch(p, name) for p in POSITIONAL):
            value = value.reshape(start.cfg.seq_len, -1).repeat(reps, 1).reshape(own[name].shape)
        if value.shape != own[name].shape:
            raise ValueError(f"{name}: {tuple(value.shape)} does not fit {tuple(own[name].shape)}")
        own[name].copy_(value)
    return model


@torch.no_grad()
def posteriors(model: PoetVAE, x: torch.Tensor, batch_size: int = 1024) -> tuple[torch.Tensor, ...]:
    """mu, logvar (N, Z each, float32, CPU) of q(z | x) for (N, L) poems."""
    model.eval()
    device = next(model.parameters()).device
    parts = [model.encode(b.to(device)) for b in x.split(batch_size)]
    return tuple(torch.cat([p[i].float().cpu() for p in parts]) for i in (0, 1))


# a refit's Adam step size: 500 steps at 3e-3 lowered the keyword model's (runs/wuyan-kw)
# cross-entropy of its aggregate posterior only from 89.7 to 89.4 nats, and brought its
# unconditioned samples' coherence back from 0.030 to 0.036 (the bundled model's 0.038)
REFIT_LR = 3e-3


def fit_prior(
    model: PoetVAE,
    corpus: Corpus,
    n_components: int,
    steps: int = 1500,
    seed: int = 0,
    log=None,
    kind: str = "mixture",
) -> PoetVAE:
    """The model with a prior fitted to the aggregate posterior of the corpus' train split; the
    encoder and decoder are unchanged.

    kind "mixture": a GaussianMixture of n_components (core.priors.fit_mixture). A
    conditional model whose prior is already a mixture of n_components is refitted from its
    own components at REFIT_LR, gently, and keeps its p(z | c) (the weights and offset that c
    gives those components): after training with keywords, the aggregate posterior of
    unconditioned poems has moved, and the mixture follows it. Otherwise p(z | c) starts anew
    (its weights were for other components): the fitted mixture for every c until trained.

    kind "flow": a RealNVP of n_components coupling layers (core.priors.fit_flow). For a
    conditional model, p(z | c) is the flow over a base moved by c, fitted with it on
    posteriors q(z | x, c) of each train poem under FLOW_DRAWS keyword draws as training makes
    them (a random subset of its keywords, none `keyword_drop` of the time).

    kind "mixture-flow": MIXTURE_FLOW_LAYERS coupling layers fitted for `steps` over a mixture
    of n_components, which stays as it is: the model's own where it has one of n_components
    (with its p(z | c), which then reweighs the mixture under the layers), else one fitted
    first (1,500 steps, p(z | c) anew).

    Raises:
        ValueError: a corpus of another form, or more components than training poems.
    """
    if model.cfg.shape != corpus.form:
        raise ValueError(
            f"the model writes poems of {model.cfg.shape}, the corpus holds {corpus.form}"
        )
    if kind not in ("mixture", "flow", "mixture-flow"):
        raise ValueError(f"kind must be mixture, flow or mixture-flow, got {kind!r}")
    x = encode_poems(model.vocab, corpus.splits["train"])
    cfg = replace(model.cfg, prior=kind, prior_components=n_components)
    fitted = PoetVAE(cfg, model.vocab)
    own = _mixture_of(model, n_components)
    refit = kind != "flow" and model.cfg.keywords > 0 and own is not None
    if kind == "mixture-flow":
        mu, logvar = posteriors(model, x)
        if own is None:
            own = fit_mixture(mu, logvar, n_components, seed=seed, steps=1500)
        prior = fit_flow(mu, logvar, MIXTURE_FLOW_LAYERS, steps, seed=seed, log=log, base=own)
        # the flow's state holds its base's as base.*
    elif kind == "flow":
        cond = None
        if model.cfg.keywords:
            with_keywords(corpus)
            kw = encode_keywords(model.vocab, corpus.keywords["train"], model.cfg.keywords)
            cond, mu, logvar = conditioned_posteriors(model, x, kw, seed)
        else:
            mu, logvar = posteriors(model, x)
        cond_layer = fitted.prior_cond if model.cfg.keywords else None
        prior = fit_flow(
            mu, logvar, n_components, steps, seed=seed, log=log, cond=cond, cond_layer=cond_layer
        )
    else:
        mu, logvar = posteriors(model, x)
        prior = fit_mixture(
            mu,
            logvar,
            n_components,
            steps=steps,
            seed=seed,
            log=log,
            **({"start": own, "lr": REFIT_LR} if refit else {}),
        )
    # the prior, and unless refitted what reads the condition into it (its width is the
    # prior's), start anew
    anew = ("prior.",) if refit else ("prior.", "prior_cond.")
    state = {k: v for k, v in model.state_dict().items() if not k.startswith(anew)}
    if not refit:
        state.update({k: v for k, v in fitted.state_dict().items() if k.startswith("prior_cond.")})
    fitted.load_state_dict({**state, **{f"prior.{k}": v for k, v in prior.state_dict().items()}})
    return fitted.to(next(model.parameters()).device).eval()


FLOW_DRAWS = 2  # keyword draws per train poem when a flow's p(z | c) is fitted


def _mixture_of(model: PoetVAE, n_components: int) -> GaussianMixture | None:
    """The model's mixture of n_components (its prior, or a flow's base), else None."""
    prior = model.prior.base if isinstance(model.prior, FlowPrior) else model.prior
    if isinstance(prior, GaussianMixture) and prior.means.shape[0] == n_components:
        return copy.deepcopy(prior)
    return None


@torch.no_grad()
def conditioned_posteriors(
    model: PoetVAE, x: torch.Tensor, kw: torch.Tensor, seed: int, batch_size: int = 1024
) -> tuple[torch.Tensor, ...]:
    """N poems x, FLOW_DRAWS times, each with keywords drawn from kw (N, K, W) as training draws
    them: conditions c (M, D) and mu, logvar (M, Z) of q(z | x, c), M = FLOW_DRAWS N."""
    model.eval()
    device = next(model.parameters()).device
    cs, mus, logvars = [], [], []
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        for _ in range(FLOW_DRAWS):
            for xb, kb in zip(x.split(batch_size), kw.split(batch_size), strict=True):
                c = model.condition(model._some_keywords(kb.to(device)))
                mu, logvar = model.encode(xb.to(device), c)
                cs.append(c.float().cpu())
                mus.append(mu.float().cpu())
                logvars.append(logvar.float().cpu())
    return tuple(torch.cat(t) for t in (cs, mus, logvars))
