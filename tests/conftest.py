"""Shared fixtures: one torch thread, tiny models, small poem files."""

import contextlib
import gzip
import os
import subprocess
import sys
import threading
import time
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
    train(str(poem_file), out, cfg, pick_device("cpu"), preset="tiny")
    return out


@pytest.fixture(scope="session")
def tiny_keywords_run(tmp_path_factory, tiny_run, poem_file):
    """A conditional tiny model (keywords=4) warm-started from `tiny_run`, its corpus's keywords
    extracted on the fly."""
    from poetvae.core.device import pick_device
    from poetvae.core.train import TrainConfig
    from poetvae.text.train import train

    out = tmp_path_factory.mktemp("runs") / "tiny-keywords"
    cfg = TrainConfig(max_steps=20, batch_size=32, warmup_steps=2, eval_every=0)
    train(
        str(poem_file), out, cfg, pick_device("cpu"), overrides=("keywords=4",), init_from=tiny_run
    )
    return out


@pytest.fixture(scope="session")
def tiny_tempered_run(tmp_path_factory, tiny_run):
    """`tiny_run` exported by scripts/export_model.py with decoding settings of its own:
    temperature 1.5, presence 2."""
    out = tmp_path_factory.mktemp("runs") / "tiny-tempered"
    script = os.path.join(os.path.dirname(__file__), "..", "scripts", "export_model.py")
    cmd = [
        sys.executable,
        script,
        str(tiny_run),
        str(out),
        "--temperature",
        "1.5",
        "--presence",
        "2",
    ]
    subprocess.run(cmd, check=True, capture_output=True)
    return out


def _tiny_shipped_run(tmp_path_factory, corpus: str, name: str):
    """A tiny model trained as `tiny_run` is, on the first 300 poems of a shipped corpus."""
    from poetvae.core.device import pick_device
    from poetvae.core.train import TrainConfig
    from poetvae.text.train import train

    path = tmp_path_factory.mktemp("corpus") / f"{name}.txt"
    path.write_text("\n".join(shipped_poems(corpus)) + "\n", encoding="utf-8")
    out = tmp_path_factory.mktemp("runs") / f"tiny-{name}"
    cfg = TrainConfig(max_steps=30, batch_size=32, warmup_steps=5, eval_every=15)
    train(str(path), out, cfg, pick_device("cpu"), preset="tiny")
    return out


@pytest.fixture(scope="session")
def tiny_qiyan_run(tmp_path_factory):
    """A tiny seven-character-quatrain (七言) model."""
    return _tiny_shipped_run(tmp_path_factory, "tang-qiyan-quatrain", "qiyan")


@pytest.fixture(scope="session")
def tiny_wulu_run(tmp_path_factory):
    """A tiny eight-line (五言律诗) model."""
    return _tiny_shipped_run(tmp_path_factory, "tang-wuyan-lushi", "wulu")


@contextlib.contextmanager
def serving(app):
    """Run an ASGI app with uvicorn on a free loopback port in a thread; yields its base URL."""
    import uvicorn

    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def studio(tiny_run, tiny_qiyan_run):
    """The studio (`poetvae serve`) over tiny wuyan and qiyan models: its base URL."""
    pytest.importorskip("starlette")
    pytest.importorskip("uvicorn")
    from poetvae.web.app import create_app

    with serving(create_app({"wuyan": tiny_run, "qiyan": tiny_qiyan_run})) as url:
        yield url


@pytest.fixture(scope="session")
def heads(tiny_run, tiny_qiyan_run) -> str:
    """Four acrostic characters that both tiny models know."""
    from poetvae.text.model import load

    qiyan = load(tiny_qiyan_run).vocab
    chars = [c for c in load(tiny_run).vocab.itos[2:] if len(c) == 1 and c in qiyan]
    return "".join(chars[:4])


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
    )
    return out
