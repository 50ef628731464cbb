"""The journal: every ConnectWise document's state, the truth about what happened.

A document moves ``extracted → quarantined | loading → loaded → posting → posted``; through
a Sage-side importer (a file writer) it waits ``loading → handed_off → loaded`` until Sage
confirms it, or goes ``handed_off → quarantined`` when the importer refused it. The intent
is written before each side effect (``loading`` before a load, ``posting`` with the batch
identifier before a batch is created), so a run that dies anywhere leaves enough behind for
the next run to settle it: see ``tasks.recover``. Every transition is also appended to
``events`` — the document's history.

The tables live in a store (``tasks.journal_store``): an SQLite file in ``$CWSAGE_HOME`` by
default, or a PostgreSQL schema several workers share. One transaction per call. No Prefect.
What it holds is read as typed records (``tasks.journal_queries``, ``tasks.journal_records``).
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Iterable

from tasks.dbfiles import BUSY, CANNOT_OPEN, CANNOT_OPEN_FIX, move_aside, open_failure
from tasks.errors import ConfigError, CwsageError, RetriableError
from tasks.journal_batches import BatchLedger, now
from tasks.journal_handoff import HandoffLedger
from tasks.journal_queries import JournalQueries

from tasks.journal_store import PostgresStore, SqliteStore, copy_rows, shown_url
from tasks.keys import legacy_key

# ``unreconciled``: in the target, but the target's money differs from what the gate priced;
# never batched, reported as unexplained until the document is extracted again and agrees.
_ALLOWED = {
    "extracted": {"quarantined", "loading", "extracted"},
    "quarantined": {"extracted", "quarantined", "loading"},
    "loading": {"loaded", "quarantined", "extracted", "unreconciled", "handed_off"},
    # ``handed_off``: written for a Sage-side importer, waiting for Sage to confirm it. Never
    # batched; a new extraction leaves it waiting (``record_extracted``).
    "handed_off": {"handed_off", "loaded", "quarantined", "unreconciled"},
    "loaded": {"posting", "extracted", "loaded", "unreconciled"},
    "unreconciled": {"extracted", "unreconciled", "loaded"},
    "posting": {"posted", "loaded"},
    "posted": {"extracted", "posted"},
}

class IllegalTransition(RuntimeError):
    """A state change the journal refuses: a bug, never a user mistake."""


@dataclass(frozen=True)
class DocRecord:
    key: str
    cw_id: str
    doc_number: str | None
    doc_type: str
    account_ref: str | None
    currency: str | None
    net: Decimal
    tax: Decimal
    gross: Decimal
    gl_ids: tuple[int, ...]
    content_hash: str


def journal_unusable(path: Path, exc: BaseException) -> CwsageError:
    """Why the journal at ``path`` cannot be opened, and the way out, in one line."""
    why = open_failure(exc)
    if why == BUSY:
        return RetriableError(f"{path}: the journal is in use by another process ({exc}) — "
                              "try again when it has finished")
    if why == CANNOT_OPEN:
        return ConfigError(f"{path}: the journal cannot be opened ({exc}) — {CANNOT_OPEN_FIX} "
                           "(CWSAGE_HOME chooses the folder)")
    return ConfigError(
        f"{path}: not a readable cwsage journal ({exc}) — restore it from a backup, or "
        f"{move_aside(path)}; the next run then rebuilds what it can: documents already batched "
        "in ConnectWise are not exported again, and documents already in the target are found "
        "there and not loaded twice")


def state_unusable(url: str, exc: BaseException) -> CwsageError:
    """Why the shared journal at ``url`` cannot be reached, and the way out, in one line."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return RetriableError(f"state.url {shown_url(url)}: the shared journal cannot be reached "
                          f"({text[:200]}) — check that PostgreSQL runs there, that the "
                          "database exists and that the role may create tables in it; its "
                          "password comes from state.password (an environment variable)")


class Journal(JournalQueries, BatchLedger, HandoffLedger):
    """``Journal(path)``: the SQLite journal at ``path``; ``Journal.shared(url, …)``: the
    journal several workers share in PostgreSQL."""

    def __init__(self, where: Path | SqliteStore | PostgresStore):
        if isinstance(where, Path):
            self.path: Path | None = where
            try:
                where = SqliteStore(where)
            except (OSError, sqlite3.Error) as exc:
                raise journal_unusable(self.path, exc) from exc
        else:
            self.path = getattr(where, "path", None)
        self.db = where
        try:
            self._rename_legacy_keys()
            moved = self.db.execute("SELECT value FROM meta WHERE name='moved'").fetchone()
        except (OSError, sqlite3.Error) as exc:
            self.db.close()
            raise journal_unusable(self.path, exc) from exc
        if moved:
            self.db.close()
            raise ConfigError(f"{self.where}: this journal was moved into the shared state "
                              f"({moved[0]}) — runs and commands read it there: keep state: in "
                              "the spec (this file stays as a backup and is never read again)")

    @classmethod
    def shared(cls, url: str, password: str | None, schema: str) -> "Journal":
        import psycopg
        try:
            return cls(PostgresStore(url, password, schema))
        except psycopg.Error as exc:
            raise state_unusable(url, exc) from None

    def mark_moved(self, where: str) -> None:
        """This journal's documents now live at ``where``: never read this one again."""
        with self._tx():
            self.db.execute("INSERT OR IGNORE INTO meta VALUES ('moved', ?)",
                            (f"{where}, {now()}",))

    def copy_to(self, target: "Journal", pipeline: str) -> dict[str, int]:
        """One pipeline's documents, history, runs, batches and cursor — and the marker —
        copied into ``target`` in one transaction (rows it has are kept); rows per table."""
        return copy_rows(self.db, target.db, pipeline)

    @property
    def where(self) -> str:
        """The journal's place, for messages: a file, or a PostgreSQL address and schema."""
        return str(self.db)

    def close(self) -> None:
        self.db.close()

    def _rename_legacy_keys(self) -> None:
        """Once per journal: keys written before keys were shell-safe (``tasks.keys``) take
        their new form in documents, history and batches."""
        if self.db.execute("SELECT 1 FROM meta WHERE name='keys'").fetchone():
            return
        with self._tx():
            moves = [(new, old) for (old,) in self.db.execute(
                "SELECT DISTINCT key FROM documents WHERE key LIKE 'CW-PO-%'")
                if (new := legacy_key(old))]
            self.db.executemany("UPDATE documents SET key=? WHERE key=?", moves)
            self.db.executemany("UPDATE events SET key=? WHERE key=?", moves)
            renamed = dict((old, new) for new, old in moves)
            for identifier, keys in self.db.execute("SELECT batch_identifier, keys FROM "
                                                    "batches").fetchall():
                listed = json.loads(keys)
                if any(k in renamed for k in listed):
                    self.db.execute("UPDATE batches SET keys=? WHERE batch_identifier=?",
                                    (json.dumps([renamed.get(k, k) for k in listed]), identifier))
            self.db.execute("INSERT OR IGNORE INTO meta VALUES ('keys', 'shell-safe')")

    def _tx(self):
        return self.db.transaction()

    # -- runs ---------------------------------------------------------------------------
    def begin_run(self, pipeline: str, run_id: str | None = None) -> str:
        """Record a run's start; a retry of the same run (same id) is recorded again."""
        run_id = run_id or (datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S") + "-"
                            + uuid.uuid4().hex[:6])
        with self._tx():
            self.db.execute("INSERT INTO runs (run_id, pipeline, started_at) VALUES (?,?,?) "
                            "ON CONFLICT(run_id) DO UPDATE SET started_at=excluded.started_at,"
                            " finished_at=NULL, status=NULL", (run_id, pipeline, now()))
        return run_id

    def finish_run(self, run_id: str, status: str, counts: dict) -> None:
        with self._tx():
            self.db.execute("UPDATE runs SET finished_at=?, status=?, counts=? WHERE run_id=?",
                            (now(), status, json.dumps(counts, default=str), run_id))

    # -- documents ----------------------------------------------------------------------
    # Every change is set-based (one SELECT of the current states, executemany for the
    # updates and the history) so a chunk of a thousand documents costs a few statements.
    def record_extracted(self, pipeline: str, run_id: str, docs: Iterable[DocRecord]) -> None:
        docs, stamp = list(docs), now()
        with self._tx():
            before = self._states(pipeline, [d.key for d in docs])
            # waiting for Sage to confirm: ConnectWise lists it until it is batched, and it
            # stays as it was handed off until the Sage side answers; refused by the Sage
            # side and unchanged since: it waits for a person (``release``)
            refused = self._refused_by_sage(pipeline, [d.key for d in docs
                                                       if before.get(d.key) == "quarantined"])
            docs = [d for d in docs if before.get(d.key) != "handed_off"
                    and refused.get(d.key, "-") != d.content_hash]
            for doc in docs:
                self._check(before.get(doc.key), "extracted", doc.key)
            self.db.executemany(
                "INSERT INTO documents (pipeline, key, cw_id, state, doc_number, doc_type, "
                "account_ref, currency, net, tax, gross, gl_ids, content_hash, first_seen, "
                "updated_at, last_run) VALUES (?,?,?,'extracted',?,?,?,?,?,?,?,?,?,?,?,?) "
                "ON CONFLICT(pipeline, key) DO UPDATE SET state='extracted', "
                "doc_number=excluded.doc_number, doc_type=excluded.doc_type, "
                "account_ref=excluded.account_ref, currency=excluded.currency, "
                "net=excluded.net, tax=excluded.tax, gross=excluded.gross, "
                "gl_ids=excluded.gl_ids, content_hash=excluded.content_hash, reasons=NULL, "
                "updated_at=excluded.updated_at, last_run=excluded.last_run",
                [(pipeline, d.key, d.cw_id, d.doc_number, d.doc_type, d.account_ref, d.currency,
                  str(d.net), str(d.tax), str(d.gross), json.dumps(list(d.gl_ids)),
                  d.content_hash, stamp, stamp, run_id) for d in docs])
            self._events(pipeline, run_id, stamp, [
                (d.key, before.get(d.key), "extracted",
                 "re-exposed by ConnectWise after posting" if before.get(d.key) == "posted"
                 else None) for d in docs])

    def quarantine(self, pipeline: str, run_id: str, reasons: dict[str, list[dict]],
                   stage: str) -> None:
        with self._tx():
            self._move_many(pipeline, run_id, [
                (key, "quarantined", stage, {"reasons": json.dumps(
                    [dict(item, stage=stage) for item in items], default=str)})
                for key, items in reasons.items()])

    def hold_unreconciled(self, pipeline: str, run_id: str,
                          reasons: dict[str, list[dict]]) -> None:
        """Loaded, but the target's money differs from what was priced: never batched."""
        with self._tx():
            self._move_many(pipeline, run_id, [
                (key, "unreconciled", "target check", {"reasons": json.dumps(
                    [dict(item, stage="load") for item in items], default=str)})
                for key, items in reasons.items()])

    def mark(self, pipeline: str, run_id: str, keys: Iterable[str], state: str,
             detail: str | None = None, **columns) -> None:
        with self._tx():
            self._move_many(pipeline, run_id, [(k, state, detail, columns) for k in keys])

    def mark_loaded(self, pipeline: str, run_id: str, refs: dict[str, str | None]) -> None:
        with self._tx():
            self._move_many(pipeline, run_id, [(k, "loaded", ref, {"sage_ref": ref})
                                                for k, ref in refs.items()])

    def _move_many(self, pipeline: str, run_id: str,
                   moves: list[tuple[str, str, str | None, dict]]) -> None:
        """Apply (key, new state, detail, extra columns) moves, refusing illegal ones."""
        if not moves:
            return
        before = self._states(pipeline, [m[0] for m in moves])
        for key, state, _, _ in moves:
            self._check(before.get(key), state, key)
        stamp, groups = now(), {}
        for key, state, _, columns in moves:
            groups.setdefault(tuple(columns), []).append(
                (state, stamp, run_id, *columns.values(), pipeline, key))
        for columns, rows in groups.items():
            sets = "".join(f", {c}=?" for c in columns)
            self.db.executemany(f"UPDATE documents SET state=?, updated_at=?, last_run=?{sets}"
                                " WHERE pipeline=? AND key=?", rows)
        self._events(pipeline, run_id, stamp,
                     [(key, before.get(key), state, detail) for key, state, detail, _ in moves])

    def _states(self, pipeline: str, keys: list[str]) -> dict[str, str]:
        states: dict[str, str] = {}
        for start in range(0, len(keys), 900):
            part = keys[start:start + 900]
            states.update((row["key"], row["state"]) for row in self.db.execute(
                f"SELECT key, state FROM documents WHERE pipeline=? AND key IN "
                f"({','.join('?' * len(part))})", (pipeline, *part)))
        return states

    @staticmethod
    def _check(before: str | None, after: str, key: str) -> None:
        if before is None and after == "extracted":
            return
        if before is None or after not in _ALLOWED[before]:
            raise IllegalTransition(f"document {key}: {before} -> {after} is not allowed")

    def _events(self, pipeline: str, run_id: str, stamp: str,
                changes: list[tuple[str, str | None, str, str | None]]) -> None:
        self.db.executemany("INSERT INTO events (pipeline, key, from_state, to_state, run_id, "
                            "at, detail) VALUES (?,?,?,?,?,?,?)",
                            [(pipeline, key, before, after, run_id, stamp, detail)
                             for key, before, after, detail in changes])

    # -- incremental cursors ------------------------------------------------------------
    def cursor(self, pipeline: str) -> str | None:
        row = self.db.execute("SELECT value FROM cursors WHERE pipeline=?", (pipeline,)).fetchone()
        return row["value"] if row else None

    def set_cursor(self, pipeline: str, value: str, run_id: str) -> None:
        with self._tx():
            self.db.execute("INSERT INTO cursors (pipeline, value, run_id, updated_at) VALUES "
                            "(?,?,?,?) ON CONFLICT(pipeline) DO UPDATE SET value=excluded.value,"
                            " run_id=excluded.run_id, updated_at=excluded.updated_at",
                            (pipeline, value, run_id, now()))
