"""Run directories: safe, self-contained, atomically replaced checkpoints.

A checkpoint is a folder holding `model.safetensors` (weights, no code runs on load),
`config.json` (everything needed to rebuild the model), any extra files a model needs (the
text vocabulary) and, for resumable runs, `trainer.pt` (optimizer, step, RNG states; loaded with
`weights_only=True`). A run directory keeps its latest checkpoint in `RUN/checkpoint/`. A new one
is written to a temporary folder and swapped in by two renames, so a kill at any moment leaves
either the old or the new checkpoint whole, never a mixture.
"""

import json
import os
import shutil
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, load_model, save_file, save_model
from torch import nn

CKPT, TMP, OLD = "checkpoint", ".checkpoint-tmp", ".checkpoint-old"
WEIGHTS, CONFIG, TRAINER = "model.safetensors", "config.json", "trainer.pt"


SCALE = ".int8_scale"  # the key of an 8-bit matrix's row scales: its own key + SCALE
INT8_MIN_SIZE = 100_000  # smaller matrices stay float16: they weigh little


def quantize(w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Absmax 8-bit quantisation by row: w (R, ...) -> int8 codes and (R,) float32 scales, with
    w ≈ codes * scale per row (an error of at most half a step, max |w_row| / 254)."""
    rows = w.detach().float().reshape(len(w), -1)
    scale = rows.abs().amax(-1).clamp(min=1e-12) / 127
    codes = (rows / scale[:, None]).round().clamp(-127, 127).to(torch.int8)
    return codes.reshape(w.shape), scale


def dequantize(codes: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    return (codes.float().reshape(len(codes), -1) * scale[:, None]).reshape(codes.shape)


class CheckpointError(ValueError):
    """A checkpoint that is missing, corrupt or does not fit the model asked for."""


def save(
    run_dir: str | Path,
    model: nn.Module,
    meta: dict[str, Any],
    files: dict[str, bytes] | None = None,
    trainer_state: dict[str, Any] | None = None,
    half: bool = False,
    int8: bool = False,
) -> Path:
    """Write a checkpoint into `run_dir/checkpoint`, replacing the previous one atomically.

    Args:
        run_dir: the run directory (created if needed).
        model: the bare model (unwrap DDP / torch.compile first).
        meta: JSON-able config; `load` rebuilds the model from it.
        files: extra files by name (e.g. the vocabulary).
        trainer_state: optimizer/step/RNG state for exact resume.
        half: store weights as float16 (for small bundled models); loading casts back.
        int8: with `half`, also store each floating matrix of at least INT8_MIN_SIZE entries
            in 8 bits (see `quantize`); loading restores it.

    Returns:
        The checkpoint folder.
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    tmp, final, old = run_dir / TMP, run_dir / CKPT, run_dir / OLD
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    if half:  # fresh float16 copies share no storage, so save_file takes them as they are
        half_state = {}
        for k, v in model.state_dict().items():
            if int8 and v.is_floating_point() and v.dim() > 1 and v.numel() >= INT8_MIN_SIZE:
                half_state[k], half_state[k + SCALE] = quantize(v)
            else:
                half_state[k] = v.half() if v.is_floating_point() else v
        save_file(half_state, str(tmp / WEIGHTS))
    else:
        save_model(model, str(tmp / WEIGHTS))
    (tmp / CONFIG).write_text(json.dumps(meta, indent=1, ensure_ascii=False, sort_keys=True))
    for name, data in (files or {}).items():
        (tmp / name).write_bytes(data)
    if trainer_state is not None:
        torch.save(trainer_state, tmp / TRAINER)
    for path in tmp.iterdir():
        _fsync(path)
    shutil.rmtree(old, ignore_errors=True)
    if final.exists():
        os.replace(final, old)
    os.replace(tmp, final)
    shutil.rmtree(old, ignore_errors=True)
    return final


def check_run_dir(run_dir: str | Path, resume: bool) -> dict[str, Any] | None:
    """Fail early, before any data loads: a new run must not overwrite one, a resumed one must
    exist.

    Returns:
        The meta of the run to resume, or None for a new run.

    Raises:
        ValueError / CheckpointError: with a one-line reason.
    """
    if resume:
        return read_meta(run_dir)
    if (Path(run_dir) / CKPT).exists():
        raise ValueError(f"{run_dir} already holds a run: resume it, or choose another directory")
    return None


def resolve(path: str | Path) -> Path:
    """The checkpoint folder for a run directory or a checkpoint folder itself.

    Raises:
        CheckpointError: nothing loadable there.
    """
    path = Path(path)
    for candidate in (path / CKPT, path / OLD, path):  # OLD: a swap cut short by a kill
        if (candidate / WEIGHTS).is_file() and (candidate / CONFIG).is_file():
            return candidate
    if not path.exists():
        raise CheckpointError(f"checkpoint {str(path)!r} does not exist")
    raise CheckpointError(f"{str(path)!r} holds no checkpoint ({WEIGHTS} + {CONFIG})")


def read_meta(path: str | Path) -> dict[str, Any]:
    """The config.json of a checkpoint."""
    ckpt = resolve(path)
    try:
        meta = json.loads((ckpt / CONFIG).read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise CheckpointError(f"corrupt {ckpt / CONFIG}: {e}") from None
    if not isinstance(meta, dict):  # valid JSON, but not a config
        raise CheckpointError(f"corrupt {ckpt / CONFIG}: not a JSON object")
    return meta


def load_weights(model: nn.Module, path: str | Path, new: tuple[str, ...] = ()) -> nn.Module:
    """Load a checkpoint's weights into `model` (strict, cast to the model's dtype).

    Args:
        new: names of parameters the model may have and the checkpoint lacks (they keep their
            initial values), for continuing a run with a grown model.
    """
    ckpt = resolve(path)
    try:
        with safe_open(str(ckpt / WEIGHTS), "pt") as f:
            scaled = [k[: -len(SCALE)] for k in f.keys() if k.endswith(SCALE)]
        if scaled:  # 8-bit matrices (see `save`): restored before loading
            state = load_file(str(ckpt / WEIGHTS))
            for k in scaled:
                state[k] = dequantize(state[k], state.pop(k + SCALE))
            missing, unexpected = model.load_state_dict(state, strict=False)
        else:
            missing, unexpected = load_model(model, str(ckpt / WEIGHTS), strict=False)
        missing = [name for name in missing if name not in new]
    except (SafetensorError, OSError) as e:
        raise CheckpointError(f"corrupt weights in {ckpt}: {e}") from None
    except RuntimeError as e:  # shape mismatch
        first = str(e).strip().splitlines()[-1].strip()
        raise CheckpointError(f"weights in {ckpt} do not fit its config: {first}") from None
    if missing or unexpected:
        raise CheckpointError(
            f"weights in {ckpt} do not fit the model: missing {sorted(missing)[:3]}, "
            f"unexpected {sorted(unexpected)[:3]}"
        )
    return model


def load_trainer_state(path: str | Path) -> dict[str, Any] | None:
    """The trainer state of a checkpoint, or None for a weights-only checkpoint."""
    file = resolve(path) / TRAINER
    if not file.is_file():
        return None
    try:
        return torch.load(file, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises several types for a damaged pickle/zip
        raise CheckpointError(f"corrupt trainer state {file}: {e}") from None


def _fsync(path: Path) -> None:
    with open(path, "rb") as f:
        os.fsync(f.fileno())
