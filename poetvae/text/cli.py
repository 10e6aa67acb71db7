"""The text commands: `poetvae train`, `generate`, `reconstruct`, `interpolate`, `eval` and
`corpus`, added to the root group by poetvae.cli.

Heavy imports (torch, datasets) happen inside commands, so `poetvae --help` is instant and
`generate` never imports `datasets`. Library errors become one line on stderr and exit 1.
"""

import json
import math
import textwrap
from collections.abc import Iterable
from pathlib import Path

import click

from .. import options
from ..options import Number, one_line_errors, resolve_device
from . import decoding as dec
from .bundled import DEFAULT_FORM, FORMS


@click.command()
@click.option(
    "--corpus",
    required=True,
    metavar="NAME|PATH",
    help="A shipped corpus (see `poetvae corpus list`), a .txt/.json/.jsonl file "
    "with one poem per line, or a hub data set name (owner/name).",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    default=None,
    help="Run directory for checkpoints and metrics [default: runs/<corpus>].",
)
@click.option(
    "--init-from",
    type=click.Path(),
    default=None,
    metavar="CHECKPOINT",
    help="Start from this checkpoint's weights, config and vocabulary (a fresh optimizer); "
    "--set changes apply on top, e.g. --set decoder=mask-predict continues a parallel model "
    "with a draft path.",
)
@options.training
@one_line_errors
def train(
    corpus,
    out,
    init_from,
    epochs,
    max_steps,
    batch_size,
    lr,
    warmup_steps,
    device,
    seed,
    preset,
    overrides,
    beta,
    kl_warmup,
    eval_every,
    resume,
    quiet,
):
    """Train the poetry VAE on a corpus.

    Shows loss / recon / KL and poems per second, validates each epoch, writes an atomic
    checkpoint (safetensors weights + config.json + vocabulary) into --out, and on Ctrl-C saves
    and exits; --resume continues exactly where it stopped. Under `torchrun --nproc_per_node N`
    it trains with DistributedDataParallel.
    """
    if epochs is not None and max_steps is not None:
        raise click.UsageError("give --epochs or --max-steps, not both")
    if init_from and resume:
        raise click.UsageError("--init-from starts a new run; --resume continues one: not both")
    from ..core.checkpoint import check_run_dir
    from ..core.config import apply_overrides
    from .corpus import load_corpus
    from .model import PoetVAEConfig
    from .train import train as train_text

    dev = resolve_device(device)
    out = out or str(Path("runs") / Path(corpus).stem)  # the corpus's name is `corpus`
    check_run_dir(out, resume)
    apply_overrides(PoetVAEConfig.preset(preset), overrides)  # a bad --set fails before loading
    loaded = load_corpus(corpus)
    options.say(loaded.summary())
    cfg = options.train_config()
    result = train_text(
        loaded,
        out,
        cfg,
        dev,
        preset,
        overrides,
        epochs=None if max_steps else (epochs or 10),
        resume=resume,
        progress=not quiet,
        init_from=init_from,
    )
    options.say_trained(result)


model_options = options.apply(
    click.option(
        "--checkpoint",
        type=click.Path(),
        default=None,
        help="Run directory or checkpoint folder [default: the bundled model of --form].",
    ),
    click.option(
        "--form",
        type=click.Choice(list(FORMS)),
        default=None,
        help=f"Bundled model to use without --checkpoint: "
        f"{', '.join(f'{k} = {v}' for k, v in FORMS.items())} [default: {DEFAULT_FORM}]. "
        "A checkpoint has its own form, so --form with --checkpoint is a usage error.",
    ),
)
"""Which model a command loads: --checkpoint, or the bundled model of --form."""


DEFAULT = dec.Decoding()
decoding_options = options.apply(
    click.option(
        "--temperature",
        type=Number(min=0, max=dec.MAX_TEMPERATURE),
        default=DEFAULT.temperature,
        show_default=True,
        help="0 = argmax decoding; higher = more adventurous sampling.",
    ),
    click.option(
        "--top-p",
        type=Number(min=0, max=1, min_open=True),
        default=DEFAULT.top_p,
        show_default=True,
        help="Sample only from the characters holding this much probability (1 = all).",
    ),
    click.option("--allow-repeats", is_flag=True, help="Allow a character twice in one line."),
    click.option(
        "--rhyme/--no-rhyme",
        default=DEFAULT.rhyme,
        show_default=True,
        help="The ends of lines 2, 4, ... share a rhyme group (中华新韵), no character twice; "
        "--no-rhyme shows the model's own choices (--tones strict always rhymes).",
    ),
    click.option(
        "--passes",
        type=click.IntRange(min=1, max=dec.MAX_PASSES),
        default=DEFAULT.passes,
        help="Decoding passes of a mask-predict model: each re-masks its least confident "
        "characters and draws them again given the rest [default: the model's, "
        f"{dec.MASK_PREDICT_PASSES} for mask-predict, 1 otherwise].",
    ),
    click.option(
        "--refine",
        type=click.IntRange(min=0, max=dec.MAX_REFINE),
        default=DEFAULT.refine,
        show_default=True,
        help="Latent refinement rounds before decoding: z <- mu(decode(z)) (Shu et al. 2020).",
    ),
)
"""The options of `dec.Decoding`, with its defaults and ranges (generate and eval)."""


def _decoding(params: dict) -> dec.Decoding:
    """The Decoding that the values of `decoding_options` ask for."""
    return dec.Decoding(
        temperature=params["temperature"],
        top_p=params["top_p"],
        no_repeat=not params["allow_repeats"],
        rhyme=params["rhyme"],
        passes=params["passes"],
        refine=params["refine"],
    )


def _model_path(checkpoint: str | None, form: str | None) -> str | Path:
    """The run directory to load: --checkpoint, else the bundled model of --form."""
    from .bundled import bundled_model

    if checkpoint is not None and form is not None:
        raise click.UsageError(
            "--form picks a bundled model and --checkpoint has its own form: give one of them"
        )
    return checkpoint if checkpoint is not None else bundled_model(form or DEFAULT_FORM)


def _load(path, device):
    from .model import load

    return load(path, resolve_device(device))


def _echo_poems(poems: Iterable[list[str]], fmt: str, extra: list[dict] | None = None) -> None:
    """Print each poem as it comes: text, one JSON array (written element by element, the same
    text as json.dumps(rows, indent=1)) or JSON Lines."""
    from .corpus import format_poem

    i = -1
    for i, lines in enumerate(poems):
        if fmt == "text":
            marks = ["，" if j % 2 == 0 else "。" for j in range(len(lines))]
            poem = "\n".join(a + b for a, b in zip(lines, marks, strict=True))
            click.echo(("\n" if i else "") + poem)
            continue
        row = {"poem": format_poem(lines), "lines": lines, **(extra[i] if extra else {})}
        if fmt == "jsonl":
            click.echo(json.dumps(row, ensure_ascii=False))
        else:
            element = textwrap.indent(json.dumps(row, ensure_ascii=False, indent=1), " ")
            click.echo(("[\n" if i == 0 else ",\n") + element, nl=False)
    if fmt == "json":
        click.echo("\n]" if i >= 0 else "[]")


@click.command()
@model_options
@click.option(
    "-n",
    "n",
    type=click.IntRange(min=1),
    default=5,
    show_default=True,
    help="Number of poems; any number: they are made and printed 256 at a time, in memory that "
    "does not grow with -n.",
)
@options.seed
@click.option(
    "--acrostic",
    default=None,
    metavar="CHARS",
    help="藏头诗: one character per line, each line's first, e.g. 春夏秋冬.",
)
@click.option(
    "--pattern",
    default=None,
    metavar="TEMPLATE",
    help="Fill-in template: given characters stay, ＿ (or _ ○ *) are written, "
    "e.g. '床前＿＿光，疑是＿＿霜'; may cover the first lines only.",
)
@click.option(
    "--tones",
    type=click.Choice(["free", "strict"]),
    default="free",
    show_default=True,
    help="strict: every line follows a regulated 平仄 template, couplets are opposed "
    "and the rhyme positions share a rhyme group.",
)
@click.option(
    "--rerank",
    type=click.IntRange(min=1, max=options.MAX_RERANK),
    default=1,
    show_default=True,
    help="Draw K candidates per poem and keep the one the model scores best "
    "(lowest IWAE NLL per character, 10 importance samples).",
)
@decoding_options
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "jsonl"]),
    default="text",
    show_default=True,
    help="Readable text, one JSON array, or JSON Lines (one poem object per line). Each is "
    "printed as the poems are made.",
)
@options.device
@one_line_errors
def generate(checkpoint, form, n, seed, acrostic, pattern, tones, rerank, fmt, device, **decoding):
    """Write new poems by sampling the latent prior z ~ N(0, I).

    With --acrostic or --pattern, z is drawn from the posterior given the fixed characters, so
    the rest of the poem agrees with them. Options combine (e.g. --acrostic with --tones strict).
    A quatrain rhymes by default: the rhyme group is drawn first, weighed by how likely the
    model's own choices at the rhyme positions are to land in it.
    """
    decoding = _decoding(decoding)
    model = _load(_model_path(checkpoint, form), device)
    from .generate import generate as draw
    from .generate import stream

    constraints = {}
    if acrostic or pattern or tones != "free" or rerank > 1:
        from .compose import write as draw

        constraints = dict(acrostic=acrostic, pattern=pattern, tones=tones, rerank=rerank)
    poems = stream(draw, model, n, seed, decoding=decoding, **constraints)
    _echo_poems(poems, fmt)


@click.command()
@click.argument("poem")
@model_options
@options.output_format
@options.device
@one_line_errors
def reconstruct(poem, checkpoint, form, fmt, device):
    """Encode POEM, decode z = mu by argmax, and show which characters the model keeps."""
    from .compose import reconstruct as run
    from .corpus import format_poem, parse_poem

    model = _load(_model_path(checkpoint, form), device)
    lines, kept = run(model, poem)
    if fmt == "json":
        click.echo(
            json.dumps(
                {
                    "input": poem,
                    "output": format_poem(lines),
                    "lines": lines,
                    "kept": kept,
                    "kept_share": sum(kept) / len(kept),
                },
                ensure_ascii=False,
                indent=1,
            )
        )
        return
    original = parse_poem(poem, None) or []
    n = len(lines[0])
    for i, line in enumerate(lines):
        marks = "".join("＝" if k else "　" for k in kept[i * n : (i + 1) * n])
        click.echo(f"{original[i] if i < len(original) else '':<{n}}  ->  {line}   {marks}")
    click.echo(f"kept {sum(kept)} of {len(kept)} characters (＝ marks a kept character)")
    unknown = sorted({c for c in "".join(original) if c not in model.vocab})
    if unknown:
        click.echo(f"not in the model's vocabulary (read as <unk>): {''.join(unknown)}")


@click.command()
@click.argument("poem_a")
@click.argument("poem_b")
@model_options
@click.option(
    "--steps",
    type=click.IntRange(min=2, max=options.MAX_STEPS_ALONG_PATH),
    default=8,
    show_default=True,
    help="Poems along the path, both ends included.",
)
@click.option("--slerp", is_flag=True, help="Spherical instead of linear interpolation.")
@options.output_format
@options.device
@one_line_errors
def interpolate(poem_a, poem_b, checkpoint, form, steps, slerp, fmt, device):
    """Decode (argmax) along the latent path between the posterior means of two poems."""
    from .compose import interpolate as run

    model = _load(_model_path(checkpoint, form), device)
    poems = run(model, poem_a, poem_b, steps, slerp)
    _echo_poems(poems, fmt, [{"t": i / (steps - 1)} for i in range(steps)])


@click.command("eval")
@model_options
@click.option(
    "--corpus",
    "corpus_name",
    default=None,
    metavar="NAME|PATH",
    help="Corpus to score [default: the one the model was trained on].",
)
@click.option(
    "--split",
    type=click.Choice(["train", "valid", "test"]),
    default="test",
    show_default=True,
    help="Split to score.",
)
@click.option(
    "--iw-samples",
    type=click.IntRange(min=1, max=options.MAX_IW_SAMPLES),
    default=100,
    show_default=True,
    help="K importance samples for the IWAE NLL bound.",
)
@click.option(
    "--samples",
    type=click.IntRange(min=1, max=options.MAX_PRIOR_SAMPLES),
    default=1000,
    show_default=True,
    help="Poems drawn from the prior for novelty, variety and prosody.",
)
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=None,
    help="Score only N poems of the split, drawn at random with --seed (faster).",
)
@options.seed_for("latent noise and samples")
@decoding_options
@options.output_format
@options.device
@one_line_errors
def evaluate(
    checkpoint, form, corpus_name, split, iw_samples, samples, limit, seed, fmt, device, **decoding
):
    """Score a text model: NLL bounds, KL, active units, I(x;z), novelty, variety, prosody.

    Units are nats (per poem and per character). The same statistics are given for the real
    poems of the split, the natural reference for the samples.
    """
    from ..core.checkpoint import read_meta
    from .corpus import Form, load_corpus
    from .evaluate import evaluate as run_eval

    path = _model_path(checkpoint, form)
    model = _load(path, device)
    corpus_name = corpus_name or read_meta(path).get("corpus")
    if not corpus_name:
        raise click.UsageError("the checkpoint does not name its corpus: pass --corpus")
    loaded = load_corpus(corpus_name)
    if loaded.form != Form(model.cfg.n_lines, model.cfg.chars_per_line):
        raise click.ClickException(
            f"corpus {corpus_name} is of form {loaded.form}, the model of "
            f"{model.cfg.n_lines} lines x {model.cfg.chars_per_line} chars"
        )
    result = {
        "checkpoint": str(path),
        "corpus": loaded.name,
        **run_eval(
            model,
            loaded,
            split,
            iw_samples,
            samples,
            seed,
            limit,
            decoding=_decoding(decoding),
        ),
    }
    if fmt == "json":
        click.echo(json.dumps(result, ensure_ascii=False, indent=1))
    else:
        click.echo(_eval_table(result))


def _eval_table(r: dict) -> str:
    d = r["data"]
    rows = [
        f"{r['corpus']} / {r['split']}: {d['n']} poems  (nats; lower NLL is better)",
        f"  recon CE      {d['recon_per_poem']:9.2f} /poem  {d['recon_per_char']:7.3f} /char",
        f"  KL            {d['kl_per_poem']:9.2f} /poem  {d['kl_per_char']:7.3f} /char",
        f"  -ELBO         {-d['elbo_per_poem']:9.2f} /poem",
        f"  IWAE NLL      {d['iwae_nll_per_poem']:9.2f} /poem  {d['iwae_nll_per_char']:7.3f} "
        f"/char  (K={d['iw_samples']})",
        f"  active units  {d['active_units']} of {d['latent_dim']}",
        f"  I(x;z)        {d['mutual_information']:9.2f}  (at most log {d['mi_items']} = "
        f"{math.log(d['mi_items']):.2f})",
        f"  char accuracy {d['char_accuracy']:9.3f}  (argmax from z = mu)",
        "",
        f"{'':30}{'samples':>10}{'real':>10}",
    ]
    s, ref = r["samples"], r["reference"]
    for key in (
        "n",
        "novelty",
        "novel_lines",
        "distinct_chars",
        "distinct_1",
        "distinct_2",
        "repeat_line_share",
        "top_char_share",
        "bigram_nll_per_char",
        "song_bigram_nll_per_char",
    ):
        rows.append(f"  {key:28}{_num(s[key]):>10}{_num(ref[key]):>10}")
    for key in s["prosody"]:
        rows.append(
            f"  prosody {key:20}{_num(s['prosody'][key]):>10}{_num(ref['prosody'][key]):>10}"
        )
    rows.append(
        f"  (samples: temperature {s['temperature']}, top-p {s['top_p']}, rhyme "
        f"{'on' if s['rhyme'] else 'off'}, passes {s['passes']}, refine {s['refine']}; top char "
        f"{s['top_char']} vs {ref['top_char']})"
    )
    rows.append(
        "  (bigram_nll_per_char and song_bigram_nll_per_char: nats/char under character bigram"
        " models of the train split and of Song-dynasty lines no corpus trains on, judges of"
        " fluency from outside the VAE; they also favour common characters, so read them with"
        " variety)"
    )
    return "\n".join(rows)


def _num(v) -> str:
    if isinstance(v, float):
        return f"{v:.3f}"
    return str(v)


@click.group()
def corpus():
    """The shipped poem corpora."""


@corpus.command("list")
def corpus_list():
    """Name, form and split sizes of each shipped corpus."""
    from .corpus import shipped

    for name, meta in shipped()["corpora"].items():
        sizes = " ".join(f"{k}={v}" for k, v in meta["splits"].items())
        click.echo(f"{name:22} {meta['n_lines']} lines x {meta['chars_per_line']} chars  {sizes}")


@corpus.command("show")
@click.argument("name")
@click.option(
    "-n", "n", type=click.IntRange(min=0), default=5, show_default=True, help="Examples to print."
)
@one_line_errors
def corpus_show(name, n):
    """Form, sizes and example poems of a corpus (a shipped name or a file)."""
    from .corpus import chunk, format_poem, load_corpus

    loaded = load_corpus(name)
    click.echo(loaded.summary())
    for poem in loaded.splits["train"][:n]:
        click.echo("  " + format_poem(chunk(poem, loaded.form)))
    for example in loaded.skipped_examples:
        click.echo(f"  skipped, e.g.: {example}")


COMMANDS = (train, generate, reconstruct, interpolate, evaluate, corpus)
