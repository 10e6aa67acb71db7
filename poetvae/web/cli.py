"""`poetvae serve`. Imports only click at the top: the web framework, torch and the models load
when the command runs, so `poetvae --help` and `poetvae generate` never import them."""

from pathlib import Path

import click

from .. import options
from .limits import Limits

DEFAULTS = Limits()


def _checkpoints(ctx, param, values: tuple[str, ...]) -> dict[str, Path]:
    from ..text.forms import FORMS  # no torch there

    out = {}
    for item in values:
        form, sep, path = item.partition("=")
        if not sep or form not in FORMS or not path:
            raise click.BadParameter(f"expected FORM=DIR with FORM one of {', '.join(FORMS)}")
        out[form] = Path(path)
    return out


@click.command()
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on; the default is this machine only (0.0.0.0 opens it to others).",
)
@click.option(
    "--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="TCP port."
)
@click.option(
    "--checkpoint",
    "checkpoints",
    multiple=True,
    metavar="FORM=DIR",
    callback=_checkpoints,
    help="The model of a form, e.g. qiyan=runs/qiyan (repeatable) [default: the bundled ones].",
)
@click.option(
    "--max-poems",
    type=click.IntRange(min=1),
    default=DEFAULTS.max_poems,
    show_default=True,
    help="The most poems one request may ask for.",
)
@click.option(
    "--timeout",
    type=options.Number(min=0, max=3600, min_open=True),
    default=DEFAULTS.timeout,
    show_default=True,
    help="Seconds within which a request is answered, or refused with 503.",
)
@options.device
def serve(host, port, checkpoints, max_poems, timeout, device):
    """Serve the poetry studio: a page that writes poems to order, and its JSON API.

    Needs the web extra: pip install "poetvae[web]". Open http://127.0.0.1:8000/ ; the page's
    URL carries the options under the names of `poetvae generate`, e.g.
    /?acrostic=春夏秋冬&seed=1&n=4&tones=strict.
    """
    for path in checkpoints.values():
        if not path.exists():  # checked here, not while parsing, so a documented line parses
            raise click.BadParameter(f"{path} does not exist", param_hint="--checkpoint")
    try:
        import uvicorn

        from .app import create_app
    except ImportError as e:
        raise click.ClickException(
            f'poetvae serve needs the web extra: pip install "poetvae[web]" ({e.name} is missing)'
        ) from None
    limits = Limits(max_poems=max_poems, timeout=timeout)
    app = create_app(checkpoints, limits, device)
    click.echo(f"poetvae studio on http://{host}:{port}/ (Ctrl-C stops it)", err=True)
    uvicorn.run(app, host=host, port=port, limit_concurrency=4 * limits.max_pending)
