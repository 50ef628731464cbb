"""``sage:`` in the spec: which writer reaches Sage, each writer's settings, the control
accounts and how long a handed-off document may wait for Sage's confirmation.

Three writers (``tasks.sage50.WRITERS``): the embedded replica; the Zynk XML outbox; Sage 50's
own Data Import files. The spec validates these blocks once when it loads and resolves their
relative paths against the spec's own folder (``resolved``); a writer receives the validated,
resolved model and reads its attributes — it never validates again. A path left out takes the
writer's default: the replica ``$CWSAGE_HOME/sage50.db``; Zynk's Success and Fail folders
``<folder>/success`` and ``<folder>/fail``.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal, Mapping

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator



_CURRENCY = re.compile(r"^[A-Z]{3}$")
_DSN = re.compile(r"^(sqlite:.+|[A-Za-z0-9][A-Za-z0-9 _.-]{0,63})$")
RATES = "a map of ISO currency code to a rate above 0, e.g. {EUR: 1.15}"
TAX_RATES = "a map of tax code number 0-99 to a percentage, e.g. {1: 20, 0: 0}"


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _number(value: Any, expect: str, allow_zero: bool = False) -> Decimal:
    try:
        d = Decimal(str(value))
    except InvalidOperation:
        raise ValueError(expect) from None
    if isinstance(value, bool) or not d.is_finite() or d < 0 or (d == 0 and not allow_zero):
        raise ValueError(expect)
    return d


def currency_rates(value: Any) -> dict[str, Decimal]:
    """``{EUR: 1.15}``: units of the currency per one pound sterling, as Sage holds them."""
    if not isinstance(value, Mapping):
        raise ValueError(RATES)
    out = {}
    for code, rate in value.items():
        if not isinstance(code, str) or not _CURRENCY.match(code):
            raise ValueError(f"{RATES} ({code!r} is not an ISO code)")
        out[code] = _number(rate, RATES)
    from tasks.sage50.rules import BASE_CURRENCY   # here: the writers import this module
    if out.get(BASE_CURRENCY, Decimal(1)) != 1:
        raise ValueError(f"{RATES} ({BASE_CURRENCY} is the base currency, its rate is 1)")
    return out


def tax_rates(value: Any) -> dict[int, Decimal]:
    """``{1: 20, 5: 5}`` (or ``T1: 20``): tax code number to percentage rate."""
    if not isinstance(value, Mapping):
        raise ValueError(TAX_RATES)
    out = {}
    for code, rate in value.items():
        text = str(code).upper().removeprefix("T")
        if not text.isdigit() or int(text) > 99:
            raise ValueError(f"{TAX_RATES} ({code!r} is not a tax code)")
        out[int(text)] = _number(rate, TAX_RATES, allow_zero=True)
    return out


def _read(reader, value: Any):
    """A setting read by ``reader``; its refusal says what was given and what is expected."""
    try:
        return reader(value or {})
    except ValueError as exc:
        raise ValueError(f"got {value!r} — expected {exc}") from None


class _WriterSettings(_Frozen):
    lock_date: date | None = None               # refuse documents dated on or before it
    currency_rates: dict[str, Decimal] = {}

    @field_validator("currency_rates", mode="before")
    @classmethod
    def _rates(cls, value: Any) -> dict[str, Decimal]:
        return _read(currency_rates, value)

    def resolved(self, base: Path) -> "_WriterSettings":
        """This block with every relative path made absolute against ``base`` (the spec's
        folder) and the defaults that follow from another path filled in."""
        paths = {name: (base / value.expanduser()).resolve() for name in PATH_KEYS
                 if isinstance(value := getattr(self, name, None), Path)}
        return self.model_copy(update=paths)


class ReplicaSettings(_WriterSettings):
    path: Path | None = None                    # default $CWSAGE_HOME/sage50.db
    auto_create_products: bool = True
    auto_create_accounts: bool = True


class _FileWriterSettings(_WriterSettings):
    folder: Path | None = None
    tax_rates: dict[int, Decimal] = {}

    @field_validator("tax_rates", mode="before")
    @classmethod
    def _tax(cls, value: Any) -> dict[int, Decimal]:
        return _read(tax_rates, value)


class OutboxSettings(_FileWriterSettings):
    success_folder: Path | None = None          # default <folder>/success
    fail_folder: Path | None = None             # default <folder>/fail

    def resolved(self, base: Path) -> "OutboxSettings":
        done = super().resolved(base)
        if done.folder is None:
            return done
        return done.model_copy(update={
            "success_folder": done.success_folder or done.folder / "success",
            "fail_folder": done.fail_folder or done.folder / "fail"})


class ImportCsvSettings(_FileWriterSettings):
    odbc_dsn: str | None = None
    odbc_user: str | None = None                # the Sage user the DSN logs on as
    odbc_password: SecretStr | None = None      # a ${VAR} reference, never the password itself

    @field_validator("odbc_dsn")
    @classmethod
    def _a_dsn_name(cls, value: str | None) -> str | None:
        if value is not None and not _DSN.match(value):
            raise ValueError("not a DSN name (not shown: it may hold a password) — give the "
                             "name of the ODBC data source set up for "
                             "the Sage company (such as SAGE50), or sqlite:<path> for a replica "
                             "file; the Sage user and password go in odbc_user and "
                             "odbc_password (${SAGE_ODBC_PASSWORD}), never in the DSN")
        return value


PATH_KEYS = ("path", "folder", "success_folder", "fail_folder")
SETTINGS: dict[str, type[_WriterSettings]] = {
    "sage50_replica": ReplicaSettings, "zynk_xml_outbox": OutboxSettings,
    "sage50_import_csv": ImportCsvSettings}


def replica_file(settings: ReplicaSettings, home: Path) -> Path:
    """The replica's file: ``path``, else ``$CWSAGE_HOME/sage50.db``."""
    return settings.path or Path(home) / "sage50.db"


def target_of(settings: _WriterSettings, home: Path) -> Path:
    """Where a writer writes: the replica's file, or a file writer's folder."""
    if isinstance(settings, ReplicaSettings):
        return replica_file(settings, home)
    return settings.folder


def throwaway_settings(settings: _WriterSettings, path: Path) -> ReplicaSettings:
    """A replica at ``path`` that holds what any writer's company holds: its exchange rates
    and lock date (a dry run's or a preview's Sage)."""
    return ReplicaSettings(path=path, currency_rates=settings.currency_rates,
                           lock_date=settings.lock_date)


FILE_WRITERS = ("zynk_xml_outbox", "sage50_import_csv")
_DURATION = re.compile(r"^\s*(?:(\d+)\s*d)?\s*(?:(\d+)\s*h)?\s*(?:(\d+)\s*m)?\s*$")


def duration(value: Any) -> timedelta:
    """``24h``, ``90m``, ``2d``, ``1d 12h`` or a number of hours."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
        return timedelta(hours=value)
    match = _DURATION.match(str(value)) if isinstance(value, str) else None
    if not match or not any(match.groups()):
        raise ValueError(f"got {value!r} — give a duration such as 24h, 90m or 2d")
    d, h, m = (int(x or 0) for x in match.groups())
    if not d and not h and not m:
        raise ValueError(f"got {value!r} — a duration above zero, such as 24h")
    return timedelta(days=d, hours=h, minutes=m)


def _no_direct_posting() -> list[str]:
    """Sage's accounts a line never posts to: the default of ``control_accounts``."""
    from tasks.sage50.rules import NO_DIRECT_POSTING    # here: the writers import this module
    return sorted(NO_DIRECT_POSTING)


class SageConfig(_Frozen):
    writer: Literal["sage50_replica", "zynk_xml_outbox", "sage50_import_csv"] = \
        "sage50_replica"
    sage50_replica: ReplicaSettings = ReplicaSettings()
    zynk_xml_outbox: OutboxSettings = OutboxSettings()
    sage50_import_csv: ImportCsvSettings = ImportCsvSettings()
    control_accounts: list[str] = Field(default_factory=lambda: _no_direct_posting())
    confirm_within: timedelta = timedelta(hours=24)

    @field_validator("confirm_within", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> timedelta:
        return duration(value)

    @model_validator(mode="after")
    def _file_writer_needs_folder(self) -> "SageConfig":
        if self.writer in FILE_WRITERS and not self.writer_block(self.writer).folder:
            raise ValueError(f"{self.writer}.folder is required when writer is {self.writer}"
                             " — set it to the folder the Sage-side import reads")
        return self

    def writer_block(self, name: str) -> BaseModel:
        return getattr(self, name)
