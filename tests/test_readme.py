"""README stays true: its test command is CI's, every `poetvae` command in it parses, and every
example output is what its command prints now (`python scripts/update_readme.py` rewrites them)."""

import importlib.util
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


def _update_readme():
    """scripts/update_readme.py as a module (scripts/ is not a package)."""
    path = ROOT / "scripts" / "update_readme.py"
    spec = importlib.util.spec_from_file_location("update_readme", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


UPDATE = _update_readme()
EXAMPLES = UPDATE.examples(README)


@pytest.mark.parametrize(
    "source, shown, runs", EXAMPLES, ids=[e[0].splitlines()[0][:60] for e in EXAMPLES]
)
def test_every_example_output_is_what_its_command_prints(source, shown, runs):
    assert runs(source) == shown, "run `python scripts/update_readme.py` and review the diff"


def test_update_readme_rewrites_a_drifted_block_in_place():
    line = "poetvae generate --tones strict -n 1 --seed 3"
    stale = f"Before.\n\n```\n$ {line}\nan old poem\n```\n\nAfter.\n"
    assert UPDATE.update(stale) == f"Before.\n\n```\n$ {line}\n{UPDATE.run(line)}```\n\nAfter.\n"


def test_the_examples_cover_every_kind_of_command():
    sources = [e[0] for e in EXAMPLES]
    for start in (
        "poetvae generate --acrostic",
        "poetvae generate --pattern",
        "poetvae reconstruct",
    ):
        assert any(s.startswith(start) for s in sources), start
    assert any("--tones strict" in s for s in sources) and any("--rerank" in s for s in sources)
    assert any(s.startswith("poetvae interpolate") for s in sources)
    assert sum(s.startswith("curl") for s in sources) >= 2
    python = [s for s in sources if "load_poet" in s]
    assert len(python) == 1 and len(python[0].splitlines()) <= 5
    assert 'load_poet("wuyan")' in python[0]


def test_the_studio_section_gives_the_clone_install_and_the_tab_links():
    assert 'pip install ".[web]"' in README
    assert "/reconstruct?poem=" in README and "/interpolate?a=" in README
