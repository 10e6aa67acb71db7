"""The `poetvae` command line: a thin click shell over the library.

Heavy imports (torch, datasets) happen inside commands, so `poetvae --help` is instant and
`generate` never imports `datasets`. Library errors become one line on stderr and exit 1.
"""

import functools
import json
import sys
from pathlib import Path

import click

from . import options

DEFAULT_TEMPERATURE = 0.8
DEFAULT_TOP_P = 0.9


def bundled_model() -> Path:
    """The pretrained default model shipped as package data."""
    from importlib import resources

    return Path(str(resources.files("poetvae").joinpath("assets")))


def one_line_errors(f):
    """Turn the library's expected failures into a click error: one line, non-zero exit."""

    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        from .core.checkpoint import CheckpointError

        try:
            return f(*args, **kwargs)
        except click.ClickException:
            raise
        except (CheckpointError, ValueError, OSError, RuntimeError) as e:
            raise click.ClickException(str(e).strip().splitlines()[0] if str(e) else repr(e)) from None

    return wrapper


def _device(name: str):
    from .core.device import pick_device

    try:
        return pick_device(name)
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--device") from None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="poetvae")
def main():
    """poetvae: variational autoencoders that write classical Chinese poems (and images)."""


@main.command()
@click.option("--corpus", required=True, metavar="NAME|PATH",
              help="A shipped corpus (see `poetvae corpus list`), a .txt/.json/.jsonl file "
                   "with one poem per line, or a hub data set name (owner/name).")
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Run directory for checkpoints and metrics [default: runs/<corpus>].")
@options.apply(*options.epochs_or_steps)
@options.batch_size
@options.lr
@options.device
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for init and batch order.")
@click.option("--preset", type=click.Choice(["tiny", "base"]), default="base", show_default=True,
              help="Model size for a new run.")
@options.overrides
@click.option("--beta", type=click.FloatRange(min=0), default=1.0, show_default=True,
              help="KL weight (1 = the true ELBO).")
@click.option("--kl-warmup", type=click.IntRange(min=0), default=0, show_default=True,
              help="Steps over which the KL weight rises linearly from 0 to --beta.")
@click.option("--eval-every", type=click.IntRange(min=0), default=0, show_default=True,
              help="Validate and checkpoint every N steps (0 = once per epoch).")
@options.resume
@click.option("--quiet", is_flag=True, help="No progress bar.")
@one_line_errors
def train(corpus, out, epochs, max_steps, batch_size, lr, device, seed, preset, overrides, beta,
          kl_warmup, eval_every, resume, quiet):
    """Train the poetry VAE on a corpus.

    Shows loss / recon / KL and poems per second, validates each epoch, writes an atomic
    checkpoint (safetensors weights + config.json + vocabulary) into --out, and on Ctrl-C saves
    and exits; --resume continues exactly where it stopped. Under `torchrun --nproc_per_node N`
    it trains with DistributedDataParallel.
    """
    if epochs is not None and max_steps is not None:
        raise click.UsageError("give --epochs or --max-steps, not both")
    from .core.train import TrainConfig
    from .text.corpus import load_corpus
    from .text.train import train as train_text

    dev = _device(device)
    loaded = load_corpus(corpus)
    click.echo(loaded.summary(), err=True)
    cfg = TrainConfig(max_steps=max_steps or 1, batch_size=batch_size, lr=lr, seed=seed, beta=beta,
                      kl_warmup_steps=kl_warmup, eval_every=eval_every)
    out = out or str(Path("runs") / Path(loaded.name).stem)
    result = train_text(loaded, out, cfg, dev, preset, overrides,
                        epochs=None if max_steps else (epochs or 10), resume=resume,
                        progress=not quiet)
    valid = " ".join(f"{k}={v:.4g}" for k, v in result["valid"].items())
    click.echo(f"{'stopped' if result['stopped_early'] else 'done'} at step {result['step']}: "
               f"{valid} -> {result['out']}", err=True)


@main.command()
@click.option("--checkpoint", type=click.Path(), default=None,
              help="Run directory or checkpoint folder [default: the bundled model].")
@click.option("-n", "n", type=int, default=5, show_default=True, help="Number of poems.")
@options.seed
@click.option("--temperature", type=float, default=DEFAULT_TEMPERATURE, show_default=True,
              help="0 = argmax decoding; higher = more adventurous sampling.")
@click.option("--top-p", type=float, default=DEFAULT_TOP_P, show_default=True,
              help="Sample only from the characters holding this much probability (1 = all).")
@click.option("--allow-repeats", is_flag=True, help="Allow a character twice in one line.")
@options.output_format
@options.device
@one_line_errors
def generate(checkpoint, n, seed, temperature, top_p, allow_repeats, fmt, device):
    """Write new poems by sampling the latent prior z ~ N(0, I)."""
    if n <= 0:
        raise click.BadParameter("must be a positive number of poems", param_hint="-n")
    if temperature < 0:
        raise click.BadParameter("must be >= 0", param_hint="--temperature")
    if not 0 < top_p <= 1:
        raise click.BadParameter("must be in (0, 1]", param_hint="--top-p")
    from .text.corpus import format_poem
    from .text.generate import generate as sample
    from .text.model import load

    model = load(checkpoint or bundled_model(), _device(device))
    poems = sample(model, n, temperature, top_p, not allow_repeats, seed)
    if fmt == "json":
        rows = [{"poem": format_poem(p), "lines": p} for p in poems]
        click.echo(json.dumps(rows, ensure_ascii=False, indent=1))
        return
    for i, lines in enumerate(poems):
        text = format_poem(lines)
        cut = [text[j : j + len(lines[0]) + 1] for j in range(0, len(text), len(lines[0]) + 1)]
        click.echo(("\n" if i else "") + "\n".join(cut))


@main.group()
def corpus():
    """The shipped poem corpora."""


@corpus.command("list")
def corpus_list():
    """Name, form and split sizes of each shipped corpus."""
    from .text.corpus import shipped

    for name, meta in shipped()["corpora"].items():
        sizes = " ".join(f"{k}={v}" for k, v in meta["splits"].items())
        click.echo(f"{name:22} {meta['n_lines']} lines x {meta['chars_per_line']} chars  {sizes}")


@corpus.command("show")
@click.argument("name")
@click.option("-n", "n", type=click.IntRange(min=0), default=5, show_default=True,
              help="Examples to print.")
@one_line_errors
def corpus_show(name, n):
    """Form, sizes and example poems of a corpus (a shipped name or a file)."""
    from .text.corpus import chunk, format_poem, load_corpus

    loaded = load_corpus(name)
    click.echo(loaded.summary())
    for poem in loaded.splits["train"][:n]:
        click.echo("  " + format_poem(chunk(poem, loaded.form)))
    for example in loaded.skipped_examples:
        click.echo(f"  skipped, e.g.: {example}")


if __name__ == "__main__":
    sys.exit(main())
