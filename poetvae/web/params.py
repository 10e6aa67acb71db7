"""Request options of `poetvae serve`, read in one place.

`WRITE` is the one table from a request to `text.compose.write`: each option of `poetvae
generate`, under the CLI's name (`top_p` or `top-p`; a flag is a boolean, `rhyme=false` is
`--no-rhyme`), with the CLI's default and range, and the `write` keyword or `Decoding` field it
sets. A new option is one more row here (tests/test_web_api.py checks the table against the
CLI's `generate` options, `write`'s signature and `Decoding`'s fields). Values come typed from
JSON or as strings from a query string; anything else is a `BadRequest` with a one-line message.
No web framework here.
"""

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any

from ..text.decoding import MAX_PRESENCE, MAX_RARITY, MAX_TEMPERATURE, PRECISIONS, Decoding
from ..text.forms import DEFAULT_FORM, FORMS
from ..text.prosody import RHYME_BOOKS
from .limits import Limits

DECODING = Decoding()  # the defaults
DECODING_FIELDS = frozenset(f.name for f in fields(Decoding))


class BadRequest(ValueError):
    """A request the server refuses: answered 400 with its one-line message."""


@dataclass(frozen=True)
class Option:
    """One request option.

    kind: int, float, bool or str. default: used when absent, null or an empty string.
    kwarg: the library keyword it sets, or the `Decoding` field (None: the option is read but
        passed on by the caller).
    lo, hi: inclusive bounds, the CLI's, or the name of a `Limits` field where the server's is
        tighter (said by `public`); lo_open makes lo exclusive.
    choices: the allowed strings. convert: value -> keyword value (e.g. allow_repeats ->
    no_repeat). required: no default.
    """

    kind: type
    default: Any = None
    kwarg: str | None = None
    lo: float | None = None
    hi: float | str | None = None
    lo_open: bool = False
    choices: tuple[str, ...] | None = None
    convert: Callable[[Any], Any] | None = None
    required: bool = False


FORM = Option(str, DEFAULT_FORM, choices=tuple(FORMS))

# The options of `poetvae generate` (and their `write` keywords). Keep in step with the CLI.
WRITE = {
    "form": FORM,
    "n": Option(int, 5, "n", lo=1, hi="max_poems"),
    "seed": Option(int, None, "seed", lo=-(2**63), hi=2**64 - 1),
    "temperature": Option(float, DECODING.temperature, "temperature", lo=0, hi=MAX_TEMPERATURE),
    "top_p": Option(float, DECODING.top_p, "top_p", lo=0, hi=1, lo_open=True),
    "allow_repeats": Option(bool, not DECODING.no_repeat, "no_repeat", convert=lambda v: not v),
    "rhyme": Option(bool, DECODING.rhyme, "rhyme"),
    "rhyme_book": Option(str, DECODING.rhyme_book, "rhyme_book", choices=tuple(RHYME_BOOKS)),
    "keywords": Option(str, None, "keywords"),
    "acrostic": Option(str, None, "acrostic"),
    "pattern": Option(str, None, "pattern"),
    "tones": Option(str, "free", "tones", choices=("free", "strict")),
    "rerank": Option(int, 1, "rerank", lo=1, hi="max_rerank"),
    "passes": Option(int, DECODING.passes, "passes", lo=1, hi="max_passes"),
    "refine": Option(int, DECODING.refine, "refine", lo=0, hi="max_refine"),
    "rarity": Option(float, DECODING.rarity, "rarity", lo=0, hi=MAX_RARITY),
    "presence": Option(float, DECODING.presence, "presence", lo=0, hi=MAX_PRESENCE),
    "precision": Option(str, DECODING.precision, "precision", choices=PRECISIONS),
}
# `poetvae reconstruct POEM` and `poetvae interpolate POEM_A POEM_B --steps --slerp`
RECONSTRUCT = {"form": FORM, "poem": Option(str, kwarg="text", required=True)}
VOCAB = {"form": FORM}  # the characters a form's model writes (the page checks an edit by them)
INTERPOLATE = {
    "form": FORM,
    "a": Option(str, kwarg="a", required=True),
    "b": Option(str, kwarg="b", required=True),
    "steps": Option(int, 8, "steps", lo=2, hi="max_steps"),
    "slerp": Option(bool, False, "slerp"),
}

_INT = re.compile(r"[+-]?\d{1,30}")
_TRUE, _FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off")


def read(query: Mapping[str, Any], table: Mapping[str, Option], limits: Limits) -> dict[str, Any]:
    """Check a request's options against a table.

    Args:
        query: option name -> value (JSON-typed, or strings from a query string).
        table: `WRITE`, `RECONSTRUCT` or `INTERPOLATE`.
        limits: the server's bounds.

    Returns:
        option name -> value, for every option of the table (defaults filled in).

    Raises:
        BadRequest: an unknown option, a value of the wrong type or out of range.
    """
    values = {}
    for key, value in query.items():
        name = key.replace("-", "_")
        if name not in table:
            raise BadRequest(f"unknown option {key!r}: choose from {', '.join(table)}")
        values[name] = value
    return {name: _value(name, opt, values.get(name), limits) for name, opt in table.items()}


def kwargs(values: Mapping[str, Any], table: Mapping[str, Option]) -> dict[str, Any]:
    """The library keywords that checked option values (from `read`) stand for; those of
    `Decoding` fields as one `decoding` keyword."""
    out, decoding = {}, {}
    for name, opt in table.items():
        if opt.kwarg is not None:
            value = values[name] if opt.convert is None else opt.convert(values[name])
            (decoding if opt.kwarg in DECODING_FIELDS else out)[opt.kwarg] = value
    if decoding:
        out["decoding"] = Decoding(**decoding)
    return out


def public(table: Mapping[str, Option], limits: Limits) -> dict[str, dict]:
    """The options of a table as the page and API users see them: type, default, range, and
    `why` where the server bounds an option more tightly than the CLI does."""
    out = {}
    for name, opt in table.items():
        hi = getattr(limits, opt.hi) if isinstance(opt.hi, str) else opt.hi
        row = {"type": opt.kind.__name__, "default": opt.default, "min": opt.lo, "max": hi}
        if opt.choices:
            row["choices"] = list(opt.choices)
        if isinstance(opt.hi, str):  # a server limit
            row["why"] = (
                f"at most {hi} on this server (the CLI allows more): each request's time is bounded"
            )
        out[name] = {k: v for k, v in row.items() if v is not None or k == "default"}
    return out


def _value(name: str, opt: Option, raw: Any, limits: Limits) -> Any:
    if raw is None or raw == "":
        if opt.required:
            raise BadRequest(f"{name} is required")
        return opt.default
    value = _typed(name, opt.kind, raw)
    if opt.kind is str:
        if len(value) > limits.max_chars:
            raise BadRequest(f"{name} is longer than {limits.max_chars} characters")
        if opt.choices and value not in opt.choices:
            raise BadRequest(f"{name} must be one of {', '.join(opt.choices)}, got {value!r}")
        return value
    hi = getattr(limits, opt.hi) if isinstance(opt.hi, str) else opt.hi
    too_low = opt.lo is not None and (value <= opt.lo if opt.lo_open else value < opt.lo)
    if too_low or (hi is not None and value > hi):
        lo = "" if opt.lo is None else f"{'>' if opt.lo_open else '>='} {opt.lo}"
        upper = "" if hi is None else f"<= {hi}"
        raise BadRequest(f"{name} must be {' and '.join(x for x in (lo, upper) if x)}")
    return value


def _typed(name: str, kind: type, raw: Any) -> Any:
    text = isinstance(raw, str)
    if kind is bool:
        if isinstance(raw, bool):
            return raw
        if text and raw.lower() in _TRUE + _FALSE:
            return raw.lower() in _TRUE
        raise BadRequest(f"{name} must be true or false")
    if kind is int:
        if isinstance(raw, int) and not isinstance(raw, bool):
            return raw
        if text and _INT.fullmatch(raw.strip()):
            return int(raw)
        raise BadRequest(f"{name} must be an integer")
    if kind is float:
        try:
            value = float(raw) if text or type(raw) in (int, float) else None
        except ValueError:
            value = None
        if value is None or not math.isfinite(value):
            raise BadRequest(f"{name} must be a finite number")
        return value
    if not text:
        raise BadRequest(f"{name} must be a string")
    return raw.strip()
