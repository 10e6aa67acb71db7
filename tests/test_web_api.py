"""`poetvae serve`'s JSON API on a real loopback server: same poems as the CLI, one-line 4xx for
bad input, bounds, concurrency, and no web framework on `generate`'s import path."""

import inspect
import json
import os
import subprocess
import sys
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
        assert {k: p[k] for k in ("tones", "rhyme_positions", "rhyme_groups", "rules")} == (
            prosody.annotate(p["lines"])
        )


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
    status, path = call(studio + "/api/interpolate", a=DENG_GUAN_QUE_LOU, b=JING_YE_SI, steps=3)
    assert status == 200 and [p["t"] for p in path["poems"]] == [0, 0.5, 1]


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


def test_a_model_of_the_wrong_form_is_refused(tiny_run):
    from poetvae.web.app import create_app

    with serving(create_app({"qiyan": tiny_run})) as url:
        code, answer = call(url + "/api/write", form="qiyan")
    assert code == 500 and "writes 4 lines of 5" in answer["error"]


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
