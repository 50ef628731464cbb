"""Turn pydantic validation errors into messages a user can act on.

Each message is ``<file>: <dotted.key>: <problem> — <fix>``; an unknown key gets the close match
among the keys valid at that place. A value that came from a secret's variable is never echoed:
it is quoted as the reference written in the spec (``SecretValues``).
"""

from __future__ import annotations

import re
import typing
from difflib import get_close_matches
from typing import Any

from pydantic import BaseModel, ValidationError

INTERNAL = {"name", "stylesheet_path", "suite_path", "path"}
_TYPE_WORDS = {"int": "a whole number", "float": "a number", "bool": "true or false",
               "string": "text", "dict": "a mapping (key: value lines)",
               "list": "a list", "date": "a date such as 2026-03-31",
               "model": "a mapping (key: value lines)"}


def describe_validation_error(exc: ValidationError, root: type[BaseModel], file: str,
                              raw: dict) -> list[str]:
    messages = []
    for error in exc.errors():
        loc = [str(part) for part in error["loc"]]
        if loc and loc[-1] in INTERNAL and error["type"] == "missing":
            continue
        where = _dotted(loc)            # a check of the whole spec names its keys itself
        messages.append(f"{file}: {where + ': ' if where else ''}{_problem(error, root, loc)}")
    return list(dict.fromkeys(messages))


def _dotted(loc: list[str]) -> str:
    parts = [p for p in loc if not p.startswith("function-") and p not in ("lax", "strict")]
    return ".".join(parts)


def _problem(error: dict, root: type[BaseModel], loc: list[str]) -> str:
    kind, value = error["type"], error.get("input")
    ctx = error.get("ctx") or {}
    if kind == "extra_forbidden":
        allowed = _allowed_keys(root, loc[:-1])
        close = get_close_matches(loc[-1], allowed, n=1, cutoff=0.6)
        hint = f"did you mean '{close[0]}'?" if close else f"valid keys: {', '.join(allowed)}"
        return f"unknown key '{loc[-1]}' — {hint}"
    if kind == "missing":
        return "required key is missing — add it"
    if kind in ("literal_error", "enum"):
        return f"got {value!r} — valid values: {_expected(ctx)}"
    if kind.endswith("_parsing") or kind.endswith("_type"):
        word = _TYPE_WORDS.get(kind.split("_")[0], kind.split("_")[0])
        return f"got {value!r} — expected {word}"
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        bound = next(iter(ctx.values()), "")
        op = {"greater_than_equal": "at least", "greater_than": "more than",
              "less_than_equal": "at most", "less_than": "less than"}[kind]
        return f"got {value!r} — must be {op} {bound}"
    if kind == "string_pattern_mismatch":
        return f"got {value!r} — must match {ctx.get('pattern')}"
    if kind == "value_error":
        return str(ctx.get("error") or error["msg"])
    return f"{error['msg']} (got {value!r})"


def _expected(ctx: dict) -> str:
    text = str(ctx.get("expected", ""))
    return text.replace("'", "").replace(" or ", ", ")


def _allowed_keys(model: Any, path: list[str]) -> list[str]:
    current: Any = model
    for part in path:
        current = _step(current, part)
        if current is None:
            return []
    if isinstance(current, type) and issubclass(current, BaseModel):
        return [f.alias or name for name, f in current.model_fields.items()
                if name not in INTERNAL]
    return []


def _step(annotation: Any, part: str) -> Any:
    annotation = _unwrap(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        for name, field in annotation.model_fields.items():
            if part in (name, field.alias):
                return _unwrap(field.annotation)
        return None
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is dict and len(args) == 2:
        return _unwrap(args[1])
    if origin is list and args:
        return _unwrap(args[0])
    return None


def _unwrap(annotation: Any) -> Any:
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) in (typing.Union, getattr(__import__("types"), "UnionType"))\
            and len(args) == 1:
        return args[0]
    return annotation


_SECRET_NAME = re.compile(r"KEY|SECRET|PASSWORD|TOKEN", re.IGNORECASE)


class _Sensitive(str):
    """A value that came from a secret's variable. Quoted (``repr``, as every message here
    quotes a value), it shows the reference written in the spec — ``'${CW_PRIVATE_KEY}'`` —
    never the value; validation stores a plain ``str``, so only messages see the difference."""

    template = ""

    def __repr__(self) -> str:
        return repr(self.template)


class SecretValues:
    """The variables whose values no message may echo: ``names`` (those the secret fields
    reference) and any whose name says KEY, SECRET, PASSWORD or TOKEN."""

    SHORTEST = 6            # shorter values are hidden where quoted, not searched for as text

    def __init__(self, names: set[str]):
        self.names, self.values = names, {}

    def wrap(self, template: str, value: str, used: dict[str, str]) -> str:
        """``value`` (``template`` with the variables ``used`` put in), marked when any of
        them is secret."""
        found = {n: v for n, v in used.items() if n in self.names or _SECRET_NAME.search(n)}
        if not found:
            return value
        self.values.update(found)
        value = _Sensitive(value)
        value.template = template
        return value

    def redact(self, message: str) -> str:
        """``message`` with every secret value put in as text replaced by its reference."""
        for name, value in self.values.items():
            if len(value) >= self.SHORTEST:
                for shown in (value, repr(value)[1:-1]):
                    message = message.replace(shown, f"${{{name}}}")
        return message
