"""Image grids -> PNG files (Pillow), written atomically: a temp file in the same folder, then
os.replace, so a failed or interrupted write never leaves a half-written PNG behind.
"""

import os
from pathlib import Path

import torch
from torch import Tensor


def make_grid(images: Tensor, n_cols: int, pad: int = 2) -> Tensor:
    """Tile images into one picture.

    Args:
        images: (N, 1, H, W) or (N, H, W) floats in [0, 1].
        n_cols: images per row; rows = ceil(N / n_cols).
        pad: pixels of black border between images.

    Returns:
        (rows * (H + pad) + pad, n_cols * (W + pad) + pad) uint8 picture.
    """
    images = images.detach().float().cpu().reshape(-1, *images.shape[-2:])  # (N, H, W)
    n, h, w = images.shape
    n_rows = -(-n // n_cols)
    out = torch.zeros(n_rows * (h + pad) + pad, n_cols * (w + pad) + pad, dtype=torch.uint8)
    pix = (images.clamp(0, 1) * 255).round().to(torch.uint8)
    for i in range(n):
        r, c = divmod(i, n_cols)
        top, left = pad + r * (h + pad), pad + c * (w + pad)
        out[top : top + h, left : left + w] = pix[i]
    return out


def save_png(picture: Tensor, path: str | Path) -> Path:
    """Write a (H, W) uint8 picture as a grayscale PNG, atomically."""
    from PIL import Image

    path = Path(path)
    if path.suffix.lower() != ".png":
        raise ValueError(f"the output {str(path)!r} must end in .png")
    if not path.parent.is_dir():
        raise FileNotFoundError(f"folder {str(path.parent)!r} does not exist")
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        Image.fromarray(picture.numpy()).save(tmp, format="PNG")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def save_grid(images: Tensor, path: str | Path, n_cols: int) -> Path:
    """`make_grid` then `save_png`."""
    return save_png(make_grid(images, n_cols), path)


@torch.no_grad()
def sample_figure(
    model, n: int, label: int | None = None, manifold: bool = False
) -> tuple[Tensor, int]:
    """The images of `poetvae image sample` and the columns to lay them out in.

    - manifold (2-D latent): a sqrt(n) x sqrt(n) grid over the latent plane at N(0, 1) quantiles.
    - conditional model without `label`: rows = labels 0..C-1, columns = n // C shared draws of z.
    - otherwise: n prior samples (of class `label` for a conditional model), 8 per row for n=64.

    Returns:
        ((N, 1, H, W) pixel means, n_cols).
    """
    from .models import gaussian_quantiles

    cfg, dev = model.cfg, next(model.parameters()).device
    if label is not None and not 0 <= label < cfg.n_classes:
        raise ValueError(
            f"label {label} is out of range: this model has classes 0..{cfg.n_classes - 1}"
        )
    if label is not None and not model.conditional:
        raise ValueError(f"a label needs a cvae checkpoint; this one is a {cfg.model}")
    if manifold:
        if cfg.model == "vqvae" or cfg.latent_dim != 2:
            has = "a code grid" if cfg.model == "vqvae" else f"latent_dim {cfg.latent_dim}"
            raise ValueError(f"a manifold needs a 2-D Gaussian latent; this {cfg.model} has {has}")
        if model.conditional and label is None:
            raise ValueError("a manifold of a cvae needs a label")
        side = max(2, round(n**0.5))
        q = gaussian_quantiles(side).to(dev)
        # rows run top to bottom from high to low z2, columns left to right in z1
        z = torch.stack(torch.meshgrid(q.flip(0), q, indexing="ij")[::-1], dim=-1).view(-1, 2)
        y = None if label is None else model.onehot(torch.full((len(z),), label, device=dev))
        return model.mean(model.decode(z, y)), side
    if model.conditional:
        if label is not None:
            return model.sample(n, torch.full((n,), label, device=dev)), _cols(n)
        cols = max(1, n // cfg.n_classes)
        z = model.prior.sample(cols).to(dev).repeat(cfg.n_classes, 1)  # (C*cols, Z)
        y = torch.arange(cfg.n_classes, device=dev).repeat_interleave(cols)
        return model.mean(model.decode(z, model.onehot(y))), cols
    return model.sample(n), _cols(n)


def _cols(n: int) -> int:
    return max(1, min(n, round(n**0.5)))
