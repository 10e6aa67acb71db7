"""Click options shared by several commands, defined once."""

import click

device = click.option(
    "--device",
    default="auto",
    show_default=True,
    help="auto (CUDA when present, else CPU), cpu, cuda or cuda:N.",
)
seed = click.option("--seed", type=int, default=None, help="Random seed; same seed, same output.")
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
epochs_or_steps = [
    click.option(
        "--epochs",
        type=click.FloatRange(min=0, min_open=True),
        default=None,
        help="Passes over the train split (default 10 unless --max-steps is given).",
    ),
    click.option(
        "--max-steps",
        type=click.IntRange(min=1),
        default=None,
        help="Optimizer steps to train for (instead of --epochs).",
    ),
]
batch_size = click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    default=128,
    show_default=True,
    help="Items per optimizer step (per process under torchrun).",
)
lr = click.option(
    "--lr",
    type=click.FloatRange(min=0, min_open=True),
    default=2e-3,
    show_default=True,
    help="Peak learning rate (AdamW, warmup then cosine).",
)


def apply(*decorators):
    """Stack several option decorators as one."""

    def wrap(f):
        for d in reversed(decorators):
            f = d(f)
        return f

    return wrap
