"""The text commands: `poetvae train`, `generate`, `reconstruct`, `interpolate`, `eval` and
`corpus`, added to the root group by poetvae.cli.

Heavy imports (torch, datasets) happen inside commands, so `poetvae --help` is instant and
`generate` never imports `datasets`. Library errors become one line on stderr and exit 1.
"""

import contextlib
import json
import math
import textwrap
from collections.abc import Iterable
from pathlib import Path

import click

from .. import options
from ..options import Number, one_line_errors, resolve_device
from . import decoding as dec
from .forms import DEFAULT_FORM, FORMS
from .prosody import RHYME_BOOKS


@click.command()
@click.option(
    "--corpus",
    default=None,
    metavar="NAME|PATH",
    help="A shipped corpus (see `poetvae corpus list`), a .txt/.json/.jsonl file "
    "with one poem per line, or a hub data set name (owner/name). Needed for a new run; "
    "--resume reads it from the run.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    default=None,
    help="Run directory for checkpoints and metrics [default: runs/<corpus> for a new run].",
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
@options.model_config(
    "poetvae.text.model:PoetVAEConfig",
    {
        "tiny": "width 32, 1 encoder and 1 decoder layer, 8 latent dimensions (0.25 M "
        "parameters, most of them the embedding): trains in seconds, for tests and a first run",
        "base": "width 192, 3 + 2 layers, 64 latent dimensions (3.6 M parameters): the "
        "bundled models",
    },
    note="free_bits: the KL of each latent dimension below this many nats is not pushed down "
    "(against posterior collapse; 0 turns it off); decoder: parallel, mask-predict or causal; "
    "keywords: up to this many keywords condition the model (a conditional VAE), keyword_drop "
    "the share of training poems given none.",
)
@one_line_errors
def train(corpus, out, init_from, train_cfg, progress, device, preset, overrides, resume):
    """Train the poetry VAE on a corpus.

    Shows loss / recon / KL and poems per second, validates each epoch, writes an atomic
    checkpoint (safetensors weights + config.json + vocabulary) into --out, and on Ctrl-C saves
    and exits; --resume continues exactly where it stopped. Under `torchrun --nproc_per_node N`
    it trains with DistributedDataParallel.
    """
    if init_from and resume:
        raise click.UsageError("--init-from starts a new run; --resume continues one: not both")
    from ..core.checkpoint import check_run_dir
    from ..core.config import apply_overrides
    from .corpus import load_corpus
    from .model import PoetVAEConfig
    from .train import check_resume
    from .train import train as train_text

    dev = resolve_device(device)
    # a bad --set, a missing run or corpus fail here, before anything loads
    if resume:
        if out is None:
            raise click.UsageError("--resume needs --out, the run directory to continue")
        given = click.get_current_context().get_parameter_source("preset").name == "COMMANDLINE"
        recorded = check_resume(out, overrides, preset if given else None).get("corpus")
        corpus = corpus or recorded
        if not corpus:
            raise click.UsageError(f"{out} does not name its corpus: pass --corpus")
    else:
        if corpus is None:
            raise click.UsageError("a new run needs --corpus (or --resume a run in --out)")
        out = out or str(Path("runs") / Path(corpus).stem)  # the corpus's name is `corpus`
        check_run_dir(out, resume)
        apply_overrides(PoetVAEConfig.preset(preset), overrides)
    loaded = load_corpus(corpus)
    options.say(loaded.summary())
    result = train_text(
        loaded,
        out,
        train_cfg,
        dev,
        preset,
        overrides,
        resume=resume,
        progress=progress,
        init_from=init_from,
    )
    options.say_trained(result)


@click.command("fit-prior")
@click.argument("run", type=click.Path())
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    required=True,
    help="Run directory for the model with its fitted prior (a new one, or one it replaces).",
)
@click.option(
    "--kind",
    type=click.Choice(["mixture", "flow", "mixture-flow"]),
    default="mixture",
    show_default=True,
    help="A mixture of Gaussians, a RealNVP flow, or a flow over a mixture (the run's own "
    "mixture where it has one of --components, kept as it is).",
)
@click.option(
    "--components",
    type=click.IntRange(1, 65_536),
    default=None,
    help="Gaussians in the mixture, started on the posteriors of as many training poems "
    "[default: 1024]; for a flow over N(0, I), its coupling layers [default: 8].",
)
@click.option(
    "--steps",
    type=click.IntRange(0, 1_000_000),
    default=None,
    help="Adam steps fitting the prior to the aggregate posterior (0 keeps a mixture on the "
    "posteriors) [default: 1500 for a mixture, 3000 for a flow, 2000 for a mixture-flow's "
    "layers].",
)
@click.option(
    "--corpus",
    default=None,
    metavar="NAME|PATH",
    help="Corpus whose train split is fitted [default: the one the run was trained on].",
)
@options.seed_for("the components chosen and the fit")
@options.device
@one_line_errors
def fit_prior(run, out, kind, components, steps, corpus, seed, device):
    """Fit a learned prior p(z) to a trained model's aggregate posterior.

    A standard normal prior samples latents where no poem's posterior lies; this fits a mixture
    of Gaussians (or a RealNVP flow, --kind flow) to the posteriors of the train split (Ghosh et
    al. 2020; Dai & Wipf 2019) and writes the model with it into --out: `generate` then samples
    from it, and `eval` computes the KL and the IWAE bound against it. The encoder and decoder
    are unchanged. A model trained with keywords whose prior is already such a mixture is
    refitted from it, keeping what the keywords do to it (run it after training with keywords,
    e.g. --steps 500); a flow fits what the keywords do to it anew.
    """
    from ..core import checkpoint
    from .corpus import load_corpus
    from .model import files
    from .train import fit_prior as fit

    model = _load(run, device)
    name = corpus or checkpoint.read_meta(run).get("corpus")
    if name is None:
        raise click.UsageError(f"{run} does not record its corpus: give --corpus")
    flow = kind == "flow"
    components = components or (8 if flow else 1024)
    steps = {"mixture": 1500, "flow": 3000, "mixture-flow": 2000}[kind] if steps is None else steps
    fitted = fit(model, load_corpus(name, splits=("train",)), components, steps, seed, kind=kind)
    meta = {**checkpoint.read_meta(run), **fitted.meta()}
    what = {
        "mixture": f"{components}-component mixture",
        "flow": f"{components}-layer flow",
        "mixture-flow": f"flow over a {components}-component mixture",
    }[kind]
    options.say(f"fitted a {what} prior; writing {out}")
    checkpoint.save(out, fitted, meta, files(fitted))


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
        f"{', '.join(f'{k} = {v.label}' for k, v in FORMS.items())} [default: {DEFAULT_FORM}]. "
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
        help="0 = argmax decoding; higher = more adventurous sampling [default: the model's, "
        f"{dec.DEFAULT_TEMPERATURE} unless its checkpoint names another].",
    ),
    click.option(
        "--top-p",
        type=Number(min=0, max=1, min_open=True),
        default=DEFAULT.top_p,
        show_default=True,
        help="Sample only from the characters holding this much probability (1 = all).",
    ),
    click.option(
        "--allow-repeats",
        is_flag=True,
        help="Allow a character twice in one line, and two lines ending on one.",
    ),
    click.option(
        "--rhyme/--no-rhyme",
        default=DEFAULT.rhyme,
        show_default=True,
        help="The ends of lines 2, 4, ... share a rhyme group of --rhyme-book, no character "
        "twice; --no-rhyme shows the model's own choices (--tones strict always rhymes).",
    ),
    click.option(
        "--rhyme-book",
        type=click.Choice(list(RHYME_BOOKS)),
        default=DEFAULT.rhyme_book,
        show_default=True,
        help="The rhyme book: pingshui = 平水韵, the book of Tang regulated verse (a character "
        "rhymes in each rhyme the book lists it under); xinyun = 中华新韵, rhyme by modern "
        "readings.",
    ),
    click.option(
        "--passes",
        type=click.IntRange(min=1, max=dec.MAX_PASSES),
        default=DEFAULT.passes,
        help="Decoding passes of a mask-predict model: each re-masks its least confident "
        "characters and draws them again given the rest; at most the model's length ("
        + ", ".join(f"{f.shape.seq_len} for {name}" for name, f in FORMS.items())
        + f") [default: the model's, {dec.MASK_PREDICT_PASSES} for "
        "mask-predict, 1 otherwise].",
    ),
    click.option(
        "--refine",
        type=click.IntRange(min=0, max=dec.MAX_REFINE),
        default=DEFAULT.refine,
        show_default=True,
        help="Latent refinement rounds before decoding: z <- mu(argmax decode(z)) (Shu et al. "
        "2020).",
    ),
    click.option(
        "--rarity",
        type=Number(min=0, max=dec.MAX_RARITY),
        default=DEFAULT.rarity,
        show_default=True,
        help="How much sampling favours characters rare in the training text: each is drawn "
        "with probability proportional to p^(1/T) f^-rarity (p: the model's; f: the "
        "character's share of the training text). 0 = the tempered law alone; ignored by "
        "--temperature 0.",
    ),
    click.option(
        "--presence",
        type=Number(min=0, max=dec.MAX_PRESENCE),
        default=DEFAULT.presence,
        help="How much a mask-predict model's re-masking passes shun characters the rest of "
        "the poem already holds: each copy elsewhere, and each two-character phrase of the "
        "poem it would make again, divides a character's weight by e^presence. 0 = off "
        "[default: the model's, 0 unless its checkpoint names another].",
    ),
    click.option(
        "--precision",
        type=click.Choice(dec.PRECISIONS),
        default=DEFAULT.precision,
        show_default=True,
        help="What the model computes in while decoding: bf16 (several times faster matrix "
        "products where the hardware has them), fp32, or auto: bf16 on a CPU with AMX or "
        "AVX512-BF16 and on a GPU that multiplies bf16 natively, else fp32.",
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
        rhyme_book=params["rhyme_book"],
        passes=params["passes"],
        refine=params["refine"],
        rarity=params["rarity"],
        presence=params["presence"],
        precision=params["precision"],
    )


def _model_path(checkpoint: str | None, form: str | None) -> str | Path:
    """The run directory to load: --checkpoint, else the bundled model of --form."""
    from .forms import bundled_model

    if checkpoint is not None and form is not None:
        raise click.UsageError(
            "--form picks a bundled model and --checkpoint has its own form: give one of them"
        )
    return checkpoint if checkpoint is not None else bundled_model(form or DEFAULT_FORM)


def _load(path, device):
    from .model import load

    return load(path, resolve_device(device))


@contextlib.contextmanager
def _reading(model, *texts: str):
    """How the model reads pasted text: a poem of another bundled form is a usage error that
    names its --form; text read in Simplified script is said on stderr once the command's body
    has run (an error stays one line)."""
    from .constraints import simplified
    from .corpus import parse_poem
    from .forms import Shape, of_shape

    shape = model.cfg.shape
    for text in texts:
        lines = parse_poem(text) or [""]
        got = Shape(len(lines), len(lines[0]))
        other = of_shape(got)
        if other and got != shape:
            raise click.UsageError(
                f"{text!r} has {got.n_lines} lines of {got.chars_per_line} characters, the shape "
                f"of the {other.name} form; the model writes {shape.n_lines} lines of "
                f"{shape.chars_per_line}: try --form {other.name}"
            )
    yield
    for text in texts:
        if simplified(model, text) != text:
            options.say(f"read in Simplified script: {simplified(model, text)}")


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
    help="Fill-in template: given characters stay, ＿ (or _ ○ *) are written, e.g. "
    "'床前＿＿光，疑是＿＿霜', or '＿＿＿＿＿，＿＿＿＿＿，白日依山尽' to keep line 3 only; may "
    "cover the first lines only. Rhyme and --tones strict keep these characters, or name the "
    "one that breaks them.",
)
@click.option(
    "--keywords",
    default=None,
    metavar="WORDS",
    help="The theme (题): one to four words the poems are about, separated by commas, 、 or "
    "spaces, e.g. 明月,故乡; z is drawn from p(z | keywords), the decoder reads them, and each "
    "is written where the poem's z makes it likeliest. Needs a model trained with keywords "
    "(--set keywords=4); combines with every other option.",
)
@click.option(
    "--tones",
    type=click.Choice(["free", "strict"]),
    default="free",
    show_default=True,
    help="strict: every line follows a regulated 平仄 template, couplets are opposed "
    "and the rhyme positions share a level-tone (平声) rhyme of --rhyme-book.",
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
def generate(
    checkpoint, form, n, seed, acrostic, pattern, keywords, tones, rerank, fmt, device, **decoding
):
    """Write new poems by sampling the model's latent prior p(z) (N(0, I), or the mixture or flow
    it learned; the bundled models' is a mixture warped by a flow).

    With --acrostic or --pattern, z is drawn from the posterior given the fixed characters, so
    the rest of the poem agrees with them; with --keywords, from the prior given the keywords.
    Options combine (e.g. --keywords with --acrostic and --tones strict).
    A quatrain rhymes by default: the rhyme group is drawn first, weighed by how likely the
    model's own choices at the rhyme positions are to land in it.
    """
    from .keywords import parse_keywords

    decoding = _decoding(decoding)
    words = parse_keywords(keywords) if keywords is not None else None  # bad input: at once
    model = _load(_model_path(checkpoint, form), device)
    options.check_passes(decoding.passes, model.cfg.seq_len)
    from .generate import conditioned, stream
    from .generate import generate as draw

    if words:
        conditioned(model, words)  # a model without keywords or unknown characters: here

    constraints = {}
    if acrostic or pattern or tones != "free" or rerank > 1 or words:
        from .compose import write as draw

        constraints = dict(
            acrostic=acrostic, pattern=pattern, tones=tones, rerank=rerank, keywords=words
        )
    poems = stream(draw, model, n, seed, decoding=decoding, **constraints)
    with _reading(model, *(text for text in (acrostic, pattern) if text)):
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
    from .constraints import simplified, unknown_chars
    from .corpus import format_poem, parse_poem

    model = _load(_model_path(checkpoint, form), device)
    with _reading(model, poem):
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
        original = parse_poem(simplified(model, poem), model.cfg.shape)
        n = len(lines[0])
        for i, line in enumerate(lines):
            marks = "".join("＝" if k else "　" for k in kept[i * n : (i + 1) * n])
            click.echo(f"{original[i]}  ->  {line}   {marks}")
        click.echo(f"kept {sum(kept)} of {len(kept)} characters (＝ marks a kept character)")
        unknown = unknown_chars(model, "".join(original))
        if unknown:
            click.echo(f"not in the model's vocabulary (read as <unk>): {unknown}")


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
    with _reading(model, poem_a, poem_b):
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
@options.proposal_steps
@options.seed_for("latent noise and samples")
@decoding_options
@options.output_format
@options.device
@one_line_errors
def evaluate(
    checkpoint,
    form,
    corpus_name,
    split,
    iw_samples,
    samples,
    limit,
    proposal_steps,
    seed,
    fmt,
    device,
    **decoding,
):
    """Score a text model: NLL bounds, KL, active units, I(x;z), novelty, variety, prosody.

    Units are nats (per poem and per character). The same statistics are given for the real
    poems of the split, the natural reference for the samples.
    """
    from ..core.checkpoint import read_meta
    from .corpus import load_corpus
    from .evaluate import evaluate as run_eval

    decoding = _decoding(decoding)
    path = _model_path(checkpoint, form)
    model = _load(path, device)
    options.check_passes(decoding.passes, model.cfg.seq_len)
    corpus_name = corpus_name or read_meta(path).get("corpus")
    if not corpus_name:
        raise click.UsageError("the checkpoint does not name its corpus: pass --corpus")
    loaded = load_corpus(corpus_name)
    if loaded.form != model.cfg.shape:
        raise click.ClickException(
            f"corpus {corpus_name} is of form {loaded.form}, the model of {model.cfg.shape}"
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
            decoding=decoding,
            proposal_steps=proposal_steps,
        ),
    }
    if fmt == "json":
        click.echo(json.dumps(result, ensure_ascii=False, indent=1))
    else:
        click.echo(_eval_table(result))


def _proposal(d: dict) -> str:
    steps = d["proposal_steps"]
    return f", proposal fitted for {steps} steps" if steps else ""


def _eval_table(r: dict) -> str:
    d = r["data"]
    rows = [
        f"{r['corpus']} / {r['split']}: {d['n']} poems  (nats; lower NLL is better)",
        f"  recon CE      {d['recon_per_poem']:9.2f} /poem  {d['recon_per_char']:7.3f} /char",
        f"  KL            {d['kl_per_poem']:9.2f} /poem  {d['kl_per_char']:7.3f} /char",
        f"  -ELBO         {-d['elbo_per_poem']:9.2f} /poem",
        f"  IWAE NLL      {d['iwae_nll_per_poem']:9.2f} /poem  {d['iwae_nll_per_char']:7.3f} "
        f"/char  (K={d['iw_samples']}{_proposal(d)})",
        f"  active units  {d['active_units']} of {d['latent_dim']}",
        f"  I(x;z)        {d['mutual_information']:9.2f}  (at most log {d['mi_items']} = "
        f"{math.log(d['mi_items']):.2f})",
        f"  char accuracy {d['char_accuracy']:9.3f}  (argmax from z = mu)",
    ]
    if "masked_ce_per_char" in d:  # a mask-predict model: what its draft path reads
        rows.append(
            f"  given the rest {d['masked_ce_per_char']:8.3f} /char  "
            f"({d['context_gain_per_char']:.3f} below the fully masked pass)"
        )
    if "data_keywords" in r:  # a conditional model: the same bounds given each poem's keywords
        k = r["data_keywords"]
        rows += [
            "  given each poem's keywords (bounds on log p(x | keywords)):",
            f"  -ELBO         {-k['elbo_per_poem']:9.2f} /poem  KL {k['kl_per_poem']:.2f} /poem",
            f"  IWAE NLL      {k['iwae_nll_per_poem']:9.2f} /poem  {k['iwae_nll_per_char']:7.3f} "
            f"/char  (K={k['iw_samples']}{_proposal(k)})",
        ]
    rows += [
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
        "poem_char_thrice",
        "poem_phrase_twice",
        "top_char_share",
        "bigram_nll_per_char",
        "song_bigram_nll_per_char",
        "parallelism",
        "parallelism_shuffled",
        "parallelism_assoc",
    ):
        if key in s:
            rows.append(f"  {key:28}{_num(s[key]):>10}{_num(ref[key]):>10}")
    for key in s["prosody"]:
        rows.append(
            f"  prosody {key:20}{_num(s['prosody'][key]):>10}{_num(ref['prosody'][key]):>10}"
        )
    rows.append(
        f"  (samples: temperature {s['temperature']}, top-p {s['top_p']}, rhyme "
        f"{'by ' + s['rhyme_book'] if s['rhyme'] else 'off'}, passes {s['passes']}, refine "
        f"{s['refine']}, rarity {s['rarity']}, presence {s['presence']}, precision "
        f"{s['precision']}; top char "
        f"{s['top_char']} vs {ref['top_char']}; "
        f"prosody rhyme and all by {s['rhyme_book']}, rhyme_pingshui and rhyme_xinyun by each "
        "book)"
    )
    rows.append(
        "  (bigram_nll_per_char and song_bigram_nll_per_char: nats/char under character bigram"
        " models of the train split and of Song-dynasty lines no corpus trains on, judges of"
        " fluency from outside the VAE; they also favour common characters, so read them with"
        " variety)"
    )
    if "parallelism" in s:
        rows.append(
            "  (parallelism: share of the middle couplets' positions (lines 3-4, 5-6) whose two"
            " characters real middle couplets pair more often than chance; _shuffled: the same"
            " with the even lines drawn from other poems; _assoc: their mean PMI, nats)"
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
    """Form, sizes and example poems of a corpus (a shipped name or a file), with their
    keywords [in brackets] where the corpus has them."""
    from .corpus import chunk, format_poem, load_corpus

    loaded = load_corpus(name)
    click.echo(loaded.summary())
    keywords = (loaded.keywords or {}).get("train")
    for i, poem in enumerate(loaded.splits["train"][:n]):
        shown = f"  [{' '.join(keywords[i])}]" if keywords is not None else ""
        click.echo("  " + format_poem(chunk(poem, loaded.form)) + shown)
    for example in loaded.skipped_examples:
        click.echo(f"  skipped, e.g.: {example}")


COMMANDS = (train, fit_prior, generate, reconstruct, interpolate, evaluate, corpus)
