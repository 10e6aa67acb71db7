"""Regenerate the README's example outputs from their commands.

An example is either

- a fenced block (three backticks, no language) of lines ``$ poetvae ...`` or ``$ curl ...``,
  each followed by what it prints: a `poetvae` command runs through click's CliRunner (stdout
  and stderr, as a terminal shows them), a `curl` one is sent to the studio's JSON API (the
  bundled models) through Starlette's TestClient and answered with the response body; or
- a ``python`` block followed, after one blank line, by a plain block of what it prints.

``python scripts/update_readme.py`` rewrites every output in place (after the bundled models
change, say); ``--check`` only reports the examples whose output drifted (exit status 1).
tests/test_readme.py runs the same check.

Usage::

    python scripts/update_readme.py [--check] [--readme README.md]
"""

import argparse
import contextlib
import functools
import io
import re
import shlex
import sys
import urllib.parse
from collections.abc import Callable
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
COMMANDS = re.compile(r"^```\n(\$ .*?)^```$", re.S | re.M)  # a block of $ lines and outputs
PYTHON = re.compile(r"^```python\n(.*?)^```\n\n```\n(.*?)^```$", re.S | re.M)


def run(line: str) -> str:
    """What `$ line` prints (`poetvae ...` or `curl ...`), ending in a newline."""
    args = shlex.split(line)
    if args[0] == "poetvae":
        from click.testing import CliRunner

        from poetvae.cli import main

        result = CliRunner().invoke(main, args[1:])
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise RuntimeError(f"{line}: {result.exception!r}")
        return result.output
    if args[0] == "curl":
        return _curl(args[1:]) + "\n"  # curl adds no newline; the next prompt would
    raise ValueError(f"not a poetvae or curl command: {line}")


@functools.cache
def _client():
    from starlette.testclient import TestClient

    from poetvae.web.app import create_app

    return TestClient(create_app())


def _curl(args: list[str]) -> str:
    """The body curl prints for the options the README uses: -X, -d, -G, --data-urlencode."""
    method, body, query, url, words = None, None, [], None, iter(args)
    data = []  # -d values: the body, or with -G more of the query, as curl sends them
    for word in words:
        if word == "-X":
            method = next(words)
        elif word == "-d":
            body = next(words)
            data.append(body)
        elif word == "--data-urlencode":
            query.append(tuple(next(words).split("=", 1)))
        elif word == "-G":
            method = "GET"
        else:
            url = word
    path = "/" + url.split("/", 1)[1]
    if method == "GET" or body is None:
        query += [pair for d in data for pair in urllib.parse.parse_qsl(d)]
        return _client().get(path, params=query).text
    return _client().request(method or "POST", path, content=body.encode()).text


def run_python(code: str) -> str:
    """What a README Python example prints."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "README.md", "exec"), {"__name__": "readme"})
    return out.getvalue()


def examples(text: str) -> list[tuple[str, str, Callable[[str], str]]]:
    """(command or code, its output in the README, the function that runs it), in order."""
    found = []
    for block in COMMANDS.finditer(text):
        parts = re.split(r"^\$ (.*)\n", block.group(1), flags=re.M)[1:]  # command, output, ...
        found += [(c, shown, run) for c, shown in zip(parts[0::2], parts[1::2], strict=True)]
    found += [(m.group(1), m.group(2), run_python) for m in PYTHON.finditer(text)]
    return found


def update(text: str) -> str:
    """The README with every example's output replaced by what its command prints now."""

    def commands(block: re.Match) -> str:
        lines = re.findall(r"^\$ (.*)$", block.group(1), flags=re.M)
        return "```\n" + "".join(f"$ {line}\n{run(line)}" for line in lines) + "```"

    def python(block: re.Match) -> str:
        code = block.group(1)
        return f"```python\n{code}```\n\n```\n{run_python(code)}```"

    return PYTHON.sub(python, COMMANDS.sub(commands, text))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readme", type=Path, default=REPO_ROOT / "README.md")
    parser.add_argument("--check", action="store_true", help="report drift, change nothing")
    args = parser.parse_args(argv)
    text = args.readme.read_text(encoding="utf-8")
    if args.check:
        drifted = [source for source, shown, runs in examples(text) if runs(source) != shown]
        for command in drifted:
            print(f"drifted: {command.splitlines()[0]}", file=sys.stderr)
        return 1 if drifted else 0
    new = update(text)
    args.readme.write_text(new, encoding="utf-8")
    print(f"{len(examples(new))} examples regenerated in {args.readme}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
