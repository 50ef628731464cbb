"""Paths into a ConnectWise record, as a declared kind (``tasks.declared``) names its values:
field names joined by ``/`` (``company/identifier``), a number picking an array member
(``taxes/0/amount``)."""

from __future__ import annotations

import re
from typing import Any

PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(?:/(?:[A-Za-z_][A-Za-z0-9_]*|[0-9]+))*$")


def record_path(value: str | None) -> str | None:
    if value is not None and not PATH.match(value):
        raise ValueError(f"got {value!r} — a path into the ConnectWise record is field names "
                         "joined by '/', e.g. company/identifier or currency/currencyCode")
    return value


def value_at(record: Any, path: str | None) -> Any:
    """The value at ``path`` in a ConnectWise record; None where any step is missing."""
    if path is None:
        return None
    value = record
    for part in path.split("/"):
        if isinstance(value, dict):
            value = value.get(part)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value


def values_at(record: Any, path: str) -> list[Any]:
    """Every value at ``path``, an array met on the way standing for each of its members
    (``detail/id``: the ``id`` of every ``detail`` line); lists at the end are flattened."""
    values = [record]
    for part in path.split("/"):
        step = []
        for value in values:
            if isinstance(value, list) and not part.isdigit():
                step += [v.get(part) for v in value if isinstance(v, dict)]
            else:
                step.append(value_at(value, part))
        values = step
    flat: list[Any] = []
    for value in values:
        flat += value if isinstance(value, list) else [value]
    return [v for v in flat if v is not None]


def whole_number(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    text = str(value).strip()
    return int(text) if text.isdigit() else None
