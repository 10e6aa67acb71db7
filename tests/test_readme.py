"""README stays true: its test command is CI's, and every `poetvae` command in it parses."""

import re
import shlex
import warnings
from pathlib import Path

import click
import pytest

from poetvae.cli import main

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"```sh\n(.*?)```", README, re.S)
COMMANDS = [
    line.split("  #")[0].strip()
    for block in BLOCKS
    for line in block.splitlines()
    if line.strip().startswith("poetvae ")
]


def test_ci_runs_the_readme_test_command():
    test_block = BLOCKS[-1].strip()  # the block under "## Test"
    assert test_block.endswith("&& python -m pytest -q") and '".[test,web]"' in test_block
    ci = (ROOT / ".ci" / "run").read_text()
    assert test_block == ci.strip().splitlines()[-1]  # one self-sufficient command, CI's own
    assert "pip install" in BLOCKS[0] and "torch==2.13.0" in BLOCKS[0]


def parse(args: list[str]) -> click.Command:
    """Resolve and parse a command line without running it (types, choices, required)."""
    command, name = main, "poetvae"
    while isinstance(command, click.Group):
        ctx = command.make_context(name, args)
        with warnings.catch_warnings():  # click 8.2+ deprecates protected_args for 9.0
            warnings.simplefilter("ignore", DeprecationWarning)
            rest = [*getattr(ctx, "protected_args", []), *ctx.args]
        name, command, args = command.resolve_command(ctx, rest)
    command.make_context(name, args)
    return command


@pytest.mark.parametrize("line", COMMANDS)
def test_every_documented_command_parses(line):
    parse(shlex.split(line)[1:])


def test_commands_were_found():
    assert any(c.startswith("poetvae generate --acrostic") for c in COMMANDS)
    assert any(c.startswith("poetvae train") for c in COMMANDS)
