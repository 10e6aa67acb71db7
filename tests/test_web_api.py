"""`poetvae serve`'s JSON API on a real loopback server: same poems as the CLI, one-line 4xx for
bad input, bounds, concurrency, and no web framework on `generate`'s import path."""

import contextlib
import inspect
import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import click
import pytest
from click.testing import CliRunner

from poetvae.cli import main
from poetvae.text import prosody
from poetvae.text.compose import write
from poetvae.web import params

from .conftest import serving

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")

JING_YE_SI = "床前明月光，疑是地上霜。举头望明月，低头思故乡。"
DENG_GUAN_QUE_LOU = "白日依山尽，黄河入海流。欲穷千里目，更上一层楼。"


def call(url: str, body: bytes | str | dict | None = None, method: str | None = None, **query):
    """(status, decoded JSON) of a GET with `query`, or of a POST of `body`."""
    if query:
        url += "?" + urllib.parse.urlencode(query)
    if isinstance(body, dict):
        body = json.dumps(body, ensure_ascii=False)
    data = body.encode() if isinstance(body, str) else body
    request = urllib.request.Request(url, data=data, method=method)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def cli_poems(run_dir, *args) -> list[list[str]]:
    result = CliRunner().invoke(
        main, ["generate", "--checkpoint", str(run_dir), "--format", "json", *map(str, args)]
    )
    assert result.exit_code == 0, result.output
    return [row["lines"] for row in json.loads(result.output)]


def cli_generate_options() -> dict[str, object]:
    command = main.commands["generate"]
    # where the model is (the web's form picks a loaded model) and how output is printed
    shell_only = {"checkpoint", "form", "fmt", "device"}
    ctx = click.Context(command)
    return {p.name: p.get_default(ctx) for p in command.params if p.name not in shell_only}


def test_the_write_table_has_every_generate_option_with_the_cli_default():
    table = {name: opt.default for name, opt in params.WRITE.items() if name != "form"}
    assert table == cli_generate_options()
    keywords = set(inspect.signature(write).parameters) | params.DECODING_FIELDS
    assert all(opt.kwarg in keywords for opt in params.WRITE.values() if opt.kwarg)
    assert params.DECODING_FIELDS <= {opt.kwarg for opt in params.WRITE.values()}


def test_the_page_has_a_field_for_every_write_option():
    from importlib import resources

    page = resources.files("poetvae.web").joinpath("static", "index.html").read_text("utf-8")
    # the form's radio buttons are built by app.js from the loaded models
    missing = [name for name in params.WRITE if f'name="{name}"' not in page and name != "form"]
    assert not missing


@pytest.mark.parametrize(
    "options,args",
    [
        ({"seed": 2, "n": 3}, ["--seed", 2, "-n", 3]),
        (
            {"seed": 1, "n": 4, "tones": "strict", "rerank": 2, "acrostic": "HEADS"},
            ["--seed", 1, "-n", 4, "--tones", "strict", "--rerank", 2, "--acrostic", "HEADS"],
        ),
        (
            {"seed": 5, "n": 2, "temperature": 0, "allow_repeats": True, "rhyme": False},
            ["--seed", 5, "-n", 2, "--temperature", 0, "--allow-repeats", "--no-rhyme"],
        ),
        (
            {"seed": 3, "n": 2, "rhyme_book": "xinyun"},
            ["--seed", 3, "-n", 2, "--rhyme-book", "xinyun"],
        ),
    ],
)
def test_the_api_writes_the_cli_poems(studio, tiny_run, heads, options, args):
    options = {k: heads if v == "HEADS" else v for k, v in options.items()}
    args = [heads if a == "HEADS" else a for a in args]
    status, got = call(studio + "/api/write", options)  # POST JSON
    assert status == 200, got
    assert [p["lines"] for p in got["poems"]] == cli_poems(tiny_run, *args)
    status, again = call(studio + "/api/write", **options)  # the same as a query string
    assert status == 200 and again["poems"] == got["poems"]
    for p in got["poems"]:
        assert prosody.annotate(p["lines"], got["options"]["rhyme_book"]).items() <= p.items()


def test_the_studio_limits_equal_the_clis_or_say_why(studio):
    status, spec = call(studio + "/api/options")
    assert status == 200
    cli = {p.name: p for p in main.commands["generate"].params}
    for name, option in spec["write"].items():
        bound = getattr(cli[name].type, "max", None) if name in cli else None
        if "why" in option:  # tighter than the CLI's, and says so
            assert bound is None or option["max"] < bound
            assert "the CLI allows more" in option["why"]
        elif bound is not None:
            assert option["max"] == bound, name
    assert spec["write"]["temperature"]["max"] == 100
    assert spec["write"]["passes"]["max"] == 10 and "why" in spec["write"]["passes"]
    assert spec["write"]["rhyme_book"]["choices"] == ["pingshui", "xinyun"]


def test_a_request_without_a_seed_echoes_one_that_writes_the_same_poems(studio):
    status, first = call(studio + "/api/write", n=2)
    assert status == 200 and isinstance(first["options"]["seed"], int)
    _, again = call(studio + "/api/write", n=2, seed=first["options"]["seed"])
    assert again["poems"] == first["poems"]


def test_both_forms_reconstruct_and_interpolate(studio, heads):
    status, qiyan = call(studio + "/api/write", form="qiyan", acrostic=heads, n=2, seed=0)
    assert status == 200, qiyan
    assert all(len(line) == 7 for p in qiyan["poems"] for line in p["lines"])
    assert all("".join(line[0] for line in p["lines"]) == heads for p in qiyan["poems"])
    status, rec = call(studio + "/api/reconstruct", {"poem": DENG_GUAN_QUE_LOU})
    assert status == 200 and len(rec["lines"]) == 4 and len(rec["kept"]) == 20
    assert rec["read"] == DENG_GUAN_QUE_LOU
    traditional = "白日依山盡，黃河入海流。欲窮千里目，更上一層樓。"
    status, again = call(studio + "/api/reconstruct", {"poem": traditional})
    assert status == 200 and again["read"] == DENG_GUAN_QUE_LOU and again["lines"] == rec["lines"]
    odd = "鿏鿎依山尽，黄河入海流。欲穷千里目，更上一层鿏。"
    status, rec = call(studio + "/api/reconstruct", {"poem": odd})
    assert status == 200 and rec["unknown"] == ["鿏", "鿎"]  # in the order given
    status, path = call(studio + "/api/interpolate", a=DENG_GUAN_QUE_LOU, b=JING_YE_SI, steps=3)
    assert status == 200 and [p["t"] for p in path["poems"]] == [0, 0.5, 1]


@pytest.mark.parametrize("form", ["wuyan", "qiyan"])
def test_a_rewrite_keeps_line_3_only_and_its_link_writes_it_again(studio, form):
    status, first = call(studio + "/api/write", form=form, n=1, seed=0)
    assert status == 200, first
    lines = first["poems"][0]["lines"]
    n = len(lines[0])
    pattern = "，".join(["＿" * n] * 2 + [lines[2], "＿" * n])  # what the page sends on 重写
    status, again = call(studio + "/api/write", {"form": form, "n": 1, "pattern": pattern})
    assert status == 200, again
    assert again["poems"][0]["lines"][2] == lines[2] and again["options"]["pattern"] == pattern
    link = {k: v for k, v in again["options"].items() if v is not None}  # the page's link
    assert call(studio + "/api/write", **link)[1]["poems"] == again["poems"]


def test_a_kept_character_that_cannot_rhyme_is_a_400_naming_it(studio, tiny_run):
    from poetvae.text.model import load

    known = [c for c in load(tiny_run).vocab.itos[2:] if len(c) == 1]
    a = next(c for c in known if prosody.rhyme_groups(c) == {"十一尤"})
    b = next(c for c in known if prosody.rhyme_groups(c) == {"十四寒"})
    status, answer = call(studio + "/api/write", pattern=f"＿＿＿＿{a}，＿＿＿＿＿，＿＿＿＿{b}")
    assert status == 200  # line 1 does not rhyme under free tones
    status, answer = call(
        studio + "/api/write", pattern=f"＿＿＿＿＿，＿＿＿＿{a}，＿＿＿＿＿，＿＿＿＿{b}"
    )
    assert status == 400 and list(answer) == ["error"]
    assert answer["error"].startswith(f"the kept {b} (line 4, character 5) cannot rhyme with {a}")


def test_the_vocabulary_lists_each_character_once_with_its_tone(studio, tiny_qiyan_run):
    from poetvae.text.model import load

    status, answer = call(studio + "/api/vocab", form="qiyan")
    assert status == 200 and answer["form"] == "qiyan"
    chars = [c for c in load(tiny_qiyan_run).vocab.itos if len(c) == 1]
    assert list(answer["chars"]) == chars and len(set(chars)) == len(chars)
    assert answer["tones"] == "".join(map(prosody.tone_mark, chars))
    assert set(answer["tones"]) <= set("平仄中")


BAD = [
    ("POST", "/api/write", "{", 400, "malformed JSON"),
    ("POST", "/api/write", '{"n": NaN}', 400, "NaN"),
    ("POST", "/api/write", "[1, 2]", 400, "JSON object"),
    ("POST", "/api/write", "[" * 20_000, 413, "over 16384 bytes"),
    ("POST", "/api/write", '{"n": true}', 400, "n must be an integer"),
    ("POST", "/api/write", '{"n": 1e400}', 400, "n must be an integer"),
    ("GET", "/api/write?n=0", None, 400, "n must be >= 1"),
    ("GET", "/api/write?n=100000", None, 400, "<= 16"),
    ("GET", "/api/write?rerank=99", None, 400, "rerank must be"),
    ("GET", "/api/write?temperature=nan", None, 400, "finite"),
    ("GET", "/api/write?top_p=1e999", None, 400, "finite"),
    ("GET", "/api/write?top-p=0", None, 400, "top_p must be > 0"),
    ("GET", "/api/write?seed=one", None, 400, "seed must be an integer"),
    ("GET", "/api/write?tones=loose", None, 400, "tones must be one of free, strict"),
    ("GET", "/api/write?form=liuyan", None, 400, "form must be one of"),
    ("GET", "/api/write?colour=red", None, 400, "unknown option 'colour'"),
    ("GET", "/api/write?acrostic=%E6%98%A5", None, 400, "needs 4 characters"),
    ("GET", "/api/write?acrostic=%F0%A0%80%80%F0%A0%80%80%F0%A0%80%80%F0%A0%80%80", None, 400,
     "not in the model's vocabulary"),
    ("GET", "/api/write?pattern=" + "x" * 201, None, 400, "longer than 200"),
    ("POST", "/api/reconstruct", '{"poem": "白日依山尽"}', 400, "not a poem of the model's form"),
    ("POST", "/api/reconstruct", "{}", 400, "poem is required"),
    ("POST", "/api/interpolate", '{"a": "x", "b": "y", "steps": 1}', 400, "steps must be"),
    ("GET", "/api/nothing", None, 404, "Not Found"),
    ("PUT", "/api/write", None, 405, "Method Not Allowed"),
]  # fmt: skip


@pytest.mark.parametrize("method,path,body,status,message", BAD)
def test_bad_input_is_a_4xx_with_a_one_line_message(studio, method, path, body, status, message):
    code, answer = call(studio + path, body, method)
    assert code == status and list(answer) == ["error"]
    assert message in answer["error"] and "\n" not in answer["error"]
    assert "Traceback" not in answer["error"]
    assert call(studio + "/api/options")[0] == 200  # still up


def test_concurrent_requests_share_one_model_and_answer_as_alone(studio, heads):
    asks = [
        ("/api/write", {"n": 3, "seed": s, "rerank": 1 + s % 2, "acrostic": heads * (s % 2)})
        for s in range(8)
    ] + [("/api/reconstruct", {"poem": JING_YE_SI}), ("/api/write", {"n": 0})]
    alone = [call(studio + path, body) for path, body in asks]
    with ThreadPoolExecutor(8) as pool:
        together = list(pool.map(lambda a: call(studio + a[0], a[1]), asks * 3))
    assert together == alone * 3


@pytest.fixture
def odd_server(tiny_run, monkeypatch):
    """A server whose qiyan model is missing, with a wuyan model that sleeps on writing."""
    from poetvae.web import app as web
    from poetvae.web.limits import Limits

    def missing(form):
        raise ValueError(f"no bundled {form} model in this install")

    def slow(model, kwargs):
        time.sleep(1.0)
        return {"poems": []}

    monkeypatch.setattr(web, "bundled_model", missing)
    monkeypatch.setattr(web, "_write", slow)
    app = web.create_app({"wuyan": tiny_run}, Limits(timeout=0.3))
    with serving(app) as url:
        yield url


def test_a_missing_model_and_a_late_answer_are_one_line_errors(odd_server):
    code, answer = call(odd_server + "/api/write", form="qiyan")
    assert code == 404 and "no bundled qiyan model" in answer["error"]
    assert "--checkpoint qiyan=DIR" in answer["error"]
    _, spec = call(odd_server + "/api/options")
    assert spec["forms"]["qiyan"]["available"] is False
    code, answer = call(odd_server + "/api/write")
    assert code == 503 and answer["error"] == "no answer within 0.3 s; ask for less"
    assert call(odd_server + "/api/options")[0] == 200  # answered while the model works
    time.sleep(1.0)  # the late computation finishes; the next request has the thread
    assert call(odd_server + "/api/reconstruct", poem=JING_YE_SI)[0] == 200


@contextlib.contextmanager
def held_studio(run_dir, timeout: float):
    """A studio whose first decoder call waits for `release`; `calls` records the batch size of
    every decoder call after the server's own check has let it through."""
    from poetvae.web.app import create_app
    from poetvae.web.limits import Limits

    app = create_app({"wuyan": run_dir}, Limits(timeout=timeout))
    model = app.state.models.get("wuyan")  # loaded here, so that the test can watch its calls
    calls, release = [], threading.Event()

    def watch(module, args):  # runs after the server's hook, which raises for dropped work
        calls.append(len(args[0]))
        if len(calls) == 1:
            release.wait(60)

    model.decoder.register_forward_pre_hook(watch)
    with serving(app) as url:
        yield url, calls, release


def test_a_timed_out_request_computes_nothing_after_its_timeout(tiny_run):
    with held_studio(tiny_run, timeout=0.5) as (url, calls, release):
        assert call(url + "/api/write", n=4, seed=1)[0] == 503  # its first model call is held
        release.set()
        assert call(url + "/api/write", n=1, seed=1)[0] == 200  # after the dropped one stopped
        after_two = len(calls)
        assert call(url + "/api/write", n=1, seed=1)[0] == 200
    # the dropped request made its held call only: the rest are the two alike requests'
    assert after_two - 1 == len(calls) - after_two > 0


def test_a_request_whose_client_went_away_computes_no_more(tiny_run, caplog):
    caplog.set_level(logging.INFO, logger="poetvae.web")
    with held_studio(tiny_run, timeout=600) as (url, calls, release):
        host, port = url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port))) as client:
            client.sendall(b"GET /api/write?n=4&seed=1 HTTP/1.1\r\nHost: poetvae\r\n\r\n")
            deadline = time.monotonic() + 30
            while not calls and time.monotonic() < deadline:  # its first model call is held
                time.sleep(0.01)
        deadline = time.monotonic() + 30  # the client has gone; the server notices
        while "the client went away" not in caplog.text and time.monotonic() < deadline:
            time.sleep(0.01)
        release.set()
        assert "the client went away" in caplog.text
        assert call(url + "/api/write", n=1, seed=1)[0] == 200
        after_two = len(calls)
        assert call(url + "/api/write", n=1, seed=1)[0] == 200
    assert after_two - 1 == len(calls) - after_two > 0  # the gone client's held call only


def test_a_model_of_the_wrong_form_is_refused(tiny_run):
    from poetvae.web.app import create_app

    with serving(create_app({"qiyan": tiny_run})) as url:
        code, answer = call(url + "/api/write", form="qiyan")
    assert code == 500 and "writes 4 lines of 5" in answer["error"]


def test_the_studio_lists_the_forms_it_serves(tiny_wulu_run, tiny_keywords_run):
    from poetvae.text.forms import FORMS
    from poetvae.web.app import create_app

    with serving(create_app({"wulu": tiny_wulu_run, "wuyan": tiny_keywords_run})) as url:
        _, spec = call(url + "/api/options")
        code, answer = call(url + "/api/write", form="wulu", n=1, seed=1, tones="strict")
        page = urllib.request.urlopen(url + "/").read().decode()
    assert list(spec["forms"]) == list(FORMS)  # every registered form, in the registry's order
    wulu = spec["forms"]["wulu"]
    assert wulu["available"] and (wulu["lines"], wulu["chars_per_line"]) == (8, 5)
    assert wulu["name_zh"] == "五言律诗" and "regulated" in wulu["title"]
    assert spec["forms"]["wuyan"]["keywords"] and not wulu["keywords"]  # read from the configs
    assert code == 200 and len(answer["poems"][0]["lines"]) == 8
    assert answer["poems"][0]["rules"]["all"] and len(answer["poems"][0]["rhyme_positions"]) >= 4
    assert 'name="form"' not in page  # the buttons come from /api/options, not the page


def test_the_studio_decodes_at_each_models_own_temperature(tiny_tempered_run, tiny_qiyan_run):
    from poetvae.text.decoding import DEFAULT_TEMPERATURE
    from poetvae.web.app import create_app

    with serving(create_app({"wuyan": tiny_tempered_run, "qiyan": tiny_qiyan_run})) as url:
        _, spec = call(url + "/api/options")
        own = call(url + "/api/write", n=4, seed=1)[1]["poems"]
        told = call(url + "/api/write", n=4, seed=1, temperature=1.5)[1]["poems"]
        argmax = call(url + "/api/write", n=4, seed=1, temperature=0)[1]["poems"]
    assert spec["write"]["temperature"]["default"] is None  # the model's
    assert spec["forms"]["wuyan"]["temperature"] == 1.5
    assert spec["forms"]["qiyan"]["temperature"] == DEFAULT_TEMPERATURE  # its config names none
    assert spec["forms"]["wuyan"]["presence"] == 2.0 and spec["forms"]["qiyan"]["presence"] == 0
    assert own == told != argmax


def test_the_page_loads_nothing_from_elsewhere(studio):
    for path in ("/", "/reconstruct", "/interpolate"):
        with urllib.request.urlopen(studio + path) as response:
            assert response.headers["content-type"].startswith("text/html")
            assert "default-src 'self'" in response.headers["content-security-policy"]
    for name in ("index.html", "app.js", "style.css"):
        with urllib.request.urlopen(f"{studio}/static/{name}") as response:
            text = response.read().decode()
        assert "http:" not in text and "https:" not in text and "@import" not in text


def test_serve_binds_loopback_by_default_and_checks_its_checkpoints(tmp_path):
    serve = main.commands["serve"]
    assert {p.name: p.default for p in serve.params}["host"] == "127.0.0.1"
    for bad in ("qiyan", "sanyan=" + str(tmp_path), "qiyan=" + str(tmp_path / "none")):
        result = CliRunner().invoke(main, ["serve", "--checkpoint", bad])
        assert result.exit_code == 2 and "--checkpoint" in result.output


def test_generate_does_not_import_the_web_framework(tiny_run):
    code = (
        "import sys; from poetvae.cli import main; "
        f"main(['generate', '-n', '1', '--checkpoint', {str(tiny_run)!r}], standalone_mode=False); "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'starlette', 'uvicorn', 'anyio'}),"
        " 'poetvae.web.app' in sys.modules)"
    )
    env = {**os.environ, "PYTHONPATH": os.getcwd(), "OMP_NUM_THREADS": "1"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    assert out.stdout.splitlines()[-1] == "[] False"
