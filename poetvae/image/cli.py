"""`poetvae image ...`: train, sample, reconstruct and evaluate the image models.

Only click is imported at module level; torch and the models load inside each command.
"""

import json
from pathlib import Path

import click

from .. import options
from ..options import one_line_errors, resolve_device


@click.group()
def image():
    """Image AE / VAE / CVAE / VQ-VAE on MNIST-format data."""


@image.command()
@click.option(
    "--model",
    "kind",
    required=True,
    type=click.Choice(["ae", "vae", "conv-vae", "cvae", "vqvae"]),
    help="ae (baseline), vae (MLP 784-400-Z), conv-vae, cvae (label-conditioned), "
    "vqvae (codes + a learned prior, trained jointly).",
)
@click.option(
    "--data",
    required=True,
    metavar="fashion-mnist|mnist|DIR",
    help="A named data set (Debian's package or the Hugging Face hub) or an IDX folder.",
)
@click.option(
    "--latent-dim",
    type=click.IntRange(min=1),
    default=None,
    help="Latent size Z (Gaussian models) [default: 20].",
)
@click.option(
    "--likelihood",
    type=click.Choice(["bernoulli", "gaussian"]),
    default=None,
    help="Pixel likelihood [default: bernoulli, i.e. BCE on [0, 1] pixels].",
)
@click.option("--binarize", is_flag=True, help="Dynamic binarization of the pixels.")
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    default=None,
    help="Run directory [default: runs/image-<model>].",
)
@click.option(
    "--limit", type=click.IntRange(min=1), default=None, help="Use only the first N train images."
)
@options.training
@options.model_config(
    "poetvae.image.models:ImageConfig",
    {
        "tiny": "a few units per layer and a 16-code codebook, for tests",
        "base": "the sizes of the README's measurements (e.g. a 784-400-20 MLP VAE)",
    },
)
@one_line_errors
def train(
    kind,
    data,
    latent_dim,
    likelihood,
    binarize,
    out,
    limit,
    train_cfg,
    progress,
    device,
    preset,
    overrides,
    resume,
):
    """Train an image model; losses are in nats per image.

    Validates each epoch, writes atomic checkpoints into --out, and on Ctrl-C saves and exits;
    --resume continues exactly. Under `torchrun --nproc_per_node N` it trains with DDP.
    """
    from .data import load_images
    from .train import check_run_dir
    from .train import train as train_image

    dev = resolve_device(device)
    flags = [f"latent_dim={latent_dim}"] if latent_dim is not None else []
    flags += [f"likelihood={likelihood}"] if likelihood is not None else []
    flags += ["binarize=true"] if binarize else []
    if resume and (flags or overrides):
        raise click.UsageError("--resume keeps the run's model config; drop the model options")
    out = out or str(Path("runs") / f"image-{kind}")
    check_run_dir(out, kind, resume)
    loaded = load_images(data)
    options.say(loaded.summary())
    result = train_image(
        loaded,
        kind,
        out,
        train_cfg,
        dev,
        preset,
        tuple(flags) + tuple(overrides),
        resume=resume,
        progress=progress,
        limit=limit,
        data_ref=data,
    )
    options.say_trained(result)


checkpoint_option = click.option(
    "--checkpoint",
    required=True,
    type=click.Path(),
    help="Run directory or checkpoint folder of an image model.",
)
png_out = click.option(
    "--out", required=True, type=click.Path(dir_okay=False), help="PNG file to write (atomically)."
)


@image.command()
@checkpoint_option
@click.option(
    "-n",
    "n",
    type=click.IntRange(min=1, max=4096),
    default=64,
    show_default=True,
    help="Number of images (cvae without --label: n // classes per label row).",
)
@click.option(
    "--label", type=click.IntRange(min=0), default=None, help="Class to draw (cvae only)."
)
@click.option(
    "--manifold",
    is_flag=True,
    help="2-D latent: decode a grid over the latent plane instead of random z.",
)
@options.seed
@options.device
@png_out
@one_line_errors
def sample(checkpoint, n, label, manifold, seed, device, out):
    """Draw new images from the prior into a PNG grid.

    For a cvae without --label, rows are the labels 0-9 and columns different z.
    """
    from ..core.device import seed_everything
    from .grid import sample_figure, save_grid
    from .models import load

    model = load(checkpoint, resolve_device(device))
    if seed is not None:
        seed_everything(seed)
    images, n_cols = sample_figure(model, n, label, manifold)
    save_grid(images, out, n_cols)
    click.echo(f"wrote {len(images)} images to {out}", err=True)


def _test_split(checkpoint, data, limit):
    from .data import load_images
    from .models import data_spec

    spec = data or data_spec(checkpoint)
    if spec is None:
        raise click.UsageError("the checkpoint does not record its data: pass --data")
    loaded = load_images(spec)
    x, y = loaded.test
    return (x[:limit], y[:limit]) if limit else (x, y)


data_option = click.option(
    "--data",
    default=None,
    metavar="fashion-mnist|mnist|DIR",
    help="Data set to use [default: the one the checkpoint was trained on].",
)


@image.command()
@checkpoint_option
@data_option
@click.option(
    "-n",
    "n",
    type=click.IntRange(min=1, max=1024),
    default=16,
    show_default=True,
    help="Test images to reconstruct.",
)
@options.seed
@options.device
@png_out
@one_line_errors
def reconstruct(checkpoint, data, n, seed, device, out):
    """Test images (top rows) above their reconstructions (bottom rows), as a PNG."""
    import torch

    from ..core.device import seed_everything
    from .data import to_unit
    from .grid import save_grid
    from .models import load, reconstruct

    dev = resolve_device(device)
    model = load(checkpoint, dev)
    x, y = _test_split(checkpoint, data, n)
    if (model.cfg.height, model.cfg.width) != tuple(x.shape[1:]):
        raise click.ClickException(
            f"the data are {tuple(x.shape[1:])} images, the model expects "
            f"{model.cfg.height}x{model.cfg.width}"
        )
    seed_everything(0 if seed is None else seed)
    x, y = x.to(dev), y.to(dev)
    recon = reconstruct(model, x, y)
    n_cols = min(len(x), 8)
    pairs = zip(to_unit(x).cpu().split(n_cols), recon.cpu().split(n_cols), strict=True)
    images = torch.cat([torch.cat([a, b]) for a, b in pairs])  # input row, then its reconstruction
    save_grid(images, out, n_cols)
    click.echo(f"wrote {len(x)} inputs and reconstructions to {out}", err=True)


@image.command("eval")
@checkpoint_option
@data_option
@click.option(
    "--iw-samples",
    type=click.IntRange(min=0, max=options.MAX_IW_SAMPLES),
    default=100,
    show_default=True,
    help="k for the IWAE bound on the test NLL (VAE/CVAE; 0 = skip).",
)
@click.option(
    "--limit", type=click.IntRange(min=1), default=None, help="Use only the first N test images."
)
@click.option(
    "--batch-size",
    type=click.IntRange(min=1, max=options.MAX_BATCH),
    default=500,
    show_default=True,
    help="Test images scored at once (memory vs speed).",
)
@options.proposal_steps
@options.seed_for("posterior samples")
@options.output_format
@options.device
@one_line_errors
def evaluate(checkpoint, data, iw_samples, limit, batch_size, proposal_steps, seed, fmt, device):
    """Test-set ELBO, IWAE NLL (k stated), KL and active units; VQ-VAE: reconstruction error,
    code perplexity and usage. All NLLs are in nats per image.
    """
    from .evaluate import evaluate as run_eval
    from .models import load

    dev = resolve_device(device)
    model = load(checkpoint, dev)
    test = _test_split(checkpoint, data, limit)
    metrics = run_eval(model, test, dev, iw_samples, batch_size, seed, proposal_steps)
    if fmt == "json":
        click.echo(json.dumps(metrics, indent=1))
        return
    for key, value in metrics.items():
        click.echo(f"{key:14} {value:.4f}" if isinstance(value, float) else f"{key:14} {value}")


if __name__ == "__main__":  # `python -m poetvae.image.cli`, e.g. under torchrun
    image()
