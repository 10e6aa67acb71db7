"""Shared fixtures: one torch thread, tiny models, small poem files."""

import gzip
import os
import subprocess
import sys
from importlib import resources

import pytest
import torch

torch.set_num_threads(1)


def torchrun(module: str, *args, timeout: int = 300) -> subprocess.CompletedProcess:
    """`torchrun --standalone --nproc_per_node 2 -m module args`: 2 CPU processes, 1 thread each."""
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.getcwd()}
    cmd += ["-m", module, *(str(a) for a in args)]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)


def shipped_poems(
    name: str = "tang-wuyan-quatrain", split: str = "train", n: int = 300
) -> list[str]:
    """The first n poems of a shipped corpus split, read without `datasets`."""
    path = resources.files("poetvae.corpora").joinpath(name, f"{split}.txt.gz")
    with gzip.open(str(path), "rt", encoding="utf-8") as f:
        return [line.strip() for _, line in zip(range(n), f, strict=False)]


@pytest.fixture(scope="session")
def poem_file(tmp_path_factory):
    """A user corpus: 300 real quatrains, one per line, plus two lines of another form."""
    path = tmp_path_factory.mktemp("corpus") / "poems.txt"
    lines = shipped_poems() + ["白日依山尽，黄河入海流。", "not a poem at all"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory, poem_file):
    """A PoetVAE run directory trained for a few steps through the CLI's library function."""
    from poetvae.core.device import pick_device
    from poetvae.core.train import TrainConfig
    from poetvae.text.train import train

    out = tmp_path_factory.mktemp("runs") / "tiny"
    cfg = TrainConfig(max_steps=30, batch_size=32, warmup_steps=5, eval_every=15)
    train(str(poem_file), out, cfg, pick_device("cpu"), preset="tiny", progress=False)
    return out


@pytest.fixture(scope="session")
def tiny_mask_predict_run(tmp_path_factory, poem_file, tiny_run):
    """The tiny parallel run continued for a few steps as a mask-predict model (init_from)."""
    return _continued(tmp_path_factory, poem_file, tiny_run, "mask-predict")


@pytest.fixture(scope="session")
def tiny_causal_run(tmp_path_factory, poem_file, tiny_run):
    """The tiny parallel run continued for a few steps with a causal decoder."""
    return _continued(tmp_path_factory, poem_file, tiny_run, "causal")


def _continued(tmp_path_factory, poem_file, start, decoder):
    from poetvae.core.device import pick_device
    from poetvae.core.train import TrainConfig
    from poetvae.text.train import train

    out = tmp_path_factory.mktemp("runs") / decoder
    cfg = TrainConfig(max_steps=20, batch_size=32, warmup_steps=5, eval_every=20)
    overrides = (f"decoder={decoder}",)
    train(
        str(poem_file),
        out,
        cfg,
        pick_device("cpu"),
        overrides=overrides,
        init_from=start,
        progress=False,
    )
    return out
