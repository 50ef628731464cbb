"""``sage50_replica``: an embedded SQLite replica of a Sage 50 UK company.

The replica uses Sage's own tables and columns (see ``replica_schema``), applies Sage's import
rules (``rules``, ``pricing``, ``replica_load``) and posts every document to the ledgers with a
balanced double entry (``replica_ledger``). One ``load`` is one SQLite transaction (WAL,
``synchronous=FULL``) with a SAVEPOINT per document.

Settings (``tasks.config.sage.ReplicaSettings``, all optional):
    path                  the SQLite file; default ``$CWSAGE_HOME/sage50.db``
    currency_rates        ``{EUR: 1.15}`` units per pound sterling, applied to CURRENCY on open
    lock_date             documents dated on or before it are rejected (R-DATE-2,
                          ``docs/sage50-rules.md``)
    auto_create_accounts  create a missing customer from the invoice (default true)
    auto_create_products  create a missing product in STOCK (default true)
"""

from __future__ import annotations

import sqlite3
import threading
from decimal import Decimal
from pathlib import Path
from typing import Iterable

from tasks.dbfiles import (BUSY, CANNOT_OPEN, CANNOT_OPEN_FIX, check_readable, move_aside,
                           open_failure)
from tasks.errors import ConfigError, CwsageError, LoadError, RetriableError
from tasks.sage50 import replica_read as rd
from tasks.sage50.protocol import Check, DocumentTotals, LoadReceipt, SageFacts
from tasks.sage50.replica_load import LoadRun
from tasks.sage50.replica_schema import migrate, set_currency_rates
from tasks.sage50.sagexml import parse_for
from tasks.config.sage import ReplicaSettings

BUSY_TIMEOUT_S = 30


NOT_A_REPLICA = "the file is a SQLite database but not a cwsage Sage 50 replica"


def check_replica(path: Path) -> None:
    """Read the replica at ``path`` through and through, writing nothing (another cwsage home
    may hold it): raise ``replica_unusable`` when it is damaged or of another kind."""
    try:
        conn = sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True)
        try:
            check_readable(conn, "SCHEMA_VERSION", NOT_A_REPLICA)
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise replica_unusable(path, exc) from exc


def copy_replica(source: Path | None, target: Path) -> Path:
    """``target`` made a consistent copy of the replica at ``source`` (SQLite's backup API, so
    what its WAL holds is copied too), or removed when there is no ``source``: a dry run's or
    a preview's Sage. Nothing is written to ``source``; a damaged one is named, with the ways
    out."""
    target.parent.mkdir(parents=True, exist_ok=True)
    for leftover in (target, target.with_name(target.name + "-wal"),
                     target.with_name(target.name + "-shm")):
        leftover.unlink(missing_ok=True)
    if source is None or not source.exists():
        return target
    try:
        src = sqlite3.connect(f"{source.absolute().as_uri()}?mode=ro", uri=True)
        try:
            dst = sqlite3.connect(target)
            try:
                src.backup(dst)
            finally:
                dst.close()
        finally:
            src.close()
    except (sqlite3.Error, OSError) as exc:
        raise replica_unusable(source, exc) from exc
    return target


def replica_unusable(path: Path, exc: BaseException) -> CwsageError:
    """Why the replica at ``path`` cannot be opened, and the way out, in one line."""
    why, where = open_failure(exc), f"sage50_replica settings: path: {path}"
    if why == BUSY:
        return RetriableError(f"{path}: the Sage 50 replica is in use by another process "
                              f"({exc}) — try again when it has finished")
    if why == CANNOT_OPEN:
        return ConfigError(f"{where}: cannot be opened ({exc}) — {CANNOT_OPEN_FIX}")
    if not isinstance(exc, sqlite3.Error):                 # a setting, or a newer schema
        return ConfigError(f"{where} cannot be used as the Sage 50 replica — {exc}")
    return ConfigError(
        f"{where} cannot be used as the Sage 50 replica — {exc}: restore it from a backup, or "
        f"{move_aside(path)}; the next run then starts an empty replica holding only what is "
        "loaded from then on: documents already batched in ConnectWise are not exported again")


class ReplicaWriter:
    name = "sage50_replica"

    def __init__(self, settings: ReplicaSettings, home: Path):
        self.settings = settings
        self.path: Path = settings.path or Path(home) / "sage50.db"
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = self._open()

    def _open(self) -> sqlite3.Connection:
        """The replica, checked before anything is written to it (a file that is damaged or
        of another kind is refused, naming the file and the ways out)."""
        conn = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False,
                                   timeout=BUSY_TIMEOUT_S)
            check_readable(conn, "SCHEMA_VERSION", NOT_A_REPLICA)
            for pragma in ("journal_mode=WAL", "synchronous=FULL", "cache_size=-65536",
                           "temp_store=MEMORY"):
                conn.execute(f"PRAGMA {pragma}")
            self._in_transaction(conn, lambda: (
                migrate(conn), set_currency_rates(conn, self.settings.currency_rates)))
            return conn
        except (sqlite3.Error, OSError, ValueError) as exc:
            if conn is not None:
                conn.close()
            raise replica_unusable(self.path, exc) from exc

    @staticmethod
    def _in_transaction(conn: sqlite3.Connection, work):
        conn.execute("BEGIN IMMEDIATE")
        try:
            result = work()
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return result

    def _live(self) -> sqlite3.Connection:
        if self._conn is None:
            raise LoadError(f"the Sage 50 replica {self.path} is closed")
        return self._conn

    def load(self, company_xml: bytes, *, source: str,
             check: Check | None = None) -> LoadReceipt:
        company = parse_for(company_xml, source)
        with self._lock:
            conn = self._live()
            try:
                return self._in_transaction(conn, lambda: LoadRun(conn, self.settings,
                                                                        check).run(company))
            except sqlite3.OperationalError as exc:
                if "locked" in str(exc) or "busy" in str(exc):
                    raise RetriableError(f"{source}: the Sage 50 replica {self.path} is busy "
                                         f"({exc}); try again") from exc
                raise LoadError(f"{source}: the Sage 50 replica {self.path} failed: {exc}") from exc
            except sqlite3.Error as exc:
                raise LoadError(f"{source}: the Sage 50 replica {self.path} failed: {exc}") from exc

    @property
    def target(self) -> Path:
        return self.path

    def facts(self) -> SageFacts:
        """The company's tax rates and the currencies with a configured exchange rate."""
        with self._lock:
            return rd.facts(self._live().cursor())

    def present(self, keys: Iterable[str]) -> set[str]:
        with self._lock:
            return rd.present(self._live().cursor(), keys)

    def totals(self, keys: Iterable[str]) -> dict[str, DocumentTotals]:
        with self._lock:
            return rd.totals(self._live().cursor(), keys)

    def trial_balance(self) -> dict[str, Decimal]:
        """Nominal code -> debits minus credits posted in AUDIT_JOURNAL (base currency)."""
        with self._lock:
            return rd.trial_balance(self._live().cursor())

    def audit_balances(self) -> tuple[Decimal, Decimal]:
        """(total debits, total credits) in AUDIT_JOURNAL; equal when the books balance."""
        with self._lock:
            return rd.audit_balances(self._live().cursor())

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def __enter__(self) -> "ReplicaWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
