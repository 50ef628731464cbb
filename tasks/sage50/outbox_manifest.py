"""A file writer's memory: every document key, split Id and account record it has written,
and what the Sage side has said of each since.

A small SQLite file in the writer's folder (``.cwsage-manifest.sqlite``, rollback journal,
``synchronous=FULL``), so a record is either fully there or not at all. The Sage-side importer
may move files away; the manifest remembers them regardless. ``OUTCOMES`` holds the latest
word from the Sage side per document (imported, failed, differs — with the evidence); a failed
document counts as not written, so the next load writes it again. ``READ`` lists the
confirmation files already read (by name and content hash), so each is read once.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Iterable

from tasks.sage50.protocol import FAILED, Confirmation, DocumentTotals, LineTotals
from tasks.keys import legacy_key
from tasks.sage50.replica_read import chunks, marks
from tasks.sage50.replica_schema import now

MANIFEST_NAME = ".cwsage-manifest.sqlite"
VERSION = 3                 # 2: purchase keys renamed to the shell-safe form (tasks.keys)
#                             3: OUTCOMES and READ (what the Sage side confirmed)
DDL = """
CREATE TABLE IF NOT EXISTS FILES (NAME TEXT PRIMARY KEY, SOURCE TEXT, SHA256 TEXT,
    WRITTEN_AT TEXT NOT NULL, RECONCILED INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS DOCUMENTS (KEY TEXT PRIMARY KEY, FILE TEXT NOT NULL, DOC_TYPE TEXT,
    ACCOUNT_REF TEXT, CURRENCY TEXT, NET TEXT, TAX TEXT, GROSS TEXT, LINES TEXT);
CREATE TABLE IF NOT EXISTS SPLITS (ID INTEGER PRIMARY KEY, KEY TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS ACCOUNTS (KIND TEXT NOT NULL, KEY TEXT NOT NULL, ACCOUNT_REF TEXT,
    DIGEST TEXT NOT NULL, FILE TEXT NOT NULL, PRIMARY KEY (KIND, KEY));
CREATE TABLE IF NOT EXISTS OUTCOMES (KEY TEXT PRIMARY KEY, OUTCOME TEXT NOT NULL,
    EVIDENCE TEXT NOT NULL, REASON TEXT, FIX TEXT, AT TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS READ (NAME TEXT NOT NULL, SHA256 TEXT NOT NULL, READ_AT TEXT NOT NULL,
    PRIMARY KEY (NAME, SHA256));
CREATE TABLE IF NOT EXISTS FOUND_BY (KEY TEXT PRIMARY KEY, REFERENCE TEXT NOT NULL,
    DOC_DATE TEXT NOT NULL, ROWS INTEGER NOT NULL);
"""


@dataclass(frozen=True)
class DocEntry:
    key: str
    totals: DocumentTotals | None       # None only when a reconciled file no longer prices
    split_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class AccountEntry:
    kind: str
    key: str
    account_ref: str | None
    digest: str


class Manifest:
    def __init__(self, path: Path):
        self.path = path
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False,
                                     timeout=30)
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.executescript(DDL)
        if self._conn.execute("PRAGMA user_version").fetchone()[0] < 2:
            self._rename_legacy_keys()
        self._conn.execute(f"PRAGMA user_version = {VERSION}")

    def _rename_legacy_keys(self) -> None:
        """Keys written before keys were shell-safe take their new form (``legacy_key``)."""
        with self._conn:
            self._conn.execute("BEGIN IMMEDIATE")
            for table in ("DOCUMENTS", "SPLITS"):
                rows = self._conn.execute(f"SELECT DISTINCT KEY FROM {table}").fetchall()
                self._conn.executemany(f"UPDATE {table} SET KEY = ? WHERE KEY = ?", [
                    (new, old) for (old,) in rows if (new := legacy_key(old))])

    def files(self) -> set[str]:
        return {name for (name,) in self._conn.execute("SELECT NAME FROM FILES")}

    def document_files(self, keys: Iterable[str]) -> dict[str, str]:
        """The file each key was written in; a key the Sage side refused counts as unwritten."""
        return self._lookup("SELECT KEY, FILE FROM DOCUMENTS WHERE KEY IN ({}) AND KEY NOT IN "
                            f"(SELECT KEY FROM OUTCOMES WHERE OUTCOME = '{FAILED}')", keys)

    def keys_of_file(self, file: str) -> list[str]:
        rows = self._conn.execute("SELECT KEY FROM DOCUMENTS WHERE FILE = ? UNION SELECT KEY "
                                  "FROM ACCOUNTS WHERE FILE = ?", (file, file)).fetchall()
        return sorted(key for (key,) in rows)

    def file_names(self) -> list[str]:
        """Every file written, newest first."""
        return [n for (n,) in self._conn.execute("SELECT NAME FROM FILES ORDER BY WRITTEN_AT "
                                                 "DESC, NAME DESC")]

    def account_kinds(self, keys: Iterable[str]) -> dict[str, tuple[str, str | None]]:
        """key → (kind, account ref) of the account records among ``keys``."""
        rows = self._rows("SELECT KEY, KIND, ACCOUNT_REF FROM ACCOUNTS WHERE KEY IN ({})", keys)
        return {key: (kind, ref) for key, kind, ref in rows}

    def accounts_of(self, keys: Iterable[str]) -> set[str]:
        return {key for _, key, _ in self._rows(
            "SELECT KIND, KEY, DIGEST FROM ACCOUNTS WHERE KEY IN ({})", keys)}

    def outcomes(self, keys: Iterable[str]) -> dict[str, tuple]:
        """key → (outcome, evidence, reason, fix, at): the Sage side's latest word."""
        rows = self._rows("SELECT KEY, OUTCOME, EVIDENCE, REASON, FIX, AT FROM OUTCOMES "
                          "WHERE KEY IN ({})", keys)
        return {row[0]: tuple(row[1:]) for row in rows}

    def found_by(self, keys: Iterable[str]) -> dict[str, tuple[str, str, int]]:
        """key → (reference, ISO date, rows written): how Sage's tables find a document
        written without an Id of cwsage's (Sage's own import files)."""
        rows = self._rows("SELECT KEY, REFERENCE, DOC_DATE, ROWS FROM FOUND_BY WHERE KEY IN "
                          "({})", keys)
        return {key: (ref, when, n) for key, ref, when, n in rows}

    def found_by_reference(self, references: Iterable[str]) -> dict[str, tuple[str, str, int]]:
        """Every document written under one of ``references`` (``found_by``'s rows)."""
        rows = self._rows("SELECT KEY, REFERENCE, DOC_DATE, ROWS FROM FOUND_BY WHERE REFERENCE "
                          "IN ({})", references)
        return {key: (ref, when, n) for key, ref, when, n in rows}

    def confirmations(self, keys: Iterable[str]) -> dict[str, Confirmation]:
        return {key: Confirmation(key, outcome, evidence, reason, fix)
                for key, (outcome, evidence, reason, fix, _) in self.outcomes(keys).items()}

    def was_read(self, name: str, sha: str) -> bool:
        return self._conn.execute("SELECT 1 FROM READ WHERE NAME = ? AND SHA256 = ?",
                                  (name, sha)).fetchone() is not None

    def record_outcomes(self, outcomes: list[tuple[str, str, str, str | None, str | None]],
                        read: tuple[str, str] | None = None) -> None:
        """(key, outcome, evidence, reason, fix) rows, and the file they were read from, in
        one transaction: a file counts as read only with everything it said. An account the
        Sage side refused is forgotten, so it travels again with the next load."""
        c = self._conn
        c.execute("BEGIN IMMEDIATE")
        try:
            c.executemany("INSERT OR REPLACE INTO OUTCOMES VALUES (?, ?, ?, ?, ?, ?)",
                          [(*row, now()) for row in outcomes])
            c.executemany("DELETE FROM ACCOUNTS WHERE KEY = ?",
                          [(row[0],) for row in outcomes if row[1] == FAILED])
            if read:
                c.execute("INSERT OR IGNORE INTO READ VALUES (?, ?, ?)", (*read, now()))
        except BaseException:
            c.execute("ROLLBACK")
            raise
        c.execute("COMMIT")

    def split_owners(self, ids: Iterable[int]) -> dict[int, str]:
        return self._lookup("SELECT ID, KEY FROM SPLITS WHERE ID IN ({})", ids)

    def account_digests(self, keys: Iterable[str]) -> dict[tuple[str, str], str]:
        rows = self._rows("SELECT KIND, KEY, DIGEST FROM ACCOUNTS WHERE KEY IN ({})", keys)
        return {(kind, key): digest for kind, key, digest in rows}

    def present(self, keys: Iterable[str]) -> set[str]:
        keys = set(keys)
        found = set(self.document_files(keys))
        found |= {key for _, key, _ in self._rows(
            "SELECT KIND, KEY, DIGEST FROM ACCOUNTS WHERE KEY IN ({})", keys - found)}
        return found

    def totals(self, keys: Iterable[str]) -> dict[str, DocumentTotals]:
        rows = self._rows("SELECT KEY, DOC_TYPE, ACCOUNT_REF, CURRENCY, NET, TAX, GROSS, LINES "
                          "FROM DOCUMENTS WHERE DOC_TYPE IS NOT NULL AND KEY IN ({})", keys)
        return {row[0]: _totals(*row) for row in rows}

    def record(self, file: str, source: str, sha: str, docs: list[DocEntry],
               accounts: list[AccountEntry], reconciled: bool = False,
               found_by: dict[str, tuple[str, str, int]] | None = None) -> None:
        """Remember one written file and what it carried, in one transaction."""
        c = self._conn
        c.execute("BEGIN IMMEDIATE")
        try:
            c.executemany("INSERT OR REPLACE INTO FOUND_BY VALUES (?, ?, ?, ?)",
                          [(key, *found) for key, found in (found_by or {}).items()])
            c.execute("INSERT OR IGNORE INTO FILES VALUES (?, ?, ?, ?, ?)",
                      (file, source, sha, now(), int(reconciled)))
            c.executemany("INSERT OR REPLACE INTO DOCUMENTS VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                          [(d.key, file, *_columns(d.totals)) for d in docs])
            c.executemany("DELETE FROM OUTCOMES WHERE KEY = ?",      # written anew: unanswered
                          [(d.key,) for d in docs])
            c.executemany("INSERT OR IGNORE INTO SPLITS VALUES (?, ?)",
                          [(i, d.key) for d in docs for i in d.split_ids])
            c.executemany("INSERT OR REPLACE INTO ACCOUNTS VALUES (?, ?, ?, ?, ?)",
                          [(a.kind, a.key, a.account_ref, a.digest, file) for a in accounts])
        except BaseException:
            c.execute("ROLLBACK")
            raise
        c.execute("COMMIT")

    def close(self) -> None:
        self._conn.close()

    def _rows(self, sql: str, values: Iterable) -> list[tuple]:
        out = []
        for part in chunks(set(values)):
            out += self._conn.execute(sql.format(marks(part)), part).fetchall()
        return out

    def _lookup(self, sql: str, values: Iterable) -> dict:
        return dict(self._rows(sql, values))


def _columns(t: DocumentTotals | None) -> tuple:
    if t is None:
        return (None,) * 7
    lines = [[ln.nominal_code, ln.tax_code, str(ln.net), str(ln.tax), str(ln.rate),
              ln.description] for ln in t.lines]
    return (t.doc_type, t.account_ref, t.currency, str(t.net), str(t.tax), str(t.gross),
            json.dumps(lines, ensure_ascii=False))


def _totals(key, doc_type, account_ref, currency, net, tax, gross, lines) -> DocumentTotals:
    parsed = tuple(LineTotals(nominal, code, Decimal(n), Decimal(t), Decimal(rate), text)
                   for nominal, code, n, t, rate, text in json.loads(lines))
    return DocumentTotals(key, doc_type, account_ref, currency, Decimal(net), Decimal(tax),
                          Decimal(gross), parsed)
