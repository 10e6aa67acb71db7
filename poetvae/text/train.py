"""`poetvae train`: corpus -> vocabulary -> PoetVAE -> core.fit, in one function."""

from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from ..core import checkpoint
from ..core.config import apply_overrides, from_dict, to_dict
from ..core.device import dist_info, seed_everything
from ..core.train import TrainConfig, fit, steps_per_epoch
from .corpus import Corpus, Form, load_corpus
from .model import PoetVAE, PoetVAEConfig, files, load
from .vocab import Vocab


def encode_poems(vocab: Vocab, poems: list[str]) -> torch.Tensor:
    """Poems (strings of seq_len characters) -> (N, L) ids; (0, 0) for no poems (an empty split)."""
    if not poems:
        return torch.empty(0, 0, dtype=torch.long)
    return torch.tensor([vocab.encode(p) for p in poems], dtype=torch.long).view(len(poems), -1)


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
    epochs: float | None = None,
    resume: bool = False,
    progress: bool = True,
    init_from: str | Path | None = None,
) -> dict[str, Any]:
    """Train a PoetVAE on a corpus into run directory `out`.

    Args:
        corpus: a corpus name/path (see `load_corpus`) or a loaded Corpus.
        out: run directory; must not hold a checkpoint unless `resume`.
        train_cfg: optimisation settings (max_steps is replaced when `epochs` is given).
        device: training device.
        preset: PoetVAEConfig preset for a new run.
        overrides: `key=value` changes to the preset (for a resumed run: only ones that change
            nothing, else ValueError).
        epochs: train this many passes over the train split instead of max_steps.
        resume: continue the run in `out` (model config and vocabulary come from it).
        progress: show a progress bar.
        init_from: start a new run from this checkpoint's weights, config and vocabulary
            (`overrides` apply on top, e.g. decoder=mask-predict to continue a parallel model
            with a draft path; a fresh optimizer, step 0).

    Returns:
        fit()'s summary plus "corpus" (its one-line summary) and "out".
    """
    out = Path(out)
    if isinstance(corpus, str):
        corpus = load_corpus(corpus)
    if resume:
        check_resume(out, overrides)
        model = load(out, device)
        if Form(model.cfg.n_lines, model.cfg.chars_per_line) != corpus.form:
            raise ValueError(f"{out} was trained on another form than {corpus.form}")
        model.train()
    else:
        if (out / checkpoint.CKPT).exists():
            raise ValueError(f"{out} already holds a run: resume it, or choose another directory")
        seed_everything(train_cfg.seed)
        if init_from is not None:
            start = load(init_from)
            cfg, vocab = start.cfg, start.vocab
            if Form(cfg.n_lines, cfg.chars_per_line) != corpus.form:
                raise ValueError(f"{init_from} was trained on another form than {corpus.form}")
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
            grown = tuple(k for k in model.state_dict() if k not in start.state_dict())
            checkpoint.load_weights(model, init_from, new=grown)
        model = model.to(device)
    x_train = encode_poems(model.vocab, corpus.splits["train"])
    x_valid = encode_poems(model.vocab, corpus.splits.get("valid", []))
    if epochs is not None:
        per_epoch = steps_per_epoch(len(x_train), train_cfg.batch_size, dist_info().world_size)
        train_cfg = replace(train_cfg, max_steps=max(1, round(epochs * per_epoch)))
    meta = {**model.meta(), "corpus": corpus.name}
    result = fit(
        model,
        (x_train,),
        (x_valid,) if len(x_valid) else None,
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
