"""The outbox's memory: every document key, split Id and account record it has written.

A small SQLite file in the outbox folder (``.cwsage-manifest.sqlite``, rollback journal,
``synchronous=FULL``), so a record is either fully there or not at all. The folder's Zynk
importer may move files away; the manifest remembers them regardless.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Iterable

from tasks.sage50.protocol import DocumentTotals, LineTotals
from tasks.keys import legacy_key
from tasks.sage50.replica_read import chunks, marks
from tasks.sage50.replica_schema import now

MANIFEST_NAME = ".cwsage-manifest.sqlite"
VERSION = 2                 # 2: purchase keys renamed to the shell-safe form (tasks.keys)
DDL = """
CREATE TABLE IF NOT EXISTS FILES (NAME TEXT PRIMARY KEY, SOURCE TEXT, SHA256 TEXT,
    WRITTEN_AT TEXT NOT NULL, RECONCILED INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS DOCUMENTS (KEY TEXT PRIMARY KEY, FILE TEXT NOT NULL, DOC_TYPE TEXT,
    ACCOUNT_REF TEXT, CURRENCY TEXT, NET TEXT, TAX TEXT, GROSS TEXT, LINES TEXT);
CREATE TABLE IF NOT EXISTS SPLITS (ID INTEGER PRIMARY KEY, KEY TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS ACCOUNTS (KIND TEXT NOT NULL, KEY TEXT NOT NULL, ACCOUNT_REF TEXT,
    DIGEST TEXT NOT NULL, FILE TEXT NOT NULL, PRIMARY KEY (KIND, KEY));
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
        return self._lookup("SELECT KEY, FILE FROM DOCUMENTS WHERE KEY IN ({})", keys)

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
               accounts: list[AccountEntry], reconciled: bool = False) -> None:
        """Remember one written file and what it carried, in one transaction."""
        c = self._conn
        c.execute("BEGIN IMMEDIATE")
        try:
            c.execute("INSERT OR IGNORE INTO FILES VALUES (?, ?, ?, ?, ?)",
                      (file, source, sha, now(), int(reconciled)))
            c.executemany("INSERT OR IGNORE INTO DOCUMENTS VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                          [(d.key, file, *_columns(d.totals)) for d in docs])
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
