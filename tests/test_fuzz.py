"""Property-based fuzzing (hypothesis) of the CLI and the library entry points.

The property of every command: exit 0 with well-formed output, or exit 1/2 with one line on
stderr and no traceback, and no file in the run directory changed. A few examples per property
by default; POETVAE_FUZZ_EXAMPLES=500 searches longer.
"""

import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from poetvae.cli import main
from poetvae.core import checkpoint
from tests.image_data import idx_folder

EXAMPLES = int(os.environ.get("POETVAE_FUZZ_EXAMPLES", "20"))
fuzz = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=EXAMPLES <= 20,  # the default run is the same every time; a long run explores
)

# option values as a user (or a script gone wrong) may type them
floats = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.floats(min_value=-0.5, max_value=2.0).map(str),
    st.sampled_from(["nan", "inf", "-inf", "1e999", "0", "1", "", "0x1p-2", "１"]),
    st.text(max_size=4),
)
small_counts = st.one_of(
    st.integers(min_value=-3, max_value=4).map(str),
    st.sampled_from(["0", "-0", "1e3", "", "two"]),
)
seeds = st.one_of(
    st.integers().map(str), st.integers(-(2**70), 2**70).map(str), st.text(max_size=3)
)
hanzi = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF)
poem_text = st.one_of(
    st.text(max_size=30),
    st.text(alphabet=st.one_of(hanzi, st.sampled_from("，。＿_○* \n\0")), max_size=30),
)


def tree_digest(*roots: Path) -> dict[str, str]:
    """sha1 of every file below the roots: what a command must leave as it found it."""
    return {
        str(p): hashlib.sha1(p.read_bytes()).hexdigest()
        for root in roots
        for p in sorted(Path(root).rglob("*"))
        if p.is_file()
    }


def invoke(args: list[str]):
    return CliRunner().invoke(main, args, catch_exceptions=True)


def assert_well_behaved(result, *, json_output: bool = False):
    """exit 0 (and JSON parses when asked), or exit 1/2 with exactly one line on stderr."""
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"uncaught {result.exception!r}"
    )
    assert "Traceback" not in result.output
    if result.exit_code == 0:
        if json_output:
            json.loads(result.stdout)
        return
    assert result.exit_code in (1, 2), result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr


def with_options(draw_options: st.SearchStrategy) -> st.SearchStrategy:
    """A random subset of options, each with a random value, in random order."""
    return st.lists(draw_options, max_size=6)


def flat(pairs: list[tuple[str, ...]]) -> list[str]:
    return [x for pair in pairs for x in pair]


generate_options = st.one_of(
    st.tuples(st.just("-n"), small_counts),
    st.tuples(st.just("--temperature"), floats),
    st.tuples(st.just("--top-p"), floats),
    st.tuples(st.just("--seed"), seeds),
    # -n has no upper bound (it streams, as `yes` does), so only the bounded counts get huge ones
    st.tuples(st.just("--rerank"), st.one_of(small_counts, st.sampled_from(["101", str(2**64)]))),
    st.tuples(st.just("--tones"), st.sampled_from(["free", "strict", "loose", ""])),
    st.tuples(st.just("--acrostic"), poem_text),
    st.tuples(st.just("--pattern"), poem_text),
    st.tuples(st.just("--format"), st.sampled_from(["text", "json", "jsonl", "xml"])),
    st.tuples(st.sampled_from(["--no-rhyme", "--rhyme", "--allow-repeats"])),
)


@pytest.fixture(scope="module")
def run_copy(tiny_run, tmp_path_factory):
    """A copy of the tiny run, so a command that wrongly wrote into it would show here."""
    return Path(shutil.copytree(tiny_run, tmp_path_factory.mktemp("fuzz") / "run"))


def last_value(pairs: list[tuple[str, ...]], flag: str, default: str) -> str:
    """What click reads for an option given several times: its last value."""
    return next((pair[1] for pair in reversed(pairs) if pair[0] == flag), default)


@fuzz
@given(options=with_options(generate_options))
def test_generate_on_a_tiny_model(run_copy, options):
    before = tree_digest(run_copy)
    result = invoke(["generate", "--checkpoint", str(run_copy), "--device", "cpu", *flat(options)])
    fmt = last_value(options, "--format", "text")
    assert_well_behaved(result, json_output=fmt == "json")
    if result.exit_code == 0:
        n = int(last_value(options, "-n", "5"))
        if fmt == "json":
            assert len(json.loads(result.stdout)) == n
        elif fmt == "jsonl":
            assert [len(json.loads(x)["lines"]) for x in result.stdout.splitlines()] == [4] * n
        else:
            assert result.stdout.count("\n\n") == n - 1
    assert tree_digest(run_copy) == before


@settings(fuzz, max_examples=max(2, EXAMPLES // 2))
@given(options=with_options(generate_options))
def test_generate_on_the_bundled_model(options):
    options = [pair for pair in options if pair[0] not in ("-n", "--rerank")]  # keep it quick
    result = invoke(["generate", "--device", "cpu", *flat(options), "-n", "2"])
    assert_well_behaved(result, json_output=last_value(options, "--format", "text") == "json")


@fuzz
@given(
    command=st.sampled_from(["reconstruct", "interpolate"]),
    poems=st.lists(poem_text, min_size=1, max_size=3),
    options=with_options(
        st.one_of(
            st.tuples(st.just("--steps"), st.one_of(small_counts, st.just("1000000"))),
            st.tuples(st.just("--slerp")),
            st.tuples(st.just("--form"), st.sampled_from(["wuyan", "qiyan", "x"])),
            st.tuples(st.just("--format"), st.sampled_from(["text", "json"])),
        )
    ),
)
def test_reconstruct_and_interpolate_random_poems(run_copy, command, poems, options):
    before = tree_digest(run_copy)
    args = [command, *poems, "--checkpoint", str(run_copy), "--device", "cpu", *flat(options)]
    assert_well_behaved(invoke(args))
    assert tree_digest(run_copy) == before


@fuzz
@given(
    name=st.sampled_from(["c.txt", "c.json", "c.jsonl", "c.txt.gz"]),
    content=st.one_of(st.binary(max_size=300), poem_text.map(lambda t: t.encode())),
)
def test_random_bytes_as_a_corpus(tmp_path_factory, name, content):
    root = tmp_path_factory.mktemp("corpus")
    path = root / name
    path.write_bytes(content)
    before = tree_digest(root)
    assert_well_behaved(invoke(["corpus", "show", str(path), "-n", "2"]))
    out = root / "run"
    result = invoke(
        ["train", "--corpus", str(path), "--out", str(out), "--preset", "tiny", "--max-steps", "1"]
        + ["--batch-size", "4", "--device", "cpu", "--quiet"]
    )
    assert_well_behaved(result)
    after = tree_digest(root)
    assert {k: v for k, v in after.items() if not k.startswith(str(out))} == before
    if result.exit_code != 0:
        assert not (out / checkpoint.CKPT).exists()


@fuzz
@given(
    victim=st.sampled_from([checkpoint.WEIGHTS, checkpoint.CONFIG, "vocab.model"]),
    content=st.binary(max_size=200),
)
def test_random_bytes_as_a_checkpoint_file(tiny_run, tmp_path_factory, victim, content):
    ckpt = tmp_path_factory.mktemp("ckpt") / "checkpoint"
    shutil.copytree(checkpoint.resolve(tiny_run), ckpt)
    (ckpt / victim).write_bytes(content)
    before = tree_digest(ckpt)
    for args in (
        ["generate", "-n", "2"],
        ["reconstruct", "白日依山尽黄河入海流欲穷千里目更上一层楼"],
    ):
        assert_well_behaved(invoke([*args, "--checkpoint", str(ckpt), "--device", "cpu"]))
    assert tree_digest(ckpt) == before


@pytest.fixture(scope="module")
def image_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("image")
    data = idx_folder(root / "idx")
    args = ["image", "train", "--model", "cvae", "--data", str(data), "--max-steps", "2"]
    result = invoke([*args, "--out", str(root / "cvae"), "--preset", "tiny", "--device", "cpu"])
    assert result.exit_code == 0, result.output
    return root / "cvae"


@fuzz
@given(
    options=with_options(
        st.one_of(
            st.tuples(st.just("-n"), st.one_of(small_counts, st.just("100000"))),
            st.tuples(st.just("--label"), small_counts),
            st.tuples(st.just("--seed"), seeds),
            st.tuples(st.just("--manifold")),
        )
    )
)
def test_image_sample_random_options(image_run, tmp_path_factory, options):
    out_dir = tmp_path_factory.mktemp("png")
    before = tree_digest(image_run)
    result = invoke(
        ["image", "sample", "--checkpoint", str(image_run), "--out", str(out_dir / "s.png")]
        + ["--device", "cpu", *flat(options)]
    )
    assert_well_behaved(result)
    assert tree_digest(image_run) == before
    assert sorted(p.name for p in out_dir.iterdir()) == (["s.png"] if result.exit_code == 0 else [])


@fuzz
@given(
    n=st.integers(-2, 3),
    temperature=st.floats(allow_nan=True, allow_infinity=True),
    top_p=st.floats(allow_nan=True, allow_infinity=True),
    seed=st.one_of(st.none(), st.integers(-(2**70), 2**70)),
    acrostic=st.one_of(st.none(), poem_text),
    pattern=st.one_of(st.none(), poem_text),
)
def test_library_write_returns_poems_or_raises_value_error(
    tiny_model, n, temperature, top_p, seed, acrostic, pattern
):
    from poetvae.text.compose import write
    from poetvae.text.decoding import Decoding

    try:
        decoding = Decoding(temperature, top_p)
        poems = write(tiny_model, n, decoding, seed, acrostic, pattern)
    except ValueError as e:
        assert str(e) and "\n" not in str(e).strip()
        return
    assert len(poems) == n and all(len(p) == tiny_model.cfg.n_lines for p in poems)


@pytest.fixture(scope="module")
def tiny_model(tiny_run):
    from poetvae.text.model import load

    return load(tiny_run)
