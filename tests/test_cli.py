"""Every text command through click's CliRunner: the happy path and each bad input."""

import json

import click
import pytest
from click.testing import CliRunner

from poetvae.cli import main
from poetvae.core import checkpoint
from poetvae.text import prosody


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def assert_one_line_error(result):
    assert result.exit_code in (1, 2), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error:"), result.output


def test_train_then_generate_then_resume(tmp_path, poem_file):
    out = tmp_path / "run"
    result = run(
        "train",
        "--corpus",
        poem_file,
        "--out",
        out,
        "--preset",
        "tiny",
        "--max-steps",
        6,
        "--batch-size",
        16,
        "--device",
        "cpu",
        "--quiet",
    )
    assert result.exit_code == 0, result.output
    assert checkpoint.read_meta(out)["step"] == 6
    assert "skipped 2 poems" in result.output

    result = run("generate", "--checkpoint", out, "-n", 3, "--seed", 1, "--format", "json")
    assert result.exit_code == 0, result.output
    poems = json.loads(result.output)
    assert len(poems) == 3 and all(len(p["lines"]) == 4 for p in poems)
    assert poems[0]["poem"].endswith("。") and "，" in poems[0]["poem"]

    text = run("generate", "--checkpoint", out, "-n", 3, "--seed", 1).output
    assert (
        text.count("\n\n") == 2
        and text == run("generate", "--checkpoint", out, "-n", 3, "--seed", 1).output
    )

    # the run records its corpus: --resume needs only --out
    resume = ("train", "--out", out, "--batch-size", 16, "--resume", "--quiet", "--max-steps")
    result = run(*resume, 9)
    assert result.exit_code == 0, result.output
    assert checkpoint.read_meta(out)["step"] == 9
    result = run(*resume, 9)
    assert result.exit_code == 0 and "nothing to train" in result.output
    assert "already at step 9" in result.output and "done" not in result.output
    result = run(*resume, 12, "--set", "latent_dim=32")  # not silently ignored
    assert_one_line_error(result)
    assert "keeps its model config (latent_dim=8)" in result.output
    assert checkpoint.read_meta(out)["step"] == 9
    assert_one_line_error(run(*resume, 12, "--preset", "base"))  # nor another preset
    assert "keeps its model config (d_model=32" in run(*resume, 12, "--preset", "base").output
    # the command that made the run, rerun with --resume: options that change nothing are fine
    assert run(*resume, 10, "--preset", "tiny", "--set", "latent_dim=8").exit_code == 0


def test_resume_alone_keeps_the_runs_budget_and_schedule(tmp_path, poem_file):
    out = tmp_path / "run"
    made = ("--max-steps", 4, "--lr", 0.01, "--warmup-steps", 2, "--seed", 5, "--batch-size", 16)
    result = run("train", "--corpus", poem_file, "--out", out, "--preset", "tiny", *made, "--quiet")
    assert result.exit_code == 0, result.output
    result = run("train", "--out", out, "--resume", "--quiet")  # not the default 10 epochs
    assert result.exit_code == 0 and "already at step 4" in result.output, result.output
    result = run("train", "--out", out, "--resume", "--quiet", "--max-steps", 6)
    assert result.exit_code == 0, result.output
    train = checkpoint.read_meta(out)["train"]
    assert checkpoint.read_meta(out)["step"] == 6 and train["max_steps"] == 6
    assert (train["lr"], train["warmup_steps"], train["seed"], train["batch_size"]) == (
        0.01,
        2,
        5,
        16,
    )


def test_seed_help_hides_its_64_bit_range_and_passes_stop_at_the_models_length():
    for command in (("generate",), ("train",), ("eval",), ("image", "sample")):
        text = run(*command, "--help").output
        assert "--seed INTEGER " in text and "9223372036854775808" not in text
    assert_one_line_error(run("generate", "--seed", 2**64))
    assert "not a 64-bit seed" in run("generate", "--seed", 2**64).output
    result = run("generate", "-n", 1, "--passes", 21)  # the wuyan model has 20 characters
    assert_one_line_error(result)
    assert "--passes" in result.output and "model's 20 characters" in result.output
    assert run("generate", "-n", 1, "--passes", 20, "--refine", 0).exit_code == 0
    assert run("generate", "-n", 1, "--passes", 28, "--refine", 0, "--form", "qiyan").exit_code == 0


def test_pasted_input_traditional_script_another_form_and_unknown_characters():
    simplified = "白日依山尽，黄河入海流。欲穷千里目，更上一层楼。"
    traditional = "白日依山盡，黃河入海流。欲窮千里目，更上一層樓。"
    plain, pasted = run("reconstruct", simplified), run("reconstruct", traditional)
    assert pasted.exit_code == 0 and pasted.stdout == plain.stdout  # read as the corpora are
    assert f"read in Simplified script: {simplified}" in pasted.output
    assert "<unk>" not in pasted.output
    seven = "两个黄鹂鸣翠柳，一行白鹭上青天。窗含西岭千秋雪，门泊东吴万里船。"
    for args in (("reconstruct", seven), ("interpolate", simplified, seven)):
        result = run(*args)
        assert_one_line_error(result)
        assert "4 lines of 7 characters" in result.output and "try --form qiyan" in result.output
    assert run("reconstruct", seven, "--form", "qiyan").exit_code == 0
    # 龍鳳 are read as 龙凤; characters with no reading are listed in the order given
    assert run("generate", "--acrostic", "龍鳳呈祥", "-n", 1, "--seed", 1).stdout[0] == "龙"
    result = run("generate", "--acrostic", "鿏鿎呈祥", "-n", 1)
    assert_one_line_error(result)
    assert "vocabulary: 鿏鿎" in result.output
    result = run("reconstruct", "白日依山鿏，黄河入海鿎。欲穷千里目，更上一层鿏。")
    assert result.output.endswith("(read as <unk>): 鿏鿎\n")


def test_train_help_describes_the_presets_and_every_settable_key():
    from poetvae.core.config import settable
    from poetvae.text.model import PoetVAEConfig

    text = " ".join(run("train", "--help").output.split())
    assert "tiny = width 32" in text and "base = width 192" in text
    keys = settable(PoetVAEConfig)
    assert "free_bits" in keys and "vocab_size" not in keys  # the corpus sets the vocabulary
    assert all(f"{k}={v}" in text for k, v in keys.items())
    assert "free_bits: the KL of each latent dimension" in text
    result = run("train", "--corpus", "x", "--set", "latent=3")
    assert_one_line_error(result)
    assert "key 'latent' is unknown: choose from d_model, n_layers" in result.output
    assert "free_bits" in result.output


def test_generate_without_a_seed_differs_between_runs():
    first, second = run("generate", "-n", 3), run("generate", "-n", 3)
    assert first.exit_code == 0 and second.exit_code == 0, first.output
    assert first.output != second.output


def test_generate_uses_the_bundled_model_by_default():
    result = run("generate", "-n", 2, "--seed", 0)
    assert result.exit_code == 0, result.output
    poems = result.output.strip().split("\n\n")
    assert len(poems) == 2
    for poem in poems:
        lines = poem.split("\n")
        assert len(lines) == 4 and all(len(line) == 6 for line in lines)  # 5 chars + ，/。


def test_a_fixed_rhyme_character_without_a_rhyme_group_is_a_clear_error():
    from poetvae.text import prosody

    assert not prosody.rhyme_groups("𣃁")  # in the bundled vocabulary, no modern reading
    pattern = "床前＿＿光，疑是＿＿𣃁"
    result = run("generate", "--pattern", pattern, "-n", 1, "--seed", 0)
    assert_one_line_error(result)
    assert "turn rhyme off" in result.output
    result = run("generate", "--pattern", pattern, "-n", 1, "--seed", 0, "--no-rhyme")
    line = result.output.split("\n")[1]
    assert result.exit_code == 0 and line.startswith("疑是") and line.endswith("𣃁。")


@pytest.mark.parametrize("form,line", [("wuyan", "白日依山尽"), ("qiyan", "两个黄鹂鸣翠柳")])
def test_a_pattern_may_keep_line_3_only_and_a_kept_character_that_breaks_tones_is_named(form, line):
    pattern = "，".join(["＿" * len(line)] * 2 + [line])
    result = run("generate", "--form", form, "--pattern", pattern, "-n", 3, "--format", "json")
    assert result.exit_code == 0, result.output
    assert [p["lines"][2] for p in json.loads(result.output)] == [line] * 3
    pattern = "＿" * len(line) + "，" + line  # as line 2, whose end must rhyme, so be 平
    strict = run("generate", "--form", form, "--pattern", pattern, "--tones", "strict")
    assert_one_line_error(strict)
    assert "the kept " in strict.output and "(line 2, character " in strict.output
    assert "where every regulated 平仄 template wants" in strict.output


def test_bundled_model_rhymes_by_default_and_not_with_no_rhyme():
    from poetvae.text import prosody

    def rhyme_rate(*flags, book="pingshui"):
        result = run("generate", "-n", 40, "--seed", 5, "--format", "json", *flags)
        assert result.exit_code == 0, result.output
        poems = [row["lines"] for row in json.loads(result.output)]
        return sum(prosody.check(p, book)["rhyme"] for p in poems) / len(poems)

    assert rhyme_rate() == 1.0  # by 平水韵, the default
    assert rhyme_rate("--rhyme-book", "xinyun", book="xinyun") == 1.0
    assert rhyme_rate("--no-rhyme") < 0.6  # the model alone rhymes about one quatrain in five


@pytest.mark.parametrize(
    "args",
    [
        ["train", "--corpus", "no-such-corpus"],
        ["train", "--corpus", "{empty}"],
        ["train", "--corpus", "{poems}", "--device", "tpu"],
        ["train", "--corpus", "{poems}", "--epochs", "1", "--max-steps", "2"],
        ["train", "--corpus", "{poems}", "--out", "{run}"],  # holds a run: needs --resume
        ["train", "--corpus", "{poems}", "--out", "{tmp}/fresh", "--resume"],
        ["train", "--corpus", "{poems}", "--set", "latent_dim=many"],
        ["train", "--corpus", "{poems}", "--set", "vocab_size=3"],  # the corpus decides it
        ["train", "--out", "{tmp}/fresh"],  # a new run needs a corpus
        ["train", "--resume"],  # which run?
        ["train", "--out", "{run}", "--resume", "--preset", "base"],
        ["generate", "--checkpoint", "{tmp}/nowhere"],
        ["generate", "--checkpoint", "{run}", "-n", "0"],
        ["generate", "--checkpoint", "{run}", "-n", "-3"],
        ["generate", "--checkpoint", "{run}", "--temperature", "-1"],
        ["generate", "--checkpoint", "{run}", "--device", "cuda"],
        ["generate", "--checkpoint", "{corrupt}"],
        ["corpus", "show", "no-such-corpus"],
    ],
)
def test_bad_input_is_one_line_and_nonzero(args, tmp_path, poem_file, tiny_run):
    corrupt = tmp_path / "corrupt"
    ckpt = checkpoint.resolve(tiny_run)
    corrupt.mkdir()
    for f in ckpt.iterdir():
        (corrupt / f.name).write_bytes(f.read_bytes())
    (corrupt / checkpoint.WEIGHTS).write_bytes(b"\0" * 100)
    (tmp_path / "empty.txt").write_text("")
    subs = {
        "{empty}": str(tmp_path / "empty.txt"),
        "{poems}": str(poem_file),
        "{run}": str(tiny_run),
        "{corrupt}": str(corrupt),
        "{tmp}": str(tmp_path),
    }
    for key, value in subs.items():
        args = [a.replace(key, value) for a in args]
    before = sorted(p.name for p in ckpt.iterdir())
    result = run(*args)
    assert_one_line_error(result)
    assert sorted(p.name for p in ckpt.iterdir()) == before  # nothing overwritten


def test_corpus_list_and_show():
    listing = run("corpus", "list")
    assert listing.exit_code == 0
    assert "tang-wuyan-quatrain" in listing.output and "4 lines x 5 chars" in listing.output
    show = run("corpus", "show", "tang-wuyan-couplet", "-n", 2)
    assert show.exit_code == 0, show.output
    assert show.output.count("。") >= 2


def all_commands(group=main, path=()):
    yield path, group
    for name, command in getattr(group, "commands", {}).items():
        yield from all_commands(command, (*path, name))


@pytest.mark.parametrize(
    "path,command", list(all_commands()), ids=lambda v: " ".join(v) if isinstance(v, tuple) else ""
)
def test_every_command_explains_every_option(path, command):
    assert command.help, f"{path} has no help text"
    for param in command.params:
        if isinstance(param, click.Option):
            assert param.help, f"{path} {param.opts} has no help"
    result = run(*path, "--help")
    assert result.exit_code == 0


def test_eval_json_has_every_documented_key(tiny_run, poem_file):
    result = run(
        "eval",
        "--checkpoint",
        tiny_run,
        "--corpus",
        poem_file,
        "--split",
        "valid",
        "--iw-samples",
        3,
        "--samples",
        20,
        "--limit",
        10,
        "--format",
        "json",
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    for key in (
        "recon_per_poem",
        "recon_per_char",
        "kl_per_poem",
        "kl_per_char",
        "elbo_per_poem",
        "iwae_nll_per_poem",
        "iwae_nll_per_char",
        "active_units",
        "mutual_information",
        "mi_items",
        "char_accuracy",
    ):
        assert isinstance(report["data"][key], (int, float)), key
        assert report["data"][key] == report["data"][key]  # not NaN
    assert report["data"]["iw_samples"] == 3 and report["data"]["n"] == 10
    assert report["samples"]["rhyme"] is True  # samples are decoded as generate decodes them
    assert report["samples"]["rhyme_book"] == "pingshui"
    assert report["samples"]["prosody"]["rhyme_pingshui"] == 1.0  # rhymed by the book
    for side in ("samples", "reference"):
        for key in ("novelty", "distinct_1", "distinct_2", "repeat_line_share"):
            assert 0 <= report[side][key] <= 1
        assert 0 <= report[side]["prosody"]["all"] <= 1
        prosody = report[side]["prosody"]  # rhyme by both books, for samples and real poems
        assert prosody["rhyme"] == prosody["rhyme_pingshui"] and 0 <= prosody["rhyme_xinyun"] <= 1
        assert 0 < report[side]["bigram_nll_per_char"] < 20
    text = run(
        "eval",
        "--checkpoint",
        tiny_run,
        "--corpus",
        poem_file,
        "--split",
        "valid",
        "--iw-samples",
        2,
        "--samples",
        5,
        "--limit",
        5,
    )
    assert text.exit_code == 0 and "IWAE NLL" in text.output and "(K=2)" in text.output
    assert "prosody rhyme_pingshui" in text.output and "prosody rhyme_xinyun" in text.output


def test_write_to_order_commands(tiny_run):
    from poetvae.text.model import load

    heads = "".join(c for c in load(tiny_run).vocab.itos[2:] if len(c) == 1)[:4]
    result = run(
        "generate",
        "--checkpoint",
        tiny_run,
        "-n",
        2,
        "--seed",
        1,
        "--acrostic",
        heads,
        "--tones",
        "strict",
        "--rerank",
        2,
        "--format",
        "json",
    )
    assert result.exit_code == 0, result.output
    assert all("".join(line[0] for line in p["lines"]) == heads for p in json.loads(result.output))
    result = run("generate", "--checkpoint", tiny_run, "-n", 1, "--pattern", heads[:2] + "＿＿＿")
    assert result.exit_code == 0 and result.output.startswith(heads[:2])
    poem = "".join(
        heads[i % 4] + heads[(i + 1) % 4] + heads[(i + 2) % 4] + heads[(i + 3) % 4] + heads[i % 4]
        for i in range(4)
    )
    result = run("reconstruct", poem, "--checkpoint", tiny_run)
    assert result.exit_code == 0 and "kept" in result.output
    result = run(
        "interpolate", poem, poem[::-1], "--checkpoint", tiny_run, "--steps", 3, "--format", "json"
    )
    assert result.exit_code == 0 and len(json.loads(result.output)) == 3
    for bad in (
        ["generate", "--acrostic", heads[:3]],
        ["generate", "--pattern", "太长的一行字啊啊"],
        ["reconstruct", "白日依山尽"],
        ["interpolate", poem, poem, "--steps", 1],
    ):
        assert_one_line_error(run(*bad, "--checkpoint", tiny_run))


def test_help_imports_no_torch_and_generate_no_datasets(tiny_run):
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    helped = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "poetvae", "--help"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert helped.returncode == 0 and "Commands:" in helped.stdout
    imported = {line.split("|")[-1].strip() for line in helped.stderr.splitlines()}
    assert not {m for m in imported if m.split(".")[0] in ("torch", "datasets")}
    code = (
        "import sys; from poetvae.cli import main\n"
        f"main(['generate', '-n', '2', '--checkpoint', {str(tiny_run)!r}], standalone_mode=False)\n"
        "assert 'torch' in sys.modules and 'datasets' not in sys.modules"
    )
    generated = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True
    )
    assert generated.returncode == 0, generated.stderr


@pytest.mark.parametrize("command", ["generate", "reconstruct", "interpolate", "eval"])
def test_form_picks_a_bundled_model_and_clashes_with_checkpoint(command, tiny_run):
    poem = "白日依山尽黄河入海流欲穷千里目更上一层楼"
    args = {"reconstruct": [poem], "interpolate": [poem, poem]}.get(command, [])
    both = run(command, *args, "--form", "wuyan", "--checkpoint", tiny_run)
    assert_one_line_error(both)
    assert both.exit_code == 2 and "--form" in both.output and "--checkpoint" in both.output


@pytest.mark.parametrize("command", ["generate", "reconstruct", "interpolate", "eval"])
@pytest.mark.parametrize("form", ["qiyan", "wulu", "qilu"])
def test_a_form_without_a_bundled_model_is_a_one_line_error(command, form, monkeypatch, tmp_path):
    from poetvae.text import forms

    monkeypatch.setattr(forms.resources, "files", lambda package: tmp_path)  # no assets
    poem = "白日依山尽黄河入海流欲穷千里目更上一层楼"
    args = {"reconstruct": [poem], "interpolate": [poem, poem]}.get(command, [])
    missing = run(command, *args, "--form", form)
    assert_one_line_error(missing)
    assert missing.exit_code == 1 and f"no bundled {form} model in this install" in missing.output


def test_an_unknown_form_is_a_usage_error_that_lists_the_registry():
    from poetvae.text.forms import FORMS

    wrong = run("generate", "--form", "sonnet")
    assert_one_line_error(wrong)
    assert wrong.exit_code == 2 and all(name in wrong.output for name in FORMS)


def test_form_qiyan_writes_seven_character_quatrains_to_order():
    result = run("generate", "-n", 3, "--seed", 1, "--form", "qiyan", "--format", "json")
    assert result.exit_code == 0, result.output
    poems = [p["lines"] for p in json.loads(result.output)]
    assert len(poems) == 3 and all(len(p) == 4 and {len(x) for x in p} == {7} for p in poems)
    ordered = run(
        "generate",
        "-n",
        2,
        "--seed",
        2,
        "--form",
        "qiyan",
        "--acrostic",
        "春夏秋冬",
        "--tones",
        "strict",
        "--format",
        "json",
    )
    assert ordered.exit_code == 0, ordered.output
    for poem in json.loads(ordered.output):
        assert "".join(line[0] for line in poem["lines"]) == "春夏秋冬"
        assert prosody.check(poem["lines"])["all"]


def test_form_wuyan_is_the_default_bundled_model():
    assert run("generate", "-n", 2, "--seed", 3, "--form", "wuyan").output == (
        run("generate", "-n", 2, "--seed", 3).output
    )


def number_options():
    for path, command in all_commands():
        for param in command.params:
            if isinstance(param.type, (click.FloatRange, click.types.FloatParamType)):
                yield path, param


@pytest.mark.parametrize(
    "path,param", list(number_options()), ids=lambda v: " ".join(v) if isinstance(v, tuple) else ""
)
@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e999"])
def test_every_float_option_refuses_nan_and_inf(path, param, value):
    from poetvae.options import Number

    assert isinstance(param.type, Number), f"{path} {param.opts} takes a plain float"
    result = run(*path, param.opts[0], value)  # converted first: the error comes before any other
    assert result.exit_code == 2 and "not a finite number" in result.output, result.output


def test_numeric_ranges_are_in_the_help_and_their_limits_in_the_error():
    assert "0<x<=1" in run("generate", "--help").output
    result = run("generate", "--rerank", 100_000)
    assert result.exit_code == 2 and "1<=x<=100" in result.output
    result = run("interpolate", "a", "b", "--steps", 10**6)
    assert result.exit_code == 2 and "2<=x<=1000" in result.output


@pytest.mark.parametrize(
    "args",
    [
        ["--bogus"],
        ["nosuch"],
        ["generate", "--form", "x"],
        ["image", "sample"],
        ["eval", "-n", 2],
        ["reconstruct", "", "\n"],  # found by the fuzz suite: the line break broke the line
        ["reconstruct", "", "\f"],  # and so did a form feed
    ],
)
def test_usage_errors_are_one_line_with_a_pointer_to_help(args):
    result = run(*args)
    assert_one_line_error(result)
    assert result.exit_code == 2 and "--help'" in result.output


def test_generate_streams_the_same_poems_whatever_n_and_format():
    ten = run("generate", "-n", 10, "--seed", 1)
    many = run("generate", "-n", 600, "--seed", 1)  # three chunks of 256
    assert ten.exit_code == 0 and many.exit_code == 0
    assert many.output.startswith(ten.output) and many.output.count("\n\n") == 599
    as_json = json.loads(run("generate", "-n", 3, "--seed", 1, "--format", "json").output)
    lines = run("generate", "-n", 3, "--seed", 1, "--format", "jsonl").output.splitlines()
    assert [json.loads(line) for line in lines] == as_json
    text = run("generate", "-n", 3, "--seed", 1, "--format", "json").output
    assert text == json.dumps(as_json, ensure_ascii=False, indent=1) + "\n"


def test_a_closed_pipe_ends_generate_at_once_without_a_traceback():
    import os
    import subprocess
    import sys
    import time
    from pathlib import Path

    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    cmd = [sys.executable, "-m", "poetvae", "generate", "-n", "100000000", "--seed", "1"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first = proc.stdout.readline()
    start = time.monotonic()
    proc.stdout.close()  # what `| head -1` does
    _, err = proc.communicate(timeout=60)
    assert first.decode().endswith("，\n")
    assert proc.returncode == 1 and err == b""
    assert time.monotonic() - start < 10  # at the next chunk at the latest, not after 10^8 poems


@pytest.mark.parametrize(
    "text,count",
    [
        ("hello world\nthis is not a poem\n", "2 texts, none a poem"),  # not Chinese verse
        ("白日\n黄河\n", "train 2, valid 0"),  # verse, but too little of it to split
    ],
)
def test_a_corpus_too_small_to_split_is_refused_in_one_line(tmp_path, text, count):
    corpus = tmp_path / "poems.txt"
    corpus.write_text(text, encoding="utf-8")
    out = tmp_path / "run"
    args = ["--preset", "tiny", "--max-steps", 2, "--device", "cpu", "--quiet"]
    result = run("train", "--corpus", corpus, "--out", out, *args)
    assert result.exit_code == 1 and not out.exists()
    message = result.output.strip()
    assert "\n" not in message and str(corpus) in message and count in message


def test_the_library_decodes_by_default_as_the_cli_does(tiny_run):
    from poetvae.text.generate import generate
    from poetvae.text.model import load

    result = run("generate", "--checkpoint", tiny_run, "-n", 3, "--seed", 4, "--format", "json")
    assert result.exit_code == 0, result.output
    lines = [row["lines"] for row in json.loads(result.output)]
    assert lines == generate(load(tiny_run), 3, seed=4)


CHUN_WANG = "，".join(  # 杜甫《春望》, a 五言律诗
    ["国破山河在", "城春草木深", "感时花溅泪", "恨别鸟惊心", "烽火连三月", "家书抵万金"]
    + ["白头搔更短", "浑欲不胜簪"]
)


def test_an_eight_line_model_writes_strict_acrostics_and_evaluates_parallelism(tiny_wulu_run):
    from poetvae.text import prosody
    from poetvae.text.model import load

    heads = "".join(c for c in load(tiny_wulu_run).vocab.itos[2:] if len(c) == 1)[:8]
    written = run(
        "generate", "--checkpoint", tiny_wulu_run, "-n", 2, "--seed", 1, "--tones", "strict",
        "--acrostic", heads, "--format", "json",
    )  # fmt: skip
    assert written.exit_code == 0, written.output
    for row in json.loads(written.output):
        assert len(row["lines"]) == 8 and "".join(x[0] for x in row["lines"]) == heads
        assert prosody.check(row["lines"])["all"]
    short = run("generate", "--checkpoint", tiny_wulu_run, "--acrostic", heads[:4])
    assert_one_line_error(short)
    assert short.exit_code == 1 and "acrostic needs 8 characters" in short.output
    table = run(
        "eval", "--checkpoint", tiny_wulu_run, "--corpus", "tang-wuyan-lushi", "--iw-samples", 2,
        "--samples", 10, "--limit", 10,
    )  # fmt: skip
    assert table.exit_code == 0, table.output
    assert "parallelism " in table.output and "prosody adhesion" in table.output


def test_a_poem_of_another_registered_form_names_its_form(tiny_run, tiny_wulu_run):
    eight = run("reconstruct", CHUN_WANG, "--checkpoint", tiny_run)
    assert_one_line_error(eight)
    assert eight.exit_code == 2 and "try --form wulu" in eight.output
    quatrain = "白日依山尽，黄河入海流。欲穷千里目，更上一层楼。"
    four = run("reconstruct", quatrain, "--checkpoint", tiny_wulu_run)
    assert_one_line_error(four)
    assert four.exit_code == 2 and "try --form wuyan" in four.output
