"""The `poetvae` command: the root click group, adding each package's commands.

The command modules import only click at module level (torch and `datasets` load inside each
command), so `poetvae --help` is instant.
"""

from contextlib import contextmanager

import click

from .image.cli import image
from .text.cli import COMMANDS
from .web.cli import serve  # imports only click; the web extra loads when serve runs

_BREAKS = "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"  # what str.splitlines splits on


def _one_line(text: str) -> str:
    # a value typed with a line break (an argument '\n' or '\f') must not break the error line
    return "".join(c.encode("unicode_escape").decode() if c in _BREAKS else c for c in text)


@contextmanager
def _one_line_errors():
    """Every error in one line: a usage error gives its message and where help is."""
    try:
        yield
    except click.exceptions.NoArgsIsHelpError:
        raise  # a bare group prints its help
    except click.UsageError as e:
        if e.ctx is None:
            raise
        message = _one_line(e.format_message().rstrip("."))
        raise click.UsageError(f"{message} (see '{e.ctx.command_path} --help')") from None
    except click.ClickException as e:
        e.message = _one_line(e.message.strip())
        raise


class Root(click.Group):
    """The root group; its errors, and those of every command under it, are one line."""

    def make_context(self, *args, **kwargs):
        with _one_line_errors():
            return super().make_context(*args, **kwargs)

    def invoke(self, ctx):
        with _one_line_errors():
            return super().invoke(ctx)


@click.group(cls=Root, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="poetvae")
def main():
    """poetvae: variational autoencoders that write classical Chinese poems (and images)."""


for command in (*COMMANDS, image, serve):
    main.add_command(command)
