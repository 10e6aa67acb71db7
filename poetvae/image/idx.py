"""IDX files (the MNIST format), gzipped or raw, read into uint8 tensors without torchvision.

Format (LeCun et al., http://yann.lecun.com/exdb/mnist/): two zero bytes, a type code (0x08 =
unsigned byte), the number of dimensions, then one big-endian uint32 size per dimension, then the
data in C order.
"""

import gzip
import os
import struct
from pathlib import Path

import torch
from torch import Tensor

UBYTE = 0x08
SPLITS = {"train": "train", "test": "t10k"}  # split -> file name prefix


def read_idx(path: str | Path) -> Tensor:
    """Read an unsigned-byte IDX file (`.gz` or raw) into a uint8 tensor of its stored shape.

    Raises:
        ValueError: not an unsigned-byte IDX file, or truncated.
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (gzip.BadGzipFile, EOFError) as e:
        raise ValueError(f"{path}: not a readable gzip file ({e})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != UBYTE:
        raise ValueError(f"{path}: not an unsigned-byte IDX file")
    ndim = raw[3]
    shape = struct.unpack(f">{ndim}I", raw[4 : 4 + 4 * ndim])
    body = raw[4 + 4 * ndim :]
    expected = 1
    for s in shape:
        expected *= s
    if len(body) != expected:
        raise ValueError(f"{path}: holds {len(body)} bytes of data, its header says {expected}")
    return torch.frombuffer(bytearray(body), dtype=torch.uint8).view(*shape)


def write_idx(path: str | Path, data: Tensor) -> None:
    """Write a uint8 tensor as an IDX file (gzipped when `path` ends in .gz), atomically."""
    path = Path(path)
    header = bytes([0, 0, UBYTE, data.dim()]) + struct.pack(f">{data.dim()}I", *data.shape)
    payload = header + data.to(torch.uint8).contiguous().numpy().tobytes()
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(gzip.compress(payload) if path.suffix == ".gz" else payload)
    os.replace(tmp, path)


def find_split(folder: str | Path, split: str) -> tuple[Path, Path] | None:
    """The (images, labels) files of `split` ("train" | "test") in an MNIST-format folder."""
    folder, prefix = Path(folder), SPLITS[split]
    found = []
    for kind, code in (("images", "idx3"), ("labels", "idx1")):
        for sep in ("-", "."):  # train-images-idx3-ubyte and train-images.idx3-ubyte both occur
            stem = f"{prefix}-{kind}{sep}{code}-ubyte"
            hit = next((folder / n for n in (stem, stem + ".gz") if (folder / n).is_file()), None)
            if hit is not None:
                found.append(hit)
                break
    return (found[0], found[1]) if len(found) == 2 else None


def read_split(folder: str | Path, split: str) -> tuple[Tensor, Tensor]:
    """(N, H, W) uint8 images and (N,) int64 labels of one split of an MNIST-format folder.

    Raises:
        FileNotFoundError: the folder lacks the split's two files.
        ValueError: unreadable files, or image and label counts that differ.
    """
    files = find_split(folder, split)
    if files is None:
        raise FileNotFoundError(
            f"{folder}: no {SPLITS[split]}-images-idx3-ubyte[.gz] + "
            f"{SPLITS[split]}-labels-idx1-ubyte[.gz] (MNIST-format IDX files)"
        )
    x, y = read_idx(files[0]), read_idx(files[1])
    if x.dim() != 3 or y.dim() != 1 or x.shape[0] != y.shape[0]:
        raise ValueError(
            f"{folder}: {split} images {tuple(x.shape)} and labels {tuple(y.shape)} do not match"
        )
    return x, y.long()
