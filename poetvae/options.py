"""What every command shares, defined once: option decorators, the one number type (finite, in
range), upper bounds on counts, device resolution and one-line errors.

Only click is imported at module level, so `poetvae --help` stays instant.
"""

import functools
import math
import sys

import click

# Upper bounds of counts whose cost grows without limit; each is named in its option's error.
MAX_RERANK = 100  # candidates decoded and scored per poem
MAX_STEPS_ALONG_PATH = 1000  # interpolate --steps
MAX_IW_SAMPLES = 10_000  # importance samples per item
MAX_PRIOR_SAMPLES = 100_000  # eval --samples, held in memory for the statistics
MAX_BATCH = 65_536
MAX_PROPOSAL_STEPS = 10_000  # eval --proposal-steps


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


class Seed(click.types.IntParamType):
    """Any integer torch.manual_seed takes (-2**63 to 2**64 - 1), without that range in --help."""

    def convert(self, value, param, ctx):
        number = super().convert(value, param, ctx)
        if not -(2**63) <= number < 2**64:
            self.fail(f"{number} is not a 64-bit seed (-2**63 to 2**64 - 1)", param, ctx)
        return number


class LazyHelpOption(click.Option):
    """An option whose help ends with text computed when --help is shown (`more`: a function),
    so that a table that needs torch to read is read only then."""

    def __init__(self, *args, more, **kwargs):
        super().__init__(*args, **kwargs)
        self.more = more

    def get_help_record(self, ctx):
        self.help = f"{self.help} {self.more()}"
        self.more = lambda: ""  # once per process is enough
        return super().get_help_record(ctx)


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
    "--seed", type=Seed(), default=None, help="Random seed; same seed, same output."
)


def seed_for(what: str):
    """--seed with default 0, for commands that are reproducible by default."""
    return click.option(
        "--seed", type=Seed(), default=0, show_default=True, help=f"Seed for {what}."
    )


proposal_steps = click.option(
    "--proposal-steps",
    type=click.IntRange(min=0, max=MAX_PROPOSAL_STEPS),
    default=0,
    show_default=True,
    help="Fit each item's IWAE proposal for N Adam steps on its ELBO, from the encoder's "
    "(a tighter bound on the same model; 0 = the encoder's).",
)
output_format = click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Readable text or JSON.",
)
resume = click.option(
    "--resume",
    is_flag=True,
    help="Continue the run in --out from its last checkpoint, with its model config, corpus "
    "and training options (one given again changes it, e.g. a larger --max-steps).",
)


def apply(*decorators):
    """Stack several option decorators as one."""

    def wrap(f):
        for d in reversed(decorators):
            f = d(f)
        return f

    return wrap


_training = apply(
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
    click.option(
        "--train-only",
        metavar="MODULE",
        default="",
        help="Train only this submodule's parameters, the others frozen, e.g. --train-only "
        "refiner after --set refiner_layers=2 (a resumed run needs the same).",
    ),
    resume,
    click.option("--quiet", is_flag=True, help="No progress bar."),
)


BUDGET = {"epochs", "max_steps"}
# the optimisation options -> their TrainConfig fields
TRAIN_FIELDS = {
    "epochs": "epochs",
    "max_steps": "max_steps",
    "batch_size": "batch_size",
    "lr": "lr",
    "warmup_steps": "warmup_steps",
    "seed": "seed",
    "beta": "beta",
    "kl_warmup": "kl_warmup_steps",
    "eval_every": "eval_every",
    "train_only": "train_only",
}


def training(command):
    """The options every `train` command shares. The optimisation options reach the command as
    one TrainConfig, `train_cfg`, and --quiet as `progress` (a bar maker, or None); --device,
    --preset, --set and --resume come as they are.

    With --resume, an optimisation option not given on the command line keeps the run's own
    value (its step budget, learning rate, schedule, seed, ...), so `--out RUN --resume` alone
    finishes the run as it was started; one given changes it (e.g. a larger --max-steps).
    """

    @functools.wraps(command)
    def with_config(*args, quiet, **kwargs):
        from .core.train import TrainConfig

        fields = {TRAIN_FIELDS[name]: kwargs.pop(name) for name in TRAIN_FIELDS}
        if kwargs.get("resume") and kwargs.get("out"):
            ctx = click.get_current_context()
            default = click.core.ParameterSource.DEFAULT
            given = {
                f for name, f in TRAIN_FIELDS.items() if ctx.get_parameter_source(name) != default
            }
            if given & BUDGET:  # a budget given replaces the run's whole budget
                given |= BUDGET
            recorded = _recorded_training(kwargs["out"])
            fields.update({k: v for k, v in recorded.items() if k not in given})
        try:
            cfg = TrainConfig(**fields)
        except (TypeError, ValueError) as e:  # e.g. both --epochs and --max-steps
            raise click.UsageError(str(e)) from None
        return command(*args, train_cfg=cfg, progress=None if quiet else progress_bar, **kwargs)

    return _training(with_config)


def _recorded_training(out) -> dict:
    """The TrainConfig fields that the run in `out` recorded; {} where it has none (the command
    then says what is wrong)."""
    import dataclasses

    from .core.checkpoint import CheckpointError, read_meta
    from .core.train import TrainConfig

    try:
        recorded = read_meta(out).get("train", {})
    except (CheckpointError, OSError):
        return {}
    known = {f.name for f in dataclasses.fields(TrainConfig)}
    return {k: v for k, v in recorded.items() if k in known} if isinstance(recorded, dict) else {}


def progress_bar(total: int, initial: int):
    """The training bar, on stderr (tqdm is imported here: the core imports only torch)."""
    from tqdm import tqdm

    return tqdm(total=total, initial=initial, dynamic_ncols=True, unit="step", file=sys.stderr)


def model_config(config: str, presets: dict[str, str], note: str = ""):
    """--preset and --set for a model config class.

    Args:
        config: "module:Class" of the frozen config dataclass (imported only when --help shows
            its fields, so that `--help` needs no torch).
        presets: preset name -> what it is, for --help.
        note: what --help should say about some of the keys.
    """

    def fields() -> str:
        import importlib

        from .core.config import settable

        module, name = config.split(":")
        cls = getattr(importlib.import_module(module), name)
        return "Keys (base values): " + ", ".join(f"{k}={v}" for k, v in settable(cls).items())

    return apply(
        click.option(
            "--preset",
            type=click.Choice(list(presets)),
            default="base",
            show_default=True,
            help="Model size for a new run: "
            + "; ".join(f"{k} = {v}" for k, v in presets.items())
            + ".",
        ),
        click.option(
            "--set",
            "overrides",
            multiple=True,
            metavar="KEY=VALUE",
            cls=LazyHelpOption,
            more=fields,
            help=f"Change one field of the preset, e.g. --set latent_dim=32 (repeatable). {note}",
        ),
    )


def say(text: str) -> None:
    """A progress line on stderr, from the main process only (one line per run under torchrun)."""
    from .core.device import dist_info  # torch stays off the import path of --help

    if dist_info().is_main:
        click.echo(text, err=True)


def say_trained(result: dict) -> None:
    """The closing line of a training command: where it stopped and its last validation."""
    if result["step"] == result["start"]:
        say(
            f"nothing to train: {result['out']} is already at step {result['step']}, the end of "
            "its step budget (give a larger --max-steps or --epochs to train on)"
        )
        return
    valid = " ".join(f"{k}={v:.4g}" for k, v in result["valid"].items())
    ending = "stopped" if result["stopped_early"] else "done"
    say(f"{ending} at step {result['step']}: {valid} -> {result['out']}")


def check_passes(passes: int | None, seq_len: int) -> None:
    """--passes against the loaded model: a pass redraws at least one of its characters."""
    if passes is not None and passes > seq_len:
        raise click.BadParameter(
            f"{passes} is more than the model's {seq_len} characters (one pass redraws at "
            "least one)",
            param_hint="'--passes'",
        )
