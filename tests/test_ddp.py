"""torchrun with 2 CPU processes (gloo): text training under DistributedDataParallel."""

import os
import subprocess
import sys

from poetvae.core import checkpoint
from poetvae.text.model import load


def test_two_process_text_training_writes_one_checkpoint(tmp_path, poem_file):
    out = tmp_path / "run"
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        "2",
        "-m",
        "poetvae",
        "train",
        "--corpus",
        str(poem_file),
        "--out",
        str(out),
        "--preset",
        "tiny",
        "--max-steps",
        "4",
        "--eval-every",
        "2",
        "--batch-size",
        "8",
        "--device",
        "cpu",
        "--quiet",
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stderr.count("done at step") == 1, result.stderr  # rank 0 alone reports
    assert checkpoint.read_meta(out)["step"] == 4
    assert sorted(p.name for p in out.iterdir()) == ["checkpoint", "metrics.jsonl"]
    assert len((out / "metrics.jsonl").read_text().splitlines()) == 2  # rank 0 alone writes
    load(out)
