import json

import pytest
import torch
from click.testing import CliRunner
from PIL import Image

from poetvae.core import checkpoint
from poetvae.image.cli import image
from tests.image_data import SIDE, idx_folder

torch.set_num_threads(1)
TINY = ["--preset", "tiny", "--device", "cpu", "--quiet", "--batch-size", "16"]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return idx_folder(tmp_path_factory.mktemp("idx") / "tiny")


def run(*args):
    result = CliRunner().invoke(image, [str(a) for a in args])
    return result


def train(kind, data, steps, out, *extra):
    """`poetvae image train` of a tiny model for `steps` steps."""
    args = ["--model", kind, "--data", data, "--max-steps", steps, "--out", out]
    return run("train", *args, *extra, *TINY)


def one_line_error(result, code=1):
    assert result.exit_code == code, result.output
    lines = [line for line in result.output.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error:"), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    return lines[0]


@pytest.fixture(scope="module")
def runs(data_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    out = {}
    for kind in ("ae", "vae", "conv-vae", "cvae", "vqvae"):
        result = train(kind, data_dir, 6, root / kind)
        assert result.exit_code == 0, result.output
        out[kind] = root / kind
    return out


@pytest.mark.parametrize("kind", ["ae", "vae", "conv-vae", "cvae", "vqvae"])
def test_train_sample_reconstruct_eval(runs, tmp_path, kind):
    meta = checkpoint.read_meta(runs[kind])
    assert meta["model_type"] == f"image-{kind}" and meta["step"] == 6 and meta["data"]

    result = run(
        "sample", "--checkpoint", runs[kind], "-n", 20, "--seed", 0, "--out", tmp_path / "s.png"
    )
    assert result.exit_code == 0, result.output
    with Image.open(tmp_path / "s.png") as png:
        assert png.format == "PNG" and png.mode == "L"
        cols = 2 if kind == "cvae" else 4  # cvae: 10 label rows x (20 // 10) columns
        assert png.size == (cols * (SIDE + 2) + 2, (20 // cols) * (SIDE + 2) + 2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.png"]  # no temp file left

    result = run("reconstruct", "--checkpoint", runs[kind], "-n", 8, "--out", tmp_path / "r.png")
    assert result.exit_code == 0, result.output
    with Image.open(tmp_path / "r.png") as png:
        assert png.size == (8 * (SIDE + 2) + 2, 2 * (SIDE + 2) + 2)  # inputs row, recon row

    result = run(
        "eval", "--checkpoint", runs[kind], "--iw-samples", 5, "--format", "json", "--device", "cpu"
    )
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.stdout)
    assert metrics["units"] == "nats per image" and metrics["n_images"] == 40
    if kind in ("vae", "conv-vae", "cvae"):
        assert metrics["iw_samples"] == 5 and metrics["nll_iwae"] <= metrics["nll_elbo"] + 1.0
        assert 0 <= metrics["active_units"] <= metrics["latent_dim"]
        fitted = run(
            "eval", "--checkpoint", runs[kind], "--iw-samples", 5, "--proposal-steps", 5,
            "--format", "json", "--device", "cpu",
        )  # fmt: skip
        assert json.loads(fitted.stdout)["proposal_steps"] == 5
    if kind == "vqvae":
        assert 1 <= metrics["perplexity"] <= metrics["codes_used"] <= metrics["codebook_size"]
        assert metrics["nll_bound"] > metrics["recon"] > 0


def test_resume_continues_the_run(data_dir, tmp_path):
    out = tmp_path / "run"
    assert train("vae", data_dir, 4, out).exit_code == 0
    again = train("vae", data_dir, 4, out)
    assert "already holds a run" in one_line_error(again)
    resumed = train("vae", data_dir, 8, out, "--resume")
    assert resumed.exit_code == 0, resumed.output
    assert checkpoint.read_meta(out)["step"] == 8
    other = train("cvae", data_dir, 9, out, "--resume")
    assert "holds a vae run" in one_line_error(other)


def test_manifold_grid_of_a_2d_latent(data_dir, runs, tmp_path):
    out = tmp_path / "run"
    assert train("vae", data_dir, 2, out, "--latent-dim", 2).exit_code == 0
    sample = run("sample", "--checkpoint", out, "--manifold", "-n", 25, "--out", tmp_path / "m.png")
    assert sample.exit_code == 0
    with Image.open(tmp_path / "m.png") as png:
        assert png.size == (5 * (SIDE + 2) + 2,) * 2
    bad = run("sample", "--checkpoint", runs["vae"], "--manifold", "--out", tmp_path / "x.png")
    assert "2-D" in one_line_error(bad) and not (tmp_path / "x.png").exists()


def test_bad_inputs_give_one_line_and_write_nothing(data_dir, runs, tmp_path):
    missing = run(
        "train", "--model", "vae", "--data", tmp_path / "nowhere", "--out", tmp_path / "o", *TINY
    )
    assert "neither fashion-mnist" in one_line_error(missing)
    assert not (tmp_path / "o").exists()

    unknown = run("train", "--model", "gan", "--data", data_dir, "--out", tmp_path / "o")
    assert unknown.exit_code == 2 and "gan" in unknown.output and not (tmp_path / "o").exists()

    label = run("sample", "--checkpoint", runs["cvae"], "--label", 10, "--out", tmp_path / "l.png")
    assert "out of range" in one_line_error(label)
    label = run("sample", "--checkpoint", runs["vae"], "--label", 3, "--out", tmp_path / "l.png")
    assert "needs a cvae" in one_line_error(label)

    text_ckpt = tmp_path / "text"
    checkpoint.save(text_ckpt, torch.nn.Linear(1, 1), {"model_type": "poetvae", "model": {}})
    for cmd in ("sample", "reconstruct", "eval"):
        args = [cmd, "--checkpoint", text_ckpt] + (
            ["--out", tmp_path / "t.png"] if cmd != "eval" else []
        )
        assert "not a poetvae image model" in one_line_error(run(*args))
    assert "does not exist" in one_line_error(run("eval", "--checkpoint", tmp_path / "none"))

    not_png = run("sample", "--checkpoint", runs["vae"], "--out", tmp_path / "s.jpg")
    assert ".png" in one_line_error(not_png)
    no_dir = run("sample", "--checkpoint", runs["vae"], "--out", tmp_path / "no" / "s.png")
    assert "does not exist" in one_line_error(no_dir)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["text"]  # no PNG, no temp file


def test_text_commands_reject_an_image_checkpoint(runs):
    from poetvae.cli import main

    result = CliRunner().invoke(main, ["generate", "--checkpoint", str(runs["vae"])])
    assert result.exit_code == 1 and "image-vae" in result.output
    assert len(result.output.strip().splitlines()) == 1
