"""`python -m poetvae` runs the CLI."""

from .cli import main

main()
