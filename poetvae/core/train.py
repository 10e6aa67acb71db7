"""The one training loop, for every model: step-based, evaluated, clipped, resumable, DDP-ready.

Nothing here knows about poems or pixels. A model is any nn.Module whose
`forward(batch, beta=...)` returns an `Output`; data is a tuple of equally long tensors kept
whole on the training device, and a batch is an index slice of them (no per-item DataLoader).
The batch order is a pure function of (seed, epoch), and the checkpoint carries the optimizer
and RNG states, so a run killed and resumed from its last checkpoint reproduces the uninterrupted
run exactly.
"""

import functools
import json
import math
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol, TextIO

import torch
from torch import Tensor, nn

from . import checkpoint
from .config import to_dict
from .device import autocast, distributed

Data = tuple[Tensor, ...]
DEFAULT_EPOCHS = 10.0


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings, stored in every checkpoint.

    The budget is `epochs` passes over the train data or `max_steps` optimizer steps, not both
    (neither: DEFAULT_EPOCHS); `fit` turns epochs into steps from the data's size (`resolve`).
    `eval_every` = 0 evaluates and checkpoints once per epoch. The KL weight rises linearly from 0
    to `beta` over `kl_warmup_steps` (Bowman et al. 2016 annealing; 0 = constant). `train_only`
    names a submodule (e.g. "refiner"): only its parameters are trained, the others stay as they
    are ("" = all).
    """

    epochs: float | None = None
    max_steps: int | None = None
    batch_size: int = 128
    lr: float = 2e-3
    weight_decay: float = 0.01
    warmup_steps: int = 100
    min_lr_ratio: float = 0.1
    grad_clip: float = 1.0
    eval_every: int = 0
    kl_warmup_steps: int = 0
    beta: float = 1.0
    seed: int = 0
    train_only: str = ""

    def __post_init__(self):
        for name in ("lr", "weight_decay", "min_lr_ratio", "grad_clip", "beta"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a finite number >= 0, got {value}")
        if self.lr <= 0 or self.batch_size < 1:
            raise ValueError("lr must be > 0, batch_size >= 1")
        if self.epochs is not None and self.max_steps is not None:
            raise ValueError("give epochs or max_steps, not both")
        if self.epochs is not None and not (math.isfinite(self.epochs) and self.epochs > 0):
            raise ValueError(f"epochs must be a finite number > 0, got {self.epochs}")
        if self.max_steps is not None and self.max_steps < 1:
            raise ValueError(f"max_steps must be >= 1, got {self.max_steps}")

    def resolve(self, n: int, world: int = 1) -> "TrainConfig":
        """This config with its budget in steps, for n train items split over `world` ranks."""
        if self.max_steps is not None:
            return self
        epochs = DEFAULT_EPOCHS if self.epochs is None else self.epochs
        steps = max(1, round(epochs * steps_per_epoch(n, self.batch_size, world)))
        return replace(self, epochs=None, max_steps=steps)


class Progress(Protocol):
    """The progress bar `fit` reports to; a tqdm bar is one. The caller makes it (core imports
    only torch), so a library user or a test needs no bar at all."""

    def update(self, n: int) -> Any: ...

    def set_postfix(self, ordered_dict: dict[str, str], refresh: bool) -> Any: ...

    def write(self, s: str, file: TextIO) -> Any: ...

    def close(self) -> Any: ...


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; the last good checkpoint is left in place."""


def get_lr(step: int, cfg: TrainConfig) -> float:
    """Linear warmup, then cosine decay to `min_lr_ratio * lr` at `max_steps`."""
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    span = max(1, cfg.max_steps - cfg.warmup_steps)
    progress = min(1.0, (step - cfg.warmup_steps) / span)
    ratio = cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))
    return cfg.lr * ratio


def get_beta(step: int, cfg: TrainConfig) -> float:
    if cfg.kl_warmup_steps <= 0:
        return cfg.beta
    return cfg.beta * min(1.0, step / cfg.kl_warmup_steps)


def steps_per_epoch(n: int, batch_size: int, world: int = 1) -> int:
    """Optimizer steps in one pass over n items (each rank takes batch_size; tail dropped)."""
    return max(1, n // min(batch_size * world, n))


def batch_indices(n: int, step: int, cfg: TrainConfig, rank: int = 0, world: int = 1) -> Tensor:
    """This rank's item indices for a global step: a seeded permutation per epoch, tail dropped."""
    global_batch = min(cfg.batch_size * world, n)
    epoch, i = divmod(step, steps_per_epoch(n, cfg.batch_size, world))
    perm = _epoch_permutation(n, cfg.seed, epoch)
    return perm[i * global_batch : (i + 1) * global_batch][rank::world]


@functools.lru_cache(maxsize=2)
def _epoch_permutation(n: int, seed: int, epoch: int) -> Tensor:
    # cached: drawing a 60k permutation every step costs ~0.3 s per epoch, more than a GPU epoch
    gen = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    return torch.randperm(n, generator=gen)


@torch.no_grad()
def evaluate(
    model: nn.Module, data: Data, batch_size: int, device: torch.device
) -> dict[str, float]:
    """Item-weighted means of the loss parts over `data` at beta = 1, with a fixed noise seed.

    Under DDP each rank scores its share and the sums are all-reduced.
    """
    was_training = model.training
    model.eval()
    dist = torch.distributed.is_available() and torch.distributed.is_initialized()
    rank, world = (
        (torch.distributed.get_rank(), torch.distributed.get_world_size()) if dist else (0, 1)
    )
    n = data[0].shape[0]
    sums: dict[str, float] = {}
    devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):  # validation never moves the training RNG
        torch.manual_seed(0)
        for start in range(rank * batch_size, n, batch_size * world):
            batch = tuple(t[start : start + batch_size] for t in data)
            with autocast(device):
                out = model(batch, beta=1.0)
            count = batch[0].shape[0]
            for key, value in {"loss": out.loss.item(), **out.parts}.items():
                sums[key] = sums.get(key, 0.0) + value * count
            sums["_n"] = sums.get("_n", 0.0) + count
    if dist:
        keys = sorted(sums)
        packed = torch.tensor([sums[k] for k in keys], dtype=torch.float64, device=device)
        torch.distributed.all_reduce(packed)
        sums = dict(zip(keys, packed.tolist(), strict=True))
    model.train(was_training)
    total = sums.pop("_n", 0.0)
    return {k: v / max(total, 1.0) for k, v in sums.items()}


def trained_parameters(model: nn.Module, only: str = "") -> list[nn.Parameter]:
    """The parameters of submodule `only` ("": all of them); the others are frozen (no grad).

    Raises:
        ValueError: the model has no submodule of that name with parameters.
    """
    if not only:
        return list(model.parameters())
    prefix = only + "."
    for name, p in model.named_parameters():
        p.requires_grad_(name.startswith(prefix))
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        names = sorted({n.split(".")[0] for n, _ in model.named_parameters()})
        raise ValueError(
            f"train_only: no parameters under {only!r}; the model has {', '.join(names)}"
        )
    return params


def fit(
    model: nn.Module,
    train: Data,
    valid: Data | None,
    cfg: TrainConfig,
    run_dir: str | Path,
    device: torch.device,
    meta: dict[str, Any] | None = None,
    files: dict[str, bytes] | None = None,
    resume: bool = False,
    progress: Callable[..., Progress] | None = None,
    unit: str = "items",
    on_eval: Callable[[int, dict[str, float]], None] | None = None,
) -> dict[str, Any]:
    """Train `model` for `cfg.epochs` or `cfg.max_steps`, checkpointing into `run_dir`.

    Args:
        model: returns `Output` from `forward(batch, beta=...)`; already on `device`.
        train, valid: tuples of tensors indexed along dim 0 (moved to `device` here).
        cfg: optimisation settings; its epochs become steps here, from len(train).
        run_dir: where `checkpoint/` and `metrics.jsonl` are written (main rank only).
        device: training device.
        meta: model config etc. stored in config.json (the trainer adds `train` and `step`).
        files: extra files saved with every checkpoint (e.g. the vocabulary).
        resume: continue from the checkpoint in `run_dir` (weights, optimizer, step, RNG).
        progress: makes the main rank's bar, called as progress(total=, initial=) (e.g. tqdm);
            None: no bar and no validation lines.
        unit: what one item is called in the speed read-out ("poems", "images").
        on_eval: called as on_eval(step, metrics) after each evaluation.

    Returns:
        {"step", "start" (the step it resumed from, 0 for a new run), "stopped_early", "valid":
        last validation metrics, "train": last train parts}.

    Raises:
        TrainingDiverged: the loss became NaN/inf (no checkpoint is written for that step).
    """
    run_dir = Path(run_dir)
    with distributed(device) as dist:
        train = tuple(t.to(device) for t in train)
        valid = tuple(t.to(device) for t in valid) if valid is not None else None
        n = train[0].shape[0]
        cfg = cfg.resolve(n, dist.world_size)
        per_epoch = steps_per_epoch(n, cfg.batch_size, dist.world_size)
        eval_every = cfg.eval_every or per_epoch
        params = trained_parameters(model, cfg.train_only)
        decay = [p for p in params if p.dim() >= 2]
        no_decay = [p for p in params if p.dim() < 2]
        opt = torch.optim.AdamW(
            [
                {"params": decay, "weight_decay": cfg.weight_decay},
                {"params": no_decay, "weight_decay": 0},
            ],
            lr=cfg.lr,
            fused=True,  # one kernel for all parameters, on CPU as on CUDA
        )
        step, last_valid = 0, {}
        if resume:
            was = checkpoint.read_meta(run_dir).get("train", {}).get("train_only", "")
            if was != cfg.train_only:
                what = f"--train-only {was}" if was else "every parameter (no --train-only)"
                raise ValueError(f"{run_dir} trained {what}: resume it the same way")
            state = checkpoint.load_trainer_state(run_dir)
            if state is None:
                raise checkpoint.CheckpointError(f"{run_dir} has no trainer state to resume from")
            checkpoint.load_weights(model, run_dir)
            opt.load_state_dict(state["optimizer"])
            step, last_valid = state["step"], state.get("valid", {})
            torch.set_rng_state(state["rng"])
            if device.type == "cuda" and "cuda_rng" in state:
                torch.cuda.set_rng_state(state["cuda_rng"], device)
        start = step
        net = model
        if dist.enabled:
            net = nn.parallel.DistributedDataParallel(
                model, device_ids=[device] if device.type == "cuda" else None
            )

        def save(step: int) -> None:
            if not dist.is_main:
                return
            state = {
                "step": step,
                "optimizer": opt.state_dict(),
                "rng": torch.get_rng_state(),
                "valid": last_valid,
            }
            if device.type == "cuda":
                state["cuda_rng"] = torch.cuda.get_rng_state(device)
            full_meta = {**(meta or {}), "train": to_dict(cfg), "step": step, "valid": last_valid}
            checkpoint.save(run_dir, model, full_meta, files, state)

        stop = {"requested": False}

        def request_stop(signum, frame):
            if stop["requested"]:  # a second Ctrl-C: stop now, without saving
                raise KeyboardInterrupt
            stop["requested"] = True

        previous_handler = signal.signal(signal.SIGINT, request_stop) if _main_thread() else None
        bar = (
            progress(total=cfg.max_steps, initial=step)
            if progress is not None and dist.is_main
            else None
        )
        parts: dict[str, float] = {}

        def say(text: str) -> None:
            if bar is not None:
                bar.write(text, file=sys.stderr)

        seen, tick = 0, time.perf_counter()
        net.train()
        try:
            while step < cfg.max_steps and not stop["requested"]:
                idx = batch_indices(n, step, cfg, dist.rank, dist.world_size).to(device)
                batch = tuple(t[idx] for t in train)
                for group in opt.param_groups:
                    group["lr"] = get_lr(step, cfg)
                with autocast(device):
                    out = net(batch, beta=get_beta(step, cfg))
                if not torch.isfinite(out.loss):
                    raise TrainingDiverged(
                        f"loss became {out.loss.item()} at step {step}; "
                        f"the last good checkpoint in {run_dir} is kept"
                    )
                opt.zero_grad(set_to_none=True)
                out.loss.backward()
                if cfg.grad_clip > 0:
                    torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip, foreach=True)
                opt.step()
                step += 1
                seen += idx.numel() * dist.world_size
                parts = {"loss": out.loss.item(), **out.parts}
                if bar is not None:
                    if step % 10 == 0 or step == cfg.max_steps:
                        now = time.perf_counter()
                        speed = {f"{unit}/s": f"{seen / (now - tick):.0f}"}
                        bar.set_postfix(_fmt(parts) | speed, refresh=False)
                        seen, tick = 0, now
                    bar.update(1)
                if step % eval_every == 0 or step == cfg.max_steps:
                    if valid is not None:
                        last_valid = evaluate(net, valid, cfg.batch_size, device)
                        say(
                            f"step {step} epoch {step / per_epoch:.2f} valid "
                            + " ".join(f"{k}={v:.4g}" for k, v in last_valid.items())
                        )
                        if on_eval is not None:
                            on_eval(step, last_valid)
                    save(step)
                    if dist.is_main:
                        record = {"step": step, "train": parts, "valid": last_valid}
                        with open(run_dir / "metrics.jsonl", "a") as f:
                            f.write(json.dumps(record) + "\n")
            if stop["requested"]:
                say(f"interrupted: saving step {step} to {run_dir} (resume with --resume)")
                save(step)
        finally:
            if bar is not None:
                bar.close()
            if previous_handler is not None:
                signal.signal(signal.SIGINT, previous_handler)
        stopped = stop["requested"]
        net = None  # DDP's reducer holds the process group: let it go before the group does
    return {
        "step": step,
        "start": start,
        "stopped_early": stopped,
        "valid": last_valid,
        "train": parts,
    }


def _fmt(parts: dict[str, float]) -> dict[str, str]:
    return {k: f"{v:.3g}" for k, v in parts.items() if k in ("loss", "recon", "kl")}


def _main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()
