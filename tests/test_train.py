import os
import signal

import pytest
import torch

from poetvae.core import checkpoint
from poetvae.core.objectives import Output
from poetvae.core.train import TrainConfig, TrainingDiverged, batch_indices, fit, get_lr
from poetvae.text.model import PoetVAE, PoetVAEConfig
from poetvae.text.vocab import Vocab

CPU = torch.device("cpu")


def tiny_model():
    torch.manual_seed(0)
    vocab = Vocab.train(["春眠不觉晓处处闻啼鸟", "夜来风雨声花落知多少"])
    return PoetVAE(
        PoetVAEConfig.preset("tiny", vocab_size=len(vocab), n_lines=2, dropout=0.1), vocab
    )


def data(n=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.randint(2, 20, (n, 10), generator=g),)


CFG = TrainConfig(max_steps=12, batch_size=16, warmup_steps=3, eval_every=4, kl_warmup_steps=6)


class Killed(Exception):
    pass


def kill_at(step):
    def on_eval(at, metrics):
        if at == step:  # before step `step` is checkpointed: the run resumes from the one before
            raise Killed

    return on_eval


def interrupt_at(step):
    def on_eval(at, metrics):
        if at == step:
            os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C: finish the step, save, stop

    return on_eval


@pytest.mark.parametrize("stop", ["kill", "ctrl-c"])
def test_resume_reproduces_the_uninterrupted_run(tmp_path, stop):
    full = tiny_model()
    fit(full, data(), data(32, 1), CFG, tmp_path / "full", CPU, meta=full.meta())

    first = tiny_model()
    if stop == "kill":
        with pytest.raises(Killed):
            fit(
                first,
                data(),
                data(32, 1),
                CFG,
                tmp_path / "cut",
                CPU,
                meta=first.meta(),
                on_eval=kill_at(8),
            )
        assert checkpoint.read_meta(tmp_path / "cut")["step"] == 4
    else:
        result = fit(
            first,
            data(),
            data(32, 1),
            CFG,
            tmp_path / "cut",
            CPU,
            meta=first.meta(),
            on_eval=interrupt_at(4),
        )
        assert result["stopped_early"] and result["step"] == 4
    resumed = tiny_model()  # fresh weights: everything must come from the checkpoint
    result = fit(
        resumed,
        data(),
        data(32, 1),
        CFG,
        tmp_path / "cut",
        CPU,
        meta=resumed.meta(),
        resume=True,
    )
    assert result["step"] == 12
    for a, b in zip(full.state_dict().values(), resumed.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def test_training_lowers_the_validation_loss(tmp_path):
    model = tiny_model()
    cfg = TrainConfig(max_steps=60, batch_size=16, warmup_steps=5, eval_every=60, lr=1e-2)
    before = model(data(32, 1), beta=1.0).loss.item()
    result = fit(model, data(), data(32, 1), cfg, tmp_path, CPU, meta=model.meta())
    assert result["valid"]["loss"] < before


class Exploding(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.ones(1))
        self.calls = 0

    def forward(self, batch, beta=1.0):
        self.calls += 1
        loss = self.w.sum() * (float("nan") if self.calls > 5 else 1.0)
        return Output(loss, {})


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path):
    model = Exploding()
    cfg = TrainConfig(max_steps=20, batch_size=8, eval_every=2, warmup_steps=1)
    with pytest.raises(TrainingDiverged, match="step 5"):
        fit(model, data(), None, cfg, tmp_path, CPU, meta={"model_type": "x"})
    assert checkpoint.read_meta(tmp_path)["step"] == 4


def test_batches_cover_each_epoch_once_and_ranks_split_them():
    cfg = TrainConfig(batch_size=4)
    epoch = torch.cat([batch_indices(16, s, cfg) for s in range(4)])
    assert sorted(epoch.tolist()) == list(range(16))
    assert not torch.equal(batch_indices(16, 0, cfg), batch_indices(16, 4, cfg))  # reshuffled
    ranks = [batch_indices(16, 0, cfg, rank=r, world=2) for r in range(2)]
    assert len(set(torch.cat(ranks).tolist())) == 8


def test_the_budget_is_epochs_or_steps_and_fit_turns_epochs_into_steps(tmp_path):
    with pytest.raises(ValueError, match="not both"):
        TrainConfig(epochs=1, max_steps=2)
    with pytest.raises(ValueError, match="epochs"):
        TrainConfig(epochs=0)
    assert TrainConfig(max_steps=7).resolve(64).max_steps == 7
    assert TrainConfig(epochs=1.5, batch_size=16).resolve(64).max_steps == 6  # 4 steps an epoch
    assert TrainConfig(epochs=1, batch_size=16).resolve(64, world=2).max_steps == 2
    assert TrainConfig(batch_size=16).resolve(64).max_steps == 40  # 10 epochs by default
    model = tiny_model()
    cfg = TrainConfig(epochs=0.5, batch_size=16, warmup_steps=1)
    assert fit(model, data(), None, cfg, tmp_path, CPU, meta=model.meta())["step"] == 2
    assert checkpoint.read_meta(tmp_path)["train"]["max_steps"] == 2


def test_lr_warms_up_then_decays():
    cfg = TrainConfig(max_steps=100, warmup_steps=10, lr=1.0, min_lr_ratio=0.1)
    assert get_lr(0, cfg) == pytest.approx(0.1)
    assert get_lr(9, cfg) == pytest.approx(1.0)
    assert get_lr(100, cfg) == pytest.approx(0.1)


def test_sigkill_at_random_moments_then_resume_equals_the_uninterrupted_run(tmp_path, poem_file):
    """A real `poetvae train` process, SIGKILLed several times (during checkpoint writes too) and
    resumed each time, ends with the weights of a run that was never interrupted."""
    import random
    import subprocess
    import sys
    import time
    from pathlib import Path

    from safetensors.torch import load_file

    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(root)}
    steps = 200
    args = [sys.executable, "-m", "poetvae", "train", "--corpus", str(poem_file), "--preset"]
    args += ["tiny", "--max-steps", str(steps), "--eval-every", "2", "--batch-size", "16"]
    args += ["--device", "cpu", "--quiet"]
    subprocess.run([*args, "--out", tmp_path / "full"], env=env, check=True, capture_output=True)

    cut, rng = tmp_path / "cut", random.Random(0)
    kills, torn_writes = 0, 0

    def write_in_progress():  # the temp folder of a checkpoint write (one left by a kill too)
        try:
            info = (cut / checkpoint.TMP).stat()
            return info.st_ino, info.st_ctime_ns
        except FileNotFoundError:
            return None

    for attempt in range(6):
        saved = (cut / checkpoint.CKPT).exists() or (cut / checkpoint.OLD).exists()
        proc = subprocess.Popen(
            [*args, "--out", cut, *(["--resume"] if saved else [])],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        before = checkpoint.read_meta(cut)["step"] if saved else 0
        left_over = write_in_progress()
        while proc.poll() is None:
            if attempt % 2 == 0:  # during a checkpoint write of this process, at a random point
                if write_in_progress() not in (None, left_over):
                    time.sleep(rng.uniform(0, 0.01))
                    break
                time.sleep(0.0005)
            else:  # at a random moment after this process saved at least once
                try:
                    if checkpoint.read_meta(cut)["step"] > before:
                        time.sleep(rng.uniform(0, 0.1))
                        break
                except (checkpoint.CheckpointError, KeyError, OSError):
                    pass  # read during a swap
                time.sleep(0.005)
        if proc.poll() is not None:
            break  # finished before the kill
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        kills += 1
        torn_writes += write_in_progress() not in (None, left_over)
    resumed = subprocess.run([*args, "--out", cut, "--resume"], env=env, capture_output=True)
    assert resumed.returncode == 0, resumed.stderr
    assert kills >= 4 and torn_writes >= 1, (kills, torn_writes)
    assert checkpoint.read_meta(cut)["step"] == steps
    full = load_file(str(tmp_path / "full" / checkpoint.CKPT / checkpoint.WEIGHTS))
    ended = load_file(str(cut / checkpoint.CKPT / checkpoint.WEIGHTS))
    assert full.keys() == ended.keys()
    assert all(torch.equal(full[k], ended[k]) for k in full)
