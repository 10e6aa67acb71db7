"""torchrun with 2 CPU processes (gloo): text training under DistributedDataParallel."""

from poetvae.core import checkpoint
from poetvae.text.model import load

from .conftest import torchrun


def test_two_process_text_training_writes_one_checkpoint(tmp_path, poem_file):
    out = tmp_path / "run"
    tiny = "--preset tiny --max-steps 4 --eval-every 2 --batch-size 8 --device cpu --quiet"
    result = torchrun("poetvae", "train", "--corpus", poem_file, "--out", out, *tiny.split())
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stderr.count("done at step") == 1, result.stderr  # rank 0 alone reports
    assert checkpoint.read_meta(out)["step"] == 4
    assert sorted(p.name for p in out.iterdir()) == ["checkpoint", "metrics.jsonl"]
    assert len((out / "metrics.jsonl").read_text().splitlines()) == 2  # rank 0 alone writes
    load(out)
