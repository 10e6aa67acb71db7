"""Benchmark image training speed: seconds per epoch, images/s and peak memory, as JSON on stdout.

For each model, one epoch of `poetvae.core.train.fit` (the product path: uint8 data kept whole on
the device, batches as index slices, one checkpoint at the end of the epoch). For the MLP VAE also
two baselines with the same model, data, batch size and optimizer:

- "plain-slicing": a hand-written loop over an in-memory float tensor with randperm slices, the
  fastest simple implementation (the target: fit must be no slower);
- "dataloader": the common tutorial style, a per-item Dataset with a ToTensor-like transform on
  each PIL image and a shuffling DataLoader (the target: fit at least 3x faster on CPU).

Usage:
    python scripts/bench_image.py --devices cpu --models vae --limit 20000 > bench.json
"""

import argparse
import json
import os
import platform
import resource
import sys
import tempfile
import time

import torch

from poetvae.core.device import pick_device
from poetvae.core.train import TrainConfig, fit
from poetvae.image.data import load_images
from poetvae.image.models import KINDS, ImageConfig, build

BATCH = 128


def peak_memory_mb(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # process peak so far


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def fresh(kind: str, data, device: torch.device):
    torch.manual_seed(0)
    h, w = data.shape
    return build(ImageConfig(model=kind, height=h, width=w, n_classes=data.n_classes)).to(device)


def bench_fit(kind: str, train: tuple, data, device: torch.device) -> dict:
    n = len(train[0])
    steps = n // BATCH
    with tempfile.TemporaryDirectory() as tmp:
        warm = fresh(kind, data, device)  # compile kernels / allocator once, untimed
        fit(
            warm,
            train,
            None,
            TrainConfig(max_steps=10, batch_size=BATCH),
            f"{tmp}/w",
            device,
        )
        model = fresh(kind, data, device)
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        sync(device)
        start = time.perf_counter()
        fit(
            model,
            train,
            None,
            TrainConfig(max_steps=steps, batch_size=BATCH),
            f"{tmp}/r",
            device,
            meta=model.meta(),
        )
        sync(device)
        seconds = time.perf_counter() - start
    return result(kind, "fit", seconds, steps * BATCH, n, device)


def bench_plain(train: tuple, data, device: torch.device) -> dict:
    """The same MLP VAE trained by a bare loop over an in-memory float tensor."""
    model = fresh("vae", data, device)
    x = train[0].to(device).float().div(255).unsqueeze(1)  # (N, 1, H, W) floats, kept whole
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3)
    n = len(x)
    steps = n // BATCH

    def run(n_steps: int) -> None:
        perm = torch.randperm(n, device=device)
        for i in range(n_steps):
            xb = x[perm[i * BATCH : (i + 1) * BATCH]]
            mu, logvar = model.encode(xb)
            z = mu + torch.randn_like(mu) * (0.5 * logvar).exp()
            recon = torch.nn.functional.binary_cross_entropy_with_logits(
                model.decode(z), xb, reduction="sum"
            ) / len(xb)
            kl = 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum() / len(xb)
            opt.zero_grad(set_to_none=True)
            (recon + kl).backward()
            opt.step()

    run(10)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    sync(device)
    start = time.perf_counter()
    run(steps)
    sync(device)
    return result("vae", "plain-slicing", time.perf_counter() - start, steps * BATCH, n, device)


def bench_dataloader(train: tuple, data, device: torch.device) -> dict:
    """The same MLP VAE fed the tutorial way: per-item PIL -> tensor transform + DataLoader."""
    import numpy as np
    from PIL import Image
    from torch.utils.data import DataLoader, Dataset

    class Items(Dataset):
        def __init__(self, images, labels):
            self.images, self.labels = images.numpy(), labels.numpy()

        def __len__(self):
            return len(self.images)

        def __getitem__(self, i):
            img = Image.fromarray(self.images[i], mode=None)  # as torchvision's MNIST does
            x = torch.from_numpy(np.asarray(img, dtype=np.float32) / 255).unsqueeze(0)  # ToTensor
            return x, int(self.labels[i])

    model = fresh("vae", data, device)
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3)
    loader = DataLoader(Items(*train), batch_size=BATCH, shuffle=True, drop_last=True)

    def run(limit: int | None) -> int:
        seen = 0
        for i, (xb, _) in enumerate(loader):
            if limit is not None and i >= limit:
                break
            xb = xb.to(device)
            mu, logvar = model.encode(xb)
            z = mu + torch.randn_like(mu) * (0.5 * logvar).exp()
            recon = torch.nn.functional.binary_cross_entropy_with_logits(
                model.decode(z), xb, reduction="sum"
            ) / len(xb)
            kl = 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum() / len(xb)
            opt.zero_grad(set_to_none=True)
            (recon + kl).backward()
            opt.step()
            seen += len(xb)
        return seen

    run(10)
    sync(device)
    start = time.perf_counter()
    seen = run(None)
    sync(device)
    return result("vae", "dataloader", time.perf_counter() - start, seen, len(train[0]), device)


def result(kind, impl, seconds, images, n, device) -> dict:
    return {
        "model": kind,
        "impl": impl,
        "device": str(device),
        "images": images,
        "seconds": round(seconds, 4),
        "images_per_s": round(images / seconds, 1),
        "seconds_per_epoch": round(seconds * n / images, 4),
        "peak_memory_mb": round(peak_memory_mb(device), 1),
    }


def machine(device_names: list[str]) -> dict:
    info = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "platform": platform.platform(),
        "cpu": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "load_avg_1m": round(os.getloadavg()[0], 2),
    }
    if "cuda" in device_names and torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    return info


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="fashion-mnist")
    ap.add_argument("--models", default=",".join(KINDS), help="comma-separated kinds")
    ap.add_argument("--devices", default="cpu,cuda", help="cuda is skipped when absent")
    ap.add_argument("--limit", type=int, default=None, help="train on the first N images only")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads (0 = torch default)")
    ap.add_argument("--no-baselines", action="store_true")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    data = load_images(args.data)
    # the full official train split (train + held-out valid): a 60k-image epoch for Fashion-MNIST
    train = tuple(torch.cat([a, b]) for a, b in zip(data.train, data.valid, strict=True))
    if args.limit:
        train = tuple(t[: args.limit] for t in train)
    names = [d for d in args.devices.split(",") if d != "cuda" or torch.cuda.is_available()]
    rows = []
    for name in names:
        device = pick_device(name)
        for kind in args.models.split(","):
            rows.append(bench_fit(kind, train, data, device))
            print(json.dumps(rows[-1]), file=sys.stderr)
            if kind == "vae" and not args.no_baselines:
                for bench in (bench_plain, bench_dataloader):
                    rows.append(bench(train, data, device))
                    print(json.dumps(rows[-1]), file=sys.stderr)
    print(
        json.dumps(
            {
                "machine": machine(names),
                "data": data.summary(),
                "batch_size": BATCH,
                "train_images": len(train[0]),
                "results": rows,
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
