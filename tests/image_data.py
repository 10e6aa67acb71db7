"""Tiny MNIST-format data for the image tests, generated on the fly (no network, no Debian data)."""

from pathlib import Path

import torch

from poetvae.image.idx import write_idx

SIDE = 12  # divisible by 4, so the conv models and the VQ-VAE's 3x3 code grid work


def tiny_images(n: int, seed: int = 0, side: int = SIDE) -> tuple[torch.Tensor, torch.Tensor]:
    """(n, side, side) uint8 images and (n,) labels 0..9: a bright bar whose place is the label."""
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 10
    x = torch.randint(0, 40, (n, side, side), generator=g)
    for i, label in enumerate(y.tolist()):
        row = label % (side - 2)
        x[i, row : row + 2, 1 : side - 1] = 255 if label < 5 else 180
        if label >= 5:
            x[i, 1 : side - 1, (label * 2) % (side - 2)] = 255
    return x.to(torch.uint8), y


def idx_folder(path: Path, n_train: int = 120, n_test: int = 40, gz: bool = True) -> Path:
    """Write train/t10k images+labels IDX files into `path` and return it."""
    path.mkdir(parents=True, exist_ok=True)
    ext = ".gz" if gz else ""
    for prefix, n, seed in (("train", n_train, 0), ("t10k", n_test, 1)):
        x, y = tiny_images(n, seed)
        write_idx(path / f"{prefix}-images-idx3-ubyte{ext}", x)
        write_idx(path / f"{prefix}-labels-idx1-ubyte{ext}", y.to(torch.uint8))
    return path
