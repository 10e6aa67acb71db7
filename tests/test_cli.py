"""Every text command through click's CliRunner: the happy path and each bad input."""

import json

import click
import pytest
from click.testing import CliRunner

from poetvae.cli import main
from poetvae.core import checkpoint


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def assert_one_line_error(result):
    assert result.exit_code != 0
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    assert "Error:" in result.output


def test_train_then_generate_then_resume(tmp_path, poem_file):
    out = tmp_path / "run"
    result = run(
        "train",
        "--corpus",
        poem_file,
        "--out",
        out,
        "--preset",
        "tiny",
        "--max-steps",
        6,
        "--batch-size",
        16,
        "--device",
        "cpu",
        "--quiet",
    )
    assert result.exit_code == 0, result.output
    assert checkpoint.read_meta(out)["step"] == 6
    assert "skipped 2 poems" in result.output

    result = run("generate", "--checkpoint", out, "-n", 3, "--seed", 1, "--format", "json")
    assert result.exit_code == 0, result.output
    poems = json.loads(result.output)
    assert len(poems) == 3 and all(len(p["lines"]) == 4 for p in poems)
    assert poems[0]["poem"].endswith("。") and "，" in poems[0]["poem"]

    text = run("generate", "--checkpoint", out, "-n", 3, "--seed", 1).output
    assert (
        text.count("\n\n") == 2
        and text == run("generate", "--checkpoint", out, "-n", 3, "--seed", 1).output
    )

    result = run(
        "train",
        "--corpus",
        poem_file,
        "--out",
        out,
        "--max-steps",
        9,
        "--batch-size",
        16,
        "--resume",
        "--quiet",
    )
    assert result.exit_code == 0, result.output
    assert checkpoint.read_meta(out)["step"] == 9


def test_generate_uses_the_bundled_model_by_default():
    result = run("generate", "-n", 2, "--seed", 0)
    assert result.exit_code == 0, result.output
    poems = result.output.strip().split("\n\n")
    assert len(poems) == 2
    for poem in poems:
        lines = poem.split("\n")
        assert len(lines) == 4 and all(len(line) == 6 for line in lines)  # 5 chars + ，/。


@pytest.mark.parametrize(
    "args",
    [
        ["train", "--corpus", "no-such-corpus"],
        ["train", "--corpus", "{empty}"],
        ["train", "--corpus", "{poems}", "--device", "tpu"],
        ["train", "--corpus", "{poems}", "--epochs", "1", "--max-steps", "2"],
        ["train", "--corpus", "{poems}", "--out", "{run}"],  # holds a run: needs --resume
        ["train", "--corpus", "{poems}", "--out", "{tmp}/fresh", "--resume"],
        ["train", "--corpus", "{poems}", "--set", "latent_dim=many"],
        ["generate", "--checkpoint", "{tmp}/nowhere"],
        ["generate", "--checkpoint", "{run}", "-n", "0"],
        ["generate", "--checkpoint", "{run}", "-n", "-3"],
        ["generate", "--checkpoint", "{run}", "--temperature", "-1"],
        ["generate", "--checkpoint", "{run}", "--device", "cuda"],
        ["generate", "--checkpoint", "{corrupt}"],
        ["corpus", "show", "no-such-corpus"],
    ],
)
def test_bad_input_is_one_line_and_nonzero(args, tmp_path, poem_file, tiny_run):
    corrupt = tmp_path / "corrupt"
    ckpt = checkpoint.resolve(tiny_run)
    corrupt.mkdir()
    for f in ckpt.iterdir():
        (corrupt / f.name).write_bytes(f.read_bytes())
    (corrupt / checkpoint.WEIGHTS).write_bytes(b"\0" * 100)
    (tmp_path / "empty.txt").write_text("")
    subs = {
        "{empty}": str(tmp_path / "empty.txt"),
        "{poems}": str(poem_file),
        "{run}": str(tiny_run),
        "{corrupt}": str(corrupt),
        "{tmp}": str(tmp_path),
    }
    for key, value in subs.items():
        args = [a.replace(key, value) for a in args]
    before = sorted(p.name for p in ckpt.iterdir())
    result = run(*args)
    assert_one_line_error(result)
    assert sorted(p.name for p in ckpt.iterdir()) == before  # nothing overwritten


def test_corpus_list_and_show():
    listing = run("corpus", "list")
    assert listing.exit_code == 0
    assert "tang-wuyan-quatrain" in listing.output and "4 lines x 5 chars" in listing.output
    show = run("corpus", "show", "tang-wuyan-couplet", "-n", 2)
    assert show.exit_code == 0, show.output
    assert show.output.count("。") >= 2


def all_commands(group=main, path=()):
    yield path, group
    for name, command in getattr(group, "commands", {}).items():
        yield from all_commands(command, (*path, name))


@pytest.mark.parametrize(
    "path,command", list(all_commands()), ids=lambda v: " ".join(v) if isinstance(v, tuple) else ""
)
def test_every_command_explains_every_option(path, command):
    assert command.help, f"{path} has no help text"
    for param in command.params:
        if isinstance(param, click.Option):
            assert param.help, f"{path} {param.opts} has no help"
    result = run(*path, "--help")
    assert result.exit_code == 0
