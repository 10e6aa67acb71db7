"""The `poetvae` command: the root click group, adding each package's commands.

The command modules import only click at module level (torch and `datasets` load inside each
command), so `poetvae --help` is instant.
"""

import click

from .image.cli import image
from .text.cli import COMMANDS


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="poetvae")
def main():
    """poetvae: variational autoencoders that write classical Chinese poems (and images)."""


for command in (*COMMANDS, image):
    main.add_command(command)
