"""Frozen-dataclass configs: JSON round trip, named presets and type-checked `key=value` overrides.

Unknown keys are errors, not warnings, so a typo never trains the wrong model silently.
"""

import dataclasses
import json
import typing
from typing import Any, TypeVar

C = TypeVar("C")


def to_dict(cfg: Any) -> dict[str, Any]:
    """Dataclass -> plain dict of JSON-able values."""
    return dataclasses.asdict(cfg)


def from_dict(cls: type[C], data: dict[str, Any]) -> C:
    """Build `cls` from a dict, rejecting unknown keys.

    Raises:
        ValueError: a key that is not a field of `cls`.
    """
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ValueError(f"unknown {cls.__name__} keys: {', '.join(unknown)}")
    return cls(**data)


def to_json(cfg: Any) -> str:
    return json.dumps(to_dict(cfg), indent=1, sort_keys=True)


def apply_overrides(cfg: C, overrides: list[str] | tuple[str, ...]) -> C:
    """A copy of `cfg` with `key=value` strings applied, each parsed as its field's type.

    Only `settable` fields may be set: not those that the command sets from its data and
    choices (the class's `DATA_FIELDS`, e.g. the vocabulary size).

    Raises:
        ValueError: malformed item, unknown or data-given key, or a value of the wrong type.
    """
    hints = typing.get_type_hints(type(cfg))
    keys = settable(type(cfg))
    changes: dict[str, Any] = {}
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep:
            raise ValueError(f"override {item!r} is not key=value")
        if key not in keys:
            what = "is set from the data" if key in hints else "is unknown"
            raise ValueError(
                f"{type(cfg).__name__} key {key!r} {what}: choose from {', '.join(keys)}"
            )
        changes[key] = _parse(hints[key], raw, key)
    return dataclasses.replace(cfg, **changes)


def settable(cls: type) -> dict[str, Any]:
    """The fields of a config class that `apply_overrides` can set, with their defaults: the
    plain ones (bool, int, float, str) that the command does not set (`cls.DATA_FIELDS`)."""
    hints, given = typing.get_type_hints(cls), getattr(cls, "DATA_FIELDS", ())
    return {
        f.name: f.default
        for f in dataclasses.fields(cls)
        if hints[f.name] in (bool, int, float, str) and f.name not in given
    }


def _parse(kind: Any, raw: str, key: str) -> Any:
    if kind is bool:
        if raw.lower() in ("1", "true", "yes"):
            return True
        if raw.lower() in ("0", "false", "no"):
            return False
        raise ValueError(f"{key} expects true/false, got {raw!r}")
    if kind in (int, float, str):
        try:
            return kind(raw)
        except ValueError:
            raise ValueError(f"{key} expects {kind.__name__}, got {raw!r}") from None
    raise ValueError(f"{key} cannot be set from the command line")


def from_preset(cls: type[C], presets: dict[str, dict[str, Any]], name: str, **fields: Any) -> C:
    """`cls()` with the named preset's fields, then `fields`, applied.

    Raises:
        ValueError: an unknown preset name.
    """
    if name not in presets:
        raise ValueError(f"unknown preset {name!r}: use {', '.join(presets)}")
    return dataclasses.replace(cls(), **{**presets[name], **fields})
