"""Read a writer's settings dict, reporting every problem at once as a ``ConfigError``.

Each writer declares its keys with a reader; an unknown key is reported with the closest known
one, so ``lock_dte`` says "did you mean 'lock_date'?".
"""

from __future__ import annotations

import difflib
import re
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Callable, Mapping

from tasks.errors import ConfigError

Reader = Callable[[Any], Any]          # raises ValueError with the expectation on a bad value
CURRENCY_RE = re.compile(r"^[A-Z]{3}$")


def read_settings(writer: str, raw: Mapping[str, Any] | None,
                  readers: Mapping[str, Reader], defaults: Mapping[str, Any]) -> dict[str, Any]:
    raw = dict(raw or {})
    problems, out = [], dict(defaults)
    for key, value in raw.items():
        reader = readers.get(key)
        if value is None and reader is not None:
            continue                    # an empty YAML value keeps the default
        if reader is None:
            problems.append(_unknown(writer, key, readers))
            continue
        try:
            out[key] = reader(value)
        except ValueError as exc:
            problems.append(f"{writer} settings: {key}: got {value!r} — expected {exc}")
    missing = [k for k in readers if k not in out]
    problems += [f"{writer} settings: {k} is required" for k in missing]
    if problems:
        raise ConfigError(problems)
    return out


def _unknown(writer: str, key: str, readers: Mapping[str, Reader]) -> str:
    close = difflib.get_close_matches(str(key), list(readers), n=1)
    hint = f" — did you mean {close[0]!r}?" if close else ""
    return (f"{writer} settings: unknown key {key!r}{hint} (known keys: "
            f"{', '.join(sorted(readers))})")


def as_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    raise ValueError("true or false")


def as_date(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ValueError("an ISO date such as 2026-03-31") from None


def as_path(home: Path) -> Reader:
    def read(value: Any) -> Path:
        if not isinstance(value, (str, Path)) or not str(value):
            raise ValueError("a file or folder path")
        path = Path(value).expanduser()
        return path if path.is_absolute() else home / path
    return read


def as_currency_rates(value: Any) -> dict[str, Decimal]:
    """``{"EUR": 1.15}``: units of the currency per one pound sterling."""
    expect = "a map of ISO currency code to a rate above 0, e.g. {EUR: 1.15}"
    if not isinstance(value, Mapping):
        raise ValueError(expect)
    out = {}
    for code, rate in value.items():
        if not isinstance(code, str) or not CURRENCY_RE.match(code):
            raise ValueError(f"{expect} ({code!r} is not an ISO code)")
        out[code] = _positive(rate, expect)
    if out.get("GBP", Decimal(1)) != 1:
        raise ValueError(f"{expect} (GBP is the base currency, its rate is 1)")
    return out


def as_tax_rates(value: Any) -> dict[int, Decimal]:
    """``{1: 20, 5: 5}``: tax code number (0-99) to percentage rate."""
    expect = "a map of tax code number 0-99 to a percentage, e.g. {1: 20, 0: 0}"
    if not isinstance(value, Mapping):
        raise ValueError(expect)
    out = {}
    for code, rate in value.items():
        text = str(code).upper().removeprefix("T")
        if not text.isdigit() or int(text) > 99:
            raise ValueError(f"{expect} ({code!r} is not a tax code)")
        out[int(text)] = _positive(rate, expect, allow_zero=True)
    return out


def _positive(value: Any, expect: str, allow_zero: bool = False) -> Decimal:
    try:
        d = Decimal(str(value))
    except InvalidOperation:
        raise ValueError(expect) from None
    if not d.is_finite() or d < 0 or (d == 0 and not allow_zero) or isinstance(value, bool):
        raise ValueError(expect)
    return d
