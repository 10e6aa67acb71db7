"""`torchrun --nproc_per_node 2` on `poetvae image train`: DDP on CPU with the gloo backend."""

import pytest
import torch

from poetvae.core import checkpoint
from poetvae.image.models import load
from tests.conftest import torchrun
from tests.image_data import idx_folder

torch.set_num_threads(1)


@pytest.mark.parametrize("kind", ["vae", "vqvae"])
def test_two_process_training_writes_one_loadable_checkpoint(tmp_path, kind):
    data, out = idx_folder(tmp_path / "idx"), tmp_path / "run"
    tiny = "--max-steps 6 --eval-every 3 --batch-size 8 --preset tiny --device cpu --quiet"
    args = ["train", "--model", kind, "--data", data, "--out", out, *tiny.split()]
    done = torchrun("poetvae.image.cli", *args, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stderr.count("done at step") == 1, done.stderr  # rank 0 alone reports
    assert sorted(p.name for p in out.iterdir()) == [checkpoint.CKPT, "metrics.jsonl"]
    lines = (out / "metrics.jsonl").read_text().splitlines()
    assert len(lines) == 2  # steps 3 and 6, written by rank 0 only
    assert checkpoint.read_meta(out)["step"] == 6
    model = load(out)
    assert model.cfg.model == kind and checkpoint.load_trainer_state(out)["step"] == 6
