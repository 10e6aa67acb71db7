"""The Starlette application of `poetvae serve`: the studio page and its JSON API.

Every endpoint reads its options with `params.read` and calls one library function
(`text.compose.write`, `reconstruct` or `interpolate`; `/api/vocab` lists the model's
characters with their tones, for the page to check a typed edit); each poem goes out with
`text.prosody.annotate`, so the page only renders. Starlette (plus uvicorn to run it) is small,
typed and maintained, and asynchronous: the event loop answers bad input, oversize bodies and a
full queue at once while the model works.

Safety: one inference thread runs every model call, so one shared model per form (loaded on
first use) serves concurrent requests without two torch calls at once; the size of a request
(`Limits`) bounds each computation, and an answer not ready `timeout` seconds after the request
arrived is a 503. The work of a request that timed out or whose client went away is dropped:
before it starts, and, once started, at its next model call (a hook on the encoder and decoder
of each model checks the request's flag), so the next request waits for one model call at
most. Errors are JSON `{"error": "one line"}` with a 4xx/5xx status, never a traceback.
"""

import asyncio
import contextlib
import json
import logging
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from importlib import resources
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ..text import compose, constraints, prosody
from ..text.corpus import format_poem, split_lines
from ..text.decoding import NAMED, Decoding
from ..text.forms import FORMS, bundled_model
from ..text.generate import stream
from . import params
from .limits import Limits
from .params import BadRequest

log = logging.getLogger("poetvae.web")
STATIC = Path(str(resources.files("poetvae.web").joinpath("static")))
PAGES = ("/", "/reconstruct", "/interpolate")  # one page; the path picks its tab
ROWS = 8  # candidate poems a write decodes at once (n x rerank of them in all)
# the page and its files come from this server only: no CDN, no inline script
CSP = "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'"


class Refused(Exception):
    """An expected failure, answered with `status` and the one-line message."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


class Dropped(Exception):
    """The answer is no longer wanted (the request timed out or its client went away)."""


class Models:
    """Each form's model, loaded on first use and then shared by every request.

    Args:
        paths: form -> run directory; a form not given uses its bundled model.
        device: where the models run.
        before_call: called before every encoder and decoder pass of the models; what it
            raises stops the computation.
    """

    def __init__(
        self,
        paths: Mapping[str, str | Path] | None = None,
        device: str = "cpu",
        before_call: Callable[[], None] | None = None,
    ):
        self.paths = dict(paths or {})
        self.device = device
        self.before_call = before_call
        self._loaded: dict[str, Any] = {}
        self._lock = threading.Lock()

    def path(self, form: str) -> Path:
        """The run directory of a form's model. Raises Refused(404) when there is none."""
        if form in self.paths:
            return Path(self.paths[form])
        try:
            return bundled_model(form)
        except ValueError as e:
            raise Refused(404, f"{e}; start the server with --checkpoint {form}=DIR") from None

    def get(self, form: str):
        """The loaded model of a form. Raises Refused(404 or 500) when it cannot be had."""
        from ..core.device import pick_device
        from ..text.model import load

        with self._lock:
            if form not in self._loaded:
                path = self.path(form)
                try:
                    model = load(path, pick_device(self.device))
                except (ValueError, OSError, RuntimeError) as e:
                    raise Refused(500, f"could not load the {form} model: {_line(e)}") from None
                shape = model.cfg.shape
                if shape != FORMS[form].shape:
                    raise Refused(
                        500,
                        f"the {form} model at {path} writes {shape.n_lines} lines of "
                        f"{shape.chars_per_line}",
                    )
                if self.before_call is not None:
                    for part in (model.encoder, model.decoder):
                        part.register_forward_pre_hook(lambda module, args: self.before_call())
                self._loaded[form] = model
            return self._loaded[form]

    def available(self) -> dict[str, dict]:
        """form -> its titles, shape, whether a model is there, whether it reads keywords and
        the decoding settings it names (decoding.NAMED, from its config; nothing is loaded),
        for every registered form in the registry's order."""
        from ..core import checkpoint
        from ..text.model import named_decoding

        out = {}
        for name, form in FORMS.items():
            try:
                ok = self.path(name).exists()
            except Refused:
                ok = False
            keywords, named = False, {}
            try:
                meta = checkpoint.read_meta(self.path(name)) if ok else {}
                keywords = meta.get("model", {}).get("keywords", 0) > 0
                named = named_decoding(meta, name)
            except (ValueError, KeyError, AttributeError, TypeError):
                pass  # the model's load says what is wrong
            own = Decoding().for_model(named)  # what it decodes with unless told otherwise
            out[name] = {
                "title": form.label,
                "name_zh": form.title,
                "lines": form.shape.n_lines,
                "chars_per_line": form.shape.chars_per_line,
                "available": ok,
                "keywords": keywords,
                **{key: getattr(own, key) for key in NAMED},
            }
        return out


def create_app(
    models: Mapping[str, str | Path] | None = None,
    limits: Limits = Limits(),
    device: str = "cpu",
) -> Starlette:
    """The studio application.

    Args:
        models: form -> run directory (e.g. {"qiyan": "runs/qiyan"}); other forms use the
            bundled models. Each loads on its first request.
        limits: bounds on requests.
        device: "cpu", "auto", "cuda" or "cuda:N".

    Returns:
        an ASGI application (run it with uvicorn).
    """
    running = threading.local()  # on the inference thread: `dropped`, the running request's flag

    def check() -> None:
        """Stop the running request's work once its answer is no longer wanted."""
        dropped = getattr(running, "dropped", None)
        if dropped is not None and dropped.is_set():
            raise Dropped

    def job(fn: Callable[[], Any], dropped: threading.Event) -> Any:
        running.dropped = dropped
        try:
            check()  # dropped while it waited for the thread
            return fn()  # and at each model call
        finally:
            running.dropped = None

    shared = Models(models, device, before_call=check)
    pool = ThreadPoolExecutor(1, thread_name_prefix="poetvae-model")
    pending = 0  # requests waiting for or holding the thread (read on the event loop only)

    async def compute(fn: Callable[[], Any], arrived: float, request: Request) -> Any:
        nonlocal pending
        if pending >= limits.max_pending:
            raise Refused(503, f"busy: {pending} requests are waiting; try again shortly")
        pending += 1
        dropped = threading.Event()
        future = asyncio.get_running_loop().run_in_executor(pool, job, fn, dropped)

        def done(_):
            nonlocal pending
            pending -= 1

        future.add_done_callback(done)
        left = limits.timeout - (time.monotonic() - arrived)
        gone = asyncio.ensure_future(_disconnected(request))
        try:
            finished, _ = await asyncio.wait(
                {future, gone}, timeout=max(left, 0.001), return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            gone.cancel()
        if future in finished:
            return future.result()
        dropped.set()  # its work stops at the next model call, or before it starts
        future.cancel()
        if gone in finished:  # nobody reads this answer
            log.info("dropped a request to %s: the client went away", request.url.path)
            raise Refused(503, "the client went away")
        log.info("dropped a request to %s: no answer within the timeout", request.url.path)
        raise Refused(503, f"no answer within {limits.timeout:g} s; ask for less")

    def endpoint(table: Mapping[str, params.Option], run: Callable[[Any, dict], dict]):
        async def handle(request: Request) -> JSONResponse:
            arrived = time.monotonic()
            try:
                values = params.read(await _options(request, limits), table, limits)
                if "seed" in values and values["seed"] is None:
                    # a seed of our own, echoed back, so that the page's link writes these poems
                    values["seed"] = secrets.randbelow(2**31)
                kwargs = params.kwargs(values, table)
                body = await compute(
                    lambda: run(shared.get(values["form"]), kwargs), arrived, request
                )
                return JSONResponse({"form": values["form"], "options": values, **body})
            except Refused as e:
                return _error(e.status, str(e))
            except ValueError as e:  # the library's verdict on the request (BadRequest too)
                return _error(400, _line(e))
            except Exception as e:
                log.exception("request failed")
                return _error(500, f"internal error: {type(e).__name__}")

        return handle

    async def options(request: Request) -> JSONResponse:
        return JSONResponse(
            {
                "forms": shared.available(),
                "limits": asdict(limits),
                "write": params.public(params.WRITE, limits),
                "reconstruct": params.public(params.RECONSTRUCT, limits),
                "interpolate": params.public(params.INTERPOLATE, limits),
            }
        )

    async def page(request: Request) -> FileResponse:
        headers = {"content-security-policy": CSP, "cache-control": "no-cache"}
        return FileResponse(STATIC / "index.html", headers=headers)

    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        return _error(exc.status_code, exc.detail)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        yield
        pool.shutdown(wait=False, cancel_futures=True)

    api = ["GET", "POST"]
    app = Starlette(
        routes=[
            *(Route(path, page) for path in PAGES),
            Route("/api/options", options),
            Route("/api/write", endpoint(params.WRITE, _write), methods=api),
            Route("/api/reconstruct", endpoint(params.RECONSTRUCT, _reconstruct), methods=api),
            Route("/api/interpolate", endpoint(params.INTERPOLATE, _interpolate), methods=api),
            Route("/api/vocab", endpoint(params.VOCAB, _vocab)),
            Mount("/static", StaticFiles(directory=STATIC), name="static"),
        ],
        exception_handlers={HTTPException: http_error},
        lifespan=lifespan,
    )
    app.state.models = shared
    return app


def poem(lines: list[str], book: str = prosody.DEFAULT_RHYME_BOOK) -> dict:
    """One poem as the API gives it: text, lines, tones, rhyme positions (by `book`) and rule
    checks."""
    return {"poem": format_poem(lines), "lines": lines, **prosody.annotate(lines, book)}


def _write(model, kwargs: dict) -> dict:
    # ROWS candidates per call of `write` (the same poems as one call): a dropped request stops
    # at the next model call, and no call of the heaviest request holds the thread for long
    return {
        "poems": [
            poem(p, kwargs["decoding"].rhyme_book)
            for p in stream(compose.write, model, chunk=ROWS, **kwargs)
        ]
    }


def _reconstruct(model, kwargs: dict) -> dict:
    lines, kept = compose.reconstruct(model, **kwargs)
    read_as = constraints.simplified(model, kwargs["text"])
    unknown = list(constraints.unknown_chars(model, "".join(split_lines(read_as))))
    share = sum(kept) / len(kept)
    return {**poem(lines), "kept": kept, "kept_share": share, "unknown": unknown, "read": read_as}


def _interpolate(model, kwargs: dict) -> dict:
    poems = compose.interpolate(model, **kwargs)
    steps = len(poems)
    return {"poems": [{**poem(p), "t": i / (steps - 1)} for i, p in enumerate(poems)]}


async def _disconnected(request: Request) -> None:
    """Return once the client has closed its connection (after the request body, the ASGI
    server's next message is the disconnect)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


def _vocab(model, kwargs: dict) -> dict:
    chars = [c for c in model.vocab.itos if len(c) == 1]  # not <pad> and <unk>
    return {"chars": "".join(chars), "tones": "".join(map(prosody.tone_mark, chars))}


async def _options(request: Request, limits: Limits) -> dict:
    """The request's options: the query string of a GET, the JSON object of a POST."""
    if request.method == "GET":
        return dict(request.query_params)
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limits.max_body:
        raise Refused(413, f"request body over {limits.max_body} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limits.max_body:
            raise Refused(413, f"request body over {limits.max_body} bytes")
    try:
        data = json.loads(body or b"{}", parse_constant=_no_constant)
    except (ValueError, RecursionError) as e:
        raise BadRequest(f"malformed JSON: {_line(e)}") from None
    if not isinstance(data, dict):
        raise BadRequest("the body must be a JSON object of options")
    return data


def _no_constant(name: str):
    raise ValueError(f"{name} is not a number")


def _line(e: Exception) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)
