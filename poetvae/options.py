"""What every command shares, defined once: option decorators, the one number type (finite, in
range), upper bounds on counts, device resolution and one-line errors.

Only click is imported at module level, so `poetvae --help` stays instant.
"""

import functools
import math

import click

# Upper bounds of counts whose cost grows without limit; each is named in its option's error.
MAX_RERANK = 100  # candidates decoded and scored per poem
MAX_STEPS_ALONG_PATH = 1000  # interpolate --steps
MAX_IW_SAMPLES = 10_000  # importance samples per item
MAX_PRIOR_SAMPLES = 100_000  # eval --samples, held in memory for the statistics
MAX_BATCH = 65_536
SEED_RANGE = click.IntRange(-(2**63), 2**64 - 1)  # what torch.manual_seed takes


class Number(click.FloatRange):
    """A finite float in an optional range (click's FloatRange lets nan and inf through).

    The range shows in `--help`, and a value outside it fails with the range in the message.
    """

    name = "number"

    def convert(self, value, param, ctx):
        number = click.FLOAT.convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return super().convert(number, param, ctx)


def one_line_errors(f):
    """Turn the library's expected failures into a click error: one line, non-zero exit.

    A closed stdout (`| head`) is left to click, which ends quietly with exit status 1.
    """

    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        from .core.checkpoint import CheckpointError

        try:
            return f(*args, **kwargs)
        except (click.ClickException, BrokenPipeError):
            raise
        except (CheckpointError, ValueError, OSError, RuntimeError) as e:
            raise click.ClickException(
                str(e).strip().splitlines()[0] if str(e).strip() else repr(e)
            ) from None

    return wrapper


def resolve_device(name: str):
    """`--device NAME` -> torch.device, or a usage error naming the option."""
    from .core.device import pick_device

    try:
        return pick_device(name)
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--device") from None


device = click.option(
    "--device",
    default="auto",
    show_default=True,
    help="auto (CUDA when present, else CPU), cpu, cuda or cuda:N.",
)
seed = click.option(
    "--seed", type=SEED_RANGE, default=None, help="Random seed; same seed, same output."
)


def seed_for(what: str):
    """--seed with default 0, for commands that are reproducible by default."""
    return click.option(
        "--seed", type=SEED_RANGE, default=0, show_default=True, help=f"Seed for {what}."
    )


output_format = click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Readable text or JSON.",
)
overrides = click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override a model config field of the preset, e.g. --set latent_dim=32 (repeatable).",
)
resume = click.option(
    "--resume", is_flag=True, help="Continue the run in --out from its last checkpoint."
)


def apply(*decorators):
    """Stack several option decorators as one."""

    def wrap(f):
        for d in reversed(decorators):
            f = d(f)
        return f

    return wrap


training = apply(
    click.option(
        "--epochs",
        type=Number(min=0, max=100_000, min_open=True),
        default=None,
        help="Passes over the train split (default 10 unless --max-steps is given).",
    ),
    click.option(
        "--max-steps",
        type=click.IntRange(min=1, max=10**9),
        default=None,
        help="Optimizer steps to train for (instead of --epochs).",
    ),
    click.option(
        "--batch-size",
        type=click.IntRange(min=1, max=MAX_BATCH),
        default=128,
        show_default=True,
        help="Items per optimizer step (per process under torchrun).",
    ),
    click.option(
        "--lr",
        type=Number(min=0, max=10, min_open=True),
        default=2e-3,
        show_default=True,
        help="Peak learning rate (AdamW, warmup then cosine).",
    ),
    click.option(
        "--warmup-steps",
        type=click.IntRange(min=0, max=10**9),
        default=100,
        show_default=True,
        help="Steps of linear learning-rate warmup before the cosine decay.",
    ),
    device,
    seed_for("init and batch order"),
    click.option(
        "--preset",
        type=click.Choice(["tiny", "base"]),
        default="base",
        show_default=True,
        help="Model size for a new run.",
    ),
    overrides,
    click.option(
        "--beta",
        type=Number(min=0, max=1000),
        default=1.0,
        show_default=True,
        help="KL weight (1 = the true ELBO).",
    ),
    click.option(
        "--kl-warmup",
        type=click.IntRange(min=0, max=10**9),
        default=0,
        show_default=True,
        help="Steps over which the KL weight rises linearly from 0 to --beta.",
    ),
    click.option(
        "--eval-every",
        type=click.IntRange(min=0, max=10**9),
        default=0,
        show_default=True,
        help="Validate and checkpoint every N steps (0 = once per epoch).",
    ),
    resume,
    click.option("--quiet", is_flag=True, help="No progress bar."),
)
"""The options every `train` command shares, in one place."""


def say(text: str) -> None:
    """A progress line on stderr, from the main process only (one line per run under torchrun)."""
    from .core.device import dist_info  # torch stays off the import path of --help

    if dist_info().is_main:
        click.echo(text, err=True)


def train_config():
    """The TrainConfig that the `training` options of the running command ask for.

    max_steps stands in as 1 when --epochs is given: the trainer sets it from the corpus size.
    """
    from .core.train import TrainConfig

    p = click.get_current_context().params
    return TrainConfig(
        max_steps=p["max_steps"] or 1,
        batch_size=p["batch_size"],
        lr=p["lr"],
        warmup_steps=p["warmup_steps"],
        seed=p["seed"],
        beta=p["beta"],
        kl_warmup_steps=p["kl_warmup"],
        eval_every=p["eval_every"],
    )


def say_trained(result: dict) -> None:
    """The closing line of a training command: where it stopped and its last validation."""
    valid = " ".join(f"{k}={v:.4g}" for k, v in result["valid"].items())
    ending = "stopped" if result["stopped_early"] else "done"
    say(f"{ending} at step {result['step']}: {valid} -> {result['out']}")
