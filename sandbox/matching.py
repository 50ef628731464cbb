"""Evaluating one comparison of a conditions string against a row (see ``sandbox.conditions``).

SQL Server semantics as ConnectWise uses them: text compares case-insensitively; a null or
missing field matches only ``= null``; numbers compare as numbers, also when the field holds
digits as text; a ``[datetime]`` literal compares as an aware datetime (no zone = UTC); a list
on the path (``types/name``) matches when any item does, and a negated operator when none does.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any, Callable, Mapping

Test = Callable[[Mapping[str, Any]], bool]
_NEGATED = {"!=", "not contains", "not like", "not in"}
_MISSING = object()


def to_datetime(value: Any) -> datetime | None:
    """An ISO-8601 text as an aware datetime (no zone = UTC); None if it is not one."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if not isinstance(value, str) or not value[:4].isdigit():
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def lookup(row: Any, path: list[str]) -> Any:
    """The value at ``path``; a list on the way yields the list of its items' values."""
    value = row
    for depth, part in enumerate(path):
        if isinstance(value, list):
            return [lookup(item, path[depth:]) for item in value]
        if not isinstance(value, Mapping):
            return _MISSING
        value = value.get(part, _MISSING)
    return value


def _coerce(value: Any, literal: Any) -> Any:
    """``value`` in the type of ``literal`` (text folded for comparison); _MISSING if impossible."""
    if value is None or value is _MISSING:
        return _MISSING
    if isinstance(literal, datetime):
        return to_datetime(value) or _MISSING
    if isinstance(literal, bool):
        return value if isinstance(value, bool) else _MISSING
    if isinstance(literal, (int, float)):
        if isinstance(value, bool):
            return _MISSING
        try:
            return float(value)
        except (TypeError, ValueError):
            return _MISSING
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).casefold()


def _prepare(literal: Any) -> Any:
    return literal.casefold() if isinstance(literal, str) else literal


def _like(pattern: str) -> re.Pattern:
    parts = re.split(r"[*%]", pattern)
    return re.compile(".*".join(re.escape(p) for p in parts), re.IGNORECASE | re.DOTALL)


_ORDERED = {"=": lambda a, b: a == b, "!=": lambda a, b: a != b, "<": lambda a, b: a < b,
            "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b}


def _matcher(op: str, literal: Any, error) -> Callable[[Any], bool]:
    """A test of one (non-list) field value, before negation."""
    if literal is None:
        if op not in ("=", "!="):
            raise error("null can only be compared with = or !=")
        return lambda value: value is None or value is _MISSING
    if op in ("contains", "not contains", "like", "not like"):
        if not isinstance(literal, str):
            raise error(f"'{op}' needs a \"text\" value")
        pattern = _like(literal) if op.endswith("like") else None
        folded = literal.casefold()
        if pattern is not None:
            return lambda v: v not in (None, _MISSING) and bool(pattern.fullmatch(str(v)))
        return lambda v: v not in (None, _MISSING) and folded in str(v).casefold()
    if op in ("in", "not in"):
        return _member_test(literal, error)
    compare, prepared = _ORDERED["=" if op == "!=" else op], _prepare(literal)

    def test(value: Any) -> bool:
        coerced = _coerce(value, literal)
        return coerced is not _MISSING and compare(coerced, prepared)
    return test


def _member_test(items: list[Any], error) -> Callable[[Any], bool]:
    """``in``: a set lookup when the list is all numbers or all text (``id in (…ids…)``)."""
    if all(isinstance(i, (int, float)) and not isinstance(i, bool) for i in items):
        numbers = frozenset(float(i) for i in items)
        return lambda value: _coerce(value, 0) in numbers
    if all(isinstance(i, str) for i in items):
        texts = frozenset(i.casefold() for i in items)
        return lambda value: _coerce(value, "") in texts
    tests = [_matcher("=", item, error) for item in items]
    return lambda value: any(test(value) for test in tests)


def compile_comparison(path: list[str], op: str, literal: Any, error) -> Test:
    """A row test for ``path op literal``; ``error(message)`` builds the syntax error."""
    negated = op in _NEGATED
    base = _matcher(op, literal, error)
    if literal is None:                 # "!= null": the field has a value
        return (lambda row: not base(lookup(row, path))) if negated else \
            (lambda row: base(lookup(row, path)))

    def test(row: Mapping[str, Any]) -> bool:
        value = lookup(row, path)
        values = value if isinstance(value, list) else [value]
        present = [v for v in values if v is not None and v is not _MISSING]
        if negated:
            return bool(present) and not any(base(v) for v in present)
        return any(base(v) for v in present)
    return test
