"""`poetvae image train`: data -> ImageConfig -> model -> core.fit, in one function."""

from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from ..core import checkpoint
from ..core.config import apply_overrides
from ..core.device import seed_everything
from ..core.train import Progress, TrainConfig, fit
from .data import ImageData, load_images
from .models import ImageConfig, build, load


def check_run_dir(out: str | Path, kind: str, resume: bool) -> None:
    """Fail early: a new run must not overwrite one, a resumed run must exist and be of `kind`.

    Raises:
        ValueError / checkpoint.CheckpointError: with a one-line reason.
    """
    meta = checkpoint.check_run_dir(out, resume)
    if meta is None:
        return
    found = meta.get("model", {}).get("model")
    if found != kind:
        raise ValueError(f"{out} holds a {found} run, not {kind}")


def train(
    data: str | ImageData,
    kind: str,
    out: str | Path,
    train_cfg: TrainConfig,
    device: torch.device,
    preset: str = "base",
    overrides: tuple[str, ...] = (),
    resume: bool = False,
    progress: Callable[..., Progress] | None = None,
    limit: int | None = None,
    data_ref: str | None = None,
) -> dict[str, Any]:
    """Train an image model of `kind` on `data` into run directory `out`.

    Args:
        data: "fashion-mnist", "mnist", an IDX folder, or loaded ImageData.
        kind: ae | vae | conv-vae | cvae | vqvae.
        out: run directory; must not hold a checkpoint unless `resume`.
        train_cfg: optimisation settings, the budget in epochs or steps included.
        device: training device.
        preset: ImageConfig preset for a new run.
        overrides: `key=value` changes to the preset (e.g. latent_dim=2).
        resume: continue the run in `out` (its model config wins; `kind` must match).
        progress: makes a progress bar (see `core.train.fit`); None: none.
        limit: train on the first `limit` train images only (quick runs, benchmarks).
        data_ref: what config.json records as the data (default: `data` when it is a string);
            `reconstruct` and `eval` reload the data from it.

    Returns:
        fit()'s summary plus "data" (one-line summary) and "out".
    """
    out = Path(out)
    check_run_dir(out, kind, resume)
    loaded = load_images(data) if isinstance(data, str) else data
    if resume:
        model = load(out, device).train()
    else:
        h, w = loaded.shape
        cfg = ImageConfig.preset(preset, model=kind, height=h, width=w, n_classes=loaded.n_classes)
        cfg = apply_overrides(cfg, overrides).check()
        seed_everything(train_cfg.seed)
        model = build(cfg).to(device)
    if (model.cfg.height, model.cfg.width) != loaded.shape:
        raise ValueError(
            f"{out} was trained on {model.cfg.height}x{model.cfg.width} images, "
            f"the data are {loaded.shape[0]}x{loaded.shape[1]}"
        )
    train_x, train_y = loaded.train
    if limit is not None:
        train_x, train_y = train_x[:limit], train_y[:limit]
    if int(max(train_y.max(), loaded.valid[1].max())) >= model.cfg.n_classes:
        raise ValueError(
            f"labels reach {int(train_y.max())}, the model knows {model.cfg.n_classes} classes"
        )
    ref = data_ref or (data if isinstance(data, str) else loaded.source)
    if Path(ref).is_dir():
        ref = str(Path(ref).resolve())
    meta = {**model.meta(), "data": ref}
    result = fit(
        model,
        (train_x, train_y),
        loaded.valid,
        train_cfg,
        out,
        device,
        meta=meta,
        resume=resume,
        progress=progress,
        unit="images",
    )
    return {**result, "data": loaded.summary(), "out": str(out)}
