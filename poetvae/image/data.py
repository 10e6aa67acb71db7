"""Image data sets: MNIST-format folders, Debian's packaged Fashion-MNIST, or the Hugging Face hub.

Everything ends as uint8 tensors, (N, H, W) images and (N,) int64 labels, kept whole on the
training device; models scale pixels to [0, 1] per batch (4x less memory than float).
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from ..hub import hub_offline, hub_reachable
from .idx import read_split

# Debian's `dataset-fashion-mnist` package installs the IDX files here
DEBIAN = {"fashion-mnist": Path("/usr/share/datasets/fashion-mnist")}
HUB = {"fashion-mnist": "zalando-datasets/fashion_mnist", "mnist": "ylecun/mnist"}
VALID_SIZE = 5000

Split = tuple[Tensor, Tensor]


@dataclass
class ImageData:
    """Train / valid / test splits of one data set, each (uint8 (N, H, W) images, (N,) labels).

    valid is the last `VALID_SIZE` train images (10% for small sets); test is the official test
    split, used only by `evaluate`.
    """

    name: str
    source: str
    train: Split
    valid: Split
    test: Split

    @property
    def shape(self) -> tuple[int, int]:
        return tuple(self.train[0].shape[1:])

    @property
    def n_classes(self) -> int:
        return int(max(self.train[1].max(), self.test[1].max())) + 1

    def summary(self) -> str:
        h, w = self.shape
        return (
            f"{self.name}: {len(self.train[0])} train / {len(self.valid[0])} valid / "
            f"{len(self.test[0])} test images of {h}x{w}, {self.n_classes} classes "
            f"({self.source})"
        )


def from_hf(dataset: Any) -> Split:
    """A Hugging Face `datasets.Dataset` with `image` (PIL) and `label` columns -> tensors.

    Returns:
        (N, H, W) uint8 images and (N,) int64 labels.
    """
    import numpy as np

    images = np.stack([np.asarray(img.convert("L"), dtype=np.uint8) for img in dataset["image"]])
    labels = np.asarray(dataset["label"], dtype=np.int64)
    return torch.from_numpy(images), torch.from_numpy(labels)


def _split_valid(train: Split) -> tuple[Split, Split]:
    n = len(train[0])
    n_valid = VALID_SIZE if n > 2 * VALID_SIZE else max(1, n // 10)
    cut = n - n_valid
    return (train[0][:cut], train[1][:cut]), (train[0][cut:], train[1][cut:])


def _from_hub(name: str) -> tuple[Split, Split]:
    # without a connection `datasets` retries for about 25 s before failing: probe first, and
    # go to the cache at once when the hub cannot be reached
    reachable = hub_reachable()
    try:
        import datasets

        with hub_offline(not reachable):
            loaded = datasets.load_dataset(HUB[name])
        return from_hf(loaded["train"]), from_hf(loaded["test"])
    except Exception as e:  # no network, no cache, hub errors: all end in the same advice
        hint = "apt-get install dataset-fashion-mnist, or " if name in DEBIAN else ""
        why = type(e).__name__ if reachable else "the hub cannot be reached and it is not cached"
        raise FileNotFoundError(
            f"{name} not found locally and not loadable from the Hugging Face hub "
            f"({why}); get it with: {hint}network access to the hub once (cached), "
            "or a folder of MNIST-format IDX files"
        ) from None


def load_images(spec: str) -> ImageData:
    """Load "fashion-mnist", "mnist" or an IDX folder path.

    Names use Debian's packaged folder when present, else the Hugging Face hub (cached).

    Raises:
        FileNotFoundError: nothing found; the message says how to get the data.
        ValueError: malformed IDX files.
    """
    if spec in HUB:
        local = DEBIAN.get(spec)
        if local is not None and local.is_dir():
            train, test = read_split(local, "train"), read_split(local, "test")
            source = str(local)
        else:
            (train, test), source = _from_hub(spec), f"hub:{HUB[spec]}"
    else:
        folder = Path(spec)
        if not folder.is_dir():
            raise FileNotFoundError(
                f"data {spec!r} is neither fashion-mnist, mnist nor a folder of IDX files"
            )
        train, test = read_split(folder, "train"), read_split(folder, "test")
        source = str(folder.resolve())
    if train[0].shape[1:] != test[0].shape[1:]:
        raise ValueError(f"{spec}: train and test images differ in size")
    train, valid = _split_valid(train)
    return ImageData(spec if spec in HUB else folder.name, source, train, valid, test)


def to_unit(x: Tensor) -> Tensor:
    """uint8 (B, H, W) pixels -> float (B, 1, H, W) in [0, 1]."""
    return x.unsqueeze(1).float().div_(255)
