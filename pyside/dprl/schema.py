"""Schemas of the JSON files dprl reads back (training results, cross-check recordings, the
reproduction's result files), and the one check they all go through: a file that is missing,
truncated or of the wrong shape is named in a one-line ValueError, never a traceback later on.

A schema is written as the values it allows:

- `NUMBER` (a finite int or float, not a bool), `ARRAY` (a number or nested lists of numbers),
  `ARRAY_OR_NAN` (the same, NaN allowed: an event a simulation never reached), `ANY`, or a
  Python type (`str`, `bool`, `dict`, `list`);
- `[item]`: a list whose every element matches `item`;
- `{"key": value, "key?": value}`: a dict with those keys (a trailing `?`: optional); other
  keys are allowed;
- a tuple of schemas: any one of them.

Python's `json` reads `NaN`, `Infinity` and `-Infinity`, which are not JSON: a result file that
holds them is refused (an Infinity score would "reach" every threshold), except where a schema
says `ARRAY_OR_NAN`.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

NUMBER = "number"
ARRAY = "array"
ARRAY_OR_NAN = "array or NaN"
ANY = "any"
# Deeper nesting than any file of dprl's has: past it a file is refused before Python's recursion
# limit is met (json's parser and the check below both recurse).
MAX_DEPTH = 64


def problem(value, schema, where: str = "the file") -> str | None:
    """The first way `value` breaks `schema`, described in words; None if it matches."""
    if schema == ANY:
        return None
    if schema == NUMBER:
        return None if _is_number(value) else f"{where} must be a finite number, got {_show(value)}"
    if schema in (ARRAY, ARRAY_OR_NAN):
        if _is_number(value) or (schema == ARRAY_OR_NAN and isinstance(value, float) and math.isnan(value)):
            return None
        if not isinstance(value, list):
            return f"{where} must be a finite number or a list of them{' (NaN allowed)' if schema == ARRAY_OR_NAN else ''}, got {_show(value)}"
        return next((p for i, v in enumerate(value) if (p := problem(v, schema, f"{where}[{i}]"))), None)
    if isinstance(schema, tuple):
        problems = [problem(value, s, where) for s in schema]
        return None if None in problems else problems[0]
    if isinstance(schema, type):
        return None if isinstance(value, schema) and not (schema is int and isinstance(value, bool)) else \
            f"{where} must be {_article(schema.__name__)}, got {_show(value)}"
    if isinstance(schema, list):
        if not isinstance(value, list):
            return f"{where} must be a list, got {_show(value)}"
        return next((p for i, v in enumerate(value) if (p := problem(v, schema[0], f"{where}[{i}]"))), None)
    if isinstance(schema, dict):
        if not isinstance(value, dict):
            return f"{where} must be an object (dict), got {_show(value)}"
        for key, item in schema.items():
            name, optional = key.rstrip("?"), key.endswith("?")
            if name not in value:
                if optional:
                    continue
                return f"{where} lacks the field {name!r}"
            if p := problem(value[name], item, f"{name}" if where == "the file" else f"{where}.{name}"):
                return p
        return None
    raise TypeError(f"not a schema: {schema!r}")


def like(example):
    """The schema of values shaped as `example`: a number or ARRAY where it has numbers or nested
    lists of them, the same keys where it has a dict: to check recorded inputs against freshly
    made ones."""
    if _is_number(example):
        return NUMBER
    if isinstance(example, (list, tuple)):
        if problem(_lists(example), ARRAY) is None:
            return ARRAY
        return [like(example[0])] if len(example) else list
    if isinstance(example, dict):
        return {k: like(v) for k, v in example.items()}
    return type(example)


def check(value, schema, path, what: str):
    """`value` itself, or ValueError "PATH is not a valid WHAT: REASON"."""
    if p := problem(value, schema):
        raise ValueError(f"{path} is not a valid {what}: {p}")
    return value


def read(path, schema, what: str):
    """The JSON in `path` checked against `schema`; ValueError naming the file otherwise."""
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{path} is a folder (expected a {what}, a JSON file)")
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise ValueError(f"{path} does not exist (expected a {what})") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{path} is not a readable {what}: {error}") from None
    except RecursionError:
        raise ValueError(f"{path} is not a valid {what}: it is nested deeper than {MAX_DEPTH} levels") from None
    if _depth(data) > MAX_DEPTH:
        raise ValueError(f"{path} is not a valid {what}: it is nested deeper than {MAX_DEPTH} levels")
    return check(data, schema, path, what)


def _depth(value, limit: int = MAX_DEPTH + 1) -> int:
    """How deeply lists and dicts nest in `value`, counted up to `limit` (no further: a cap, so that
    a hostile file cannot make this recurse without end)."""
    depth, level = 0, [value]
    while level and depth < limit:
        nested = [v for item in level for v in (item.values() if isinstance(item, dict) else item if isinstance(item, list) else ())]
        level = [v for v in nested if isinstance(v, (dict, list))]
        depth += 1
    return depth


def _lists(value):
    return [_lists(v) for v in value] if isinstance(value, (list, tuple)) else value


def _is_number(value) -> bool:
    return not isinstance(value, bool) and (isinstance(value, int) or (isinstance(value, float) and math.isfinite(value)))


def _article(name: str) -> str:
    return {"str": "a string", "bool": "true or false", "dict": "an object (dict)", "list": "a list", "int": "a whole number"}.get(name, f"a {name}")


def _show(value) -> str:
    try:
        text = json.dumps(value)
    except (ValueError, RecursionError):
        text = type(value).__name__
    return text if len(text) <= 40 else text[:37] + "..."
