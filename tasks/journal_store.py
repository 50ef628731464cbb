"""Where the journal's tables live: an SQLite file in ``$CWSAGE_HOME`` (the embedded default)
or a PostgreSQL schema that several workers share (``state:`` in the spec).

The journal speaks one SQL (SQLite's, with ``?`` parameters) to a *store*; the PostgreSQL store
translates the few places the two differ. Both stores give rows that answer by name and by
position (``row["key"]``, ``row[0]``, ``dict(row)``), and one write transaction at a time per
journal: SQLite's ``BEGIN IMMEDIATE``; in PostgreSQL a transaction-scoped advisory lock on the
schema, so two workers never interleave a read-then-write of the same documents.
No Prefect here.
"""

from __future__ import annotations

import os
import re
import socket
import sqlite3
import threading
import zlib
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import urlsplit, urlunsplit

from tasks.dbfiles import check_readable

SQLITE_SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
  pipeline TEXT NOT NULL, key TEXT NOT NULL, cw_id TEXT, state TEXT NOT NULL,
  doc_number TEXT, doc_type TEXT, account_ref TEXT, currency TEXT,
  net TEXT, tax TEXT, gross TEXT, gl_ids TEXT, content_hash TEXT,
  reasons TEXT, sage_ref TEXT, batch_identifier TEXT, batch_id INTEGER,
  first_seen TEXT NOT NULL, updated_at TEXT NOT NULL, last_run TEXT,
  PRIMARY KEY (pipeline, key));
CREATE INDEX IF NOT EXISTS documents_state ON documents (pipeline, state);
CREATE TABLE IF NOT EXISTS events (
  id INTEGER PRIMARY KEY, pipeline TEXT, key TEXT, from_state TEXT, to_state TEXT,
  run_id TEXT, at TEXT, detail TEXT);
CREATE INDEX IF NOT EXISTS events_key ON events (pipeline, key);
CREATE TABLE IF NOT EXISTS batches (
  batch_identifier TEXT PRIMARY KEY, pipeline TEXT NOT NULL, state TEXT NOT NULL,
  cw_batch_id INTEGER, record_ids TEXT NOT NULL, keys TEXT NOT NULL,
  run_id TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS cursors (
  pipeline TEXT PRIMARY KEY, value TEXT NOT NULL, run_id TEXT, updated_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
  run_id TEXT PRIMARY KEY, pipeline TEXT NOT NULL, started_at TEXT NOT NULL,
  finished_at TEXT, status TEXT, counts TEXT);
"""
# The same tables in PostgreSQL: integers are 64-bit, the history's id a sequence.
POSTGRES_SCHEMA = (SQLITE_SCHEMA.replace("id INTEGER PRIMARY KEY", "id BIGSERIAL PRIMARY KEY")
                   .replace("INTEGER", "BIGINT"))
TABLES = ("documents", "events", "batches", "cursors", "meta", "runs")


class SqliteStore:
    """The journal in one SQLite file: WAL mode, ``synchronous=FULL``."""

    dialect = "sqlite"

    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.RLock()
        path.parent.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False,
                                    timeout=30)
        try:
            self.conn.row_factory = sqlite3.Row
            check_readable(self.conn, "documents", "a SQLite database of another kind: it has "
                           "no journal documents table")   # before anything is written to it
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=FULL")
            self.conn.executescript(SQLITE_SCHEMA)
        except BaseException:
            self.conn.close()
            raise

    def __str__(self) -> str:
        return str(self.path)

    def execute(self, sql: str, params: tuple | list = ()):
        return self.conn.execute(sql, params)

    def executemany(self, sql: str, rows: list) -> None:
        self.conn.executemany(sql, rows)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self._lock:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")

    def close(self) -> None:
        self.conn.close()


class Row(tuple):
    """A PostgreSQL row that answers as ``sqlite3.Row`` does: by position and by name."""

    _names: dict[str, int]

    def __new__(cls, names: dict[str, int], values):
        row = super().__new__(cls, values)
        row._names = names
        return row

    def __getitem__(self, item):
        if isinstance(item, str):
            return tuple.__getitem__(self, self._names[item])
        return tuple.__getitem__(self, item)

    def keys(self) -> list[str]:
        return list(self._names)


def _row_factory(cursor):
    names = {column.name: i for i, column in enumerate(cursor.description or ())}
    return lambda values: Row(names, values)


@lru_cache(maxsize=256)
def to_postgres(sql: str) -> str:
    """The journal's SQLite statement in PostgreSQL: ``%s`` parameters, no index hints,
    ``INSERT OR IGNORE`` as ``ON CONFLICT DO NOTHING``."""
    sql = sql.replace("INDEXED BY documents_state ", "")
    if sql.startswith("INSERT OR IGNORE INTO"):
        sql = sql.replace("INSERT OR IGNORE INTO", "INSERT INTO", 1) + " ON CONFLICT DO NOTHING"
    return sql.replace("%", "%%").replace("?", "%s")


def lock_key(*parts: str) -> int:
    """A stable, non-negative 31-bit number for an advisory lock (the same on every worker)."""
    return zlib.crc32("\x1f".join(parts).encode()) & 0x7FFFFFFF


def shown_url(url: str) -> str:
    """The address without any password, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def application_name() -> str:
    """What this process is called in ``pg_stat_activity``: the lock's holder, when refused."""
    return f"cwsage {socket.gethostname()} pid {os.getpid()}"[:63]


def connect(url: str, password: str | None):
    import psycopg
    kwargs: dict[str, Any] = {"autocommit": True, "application_name": application_name(),
                              "connect_timeout": 10}
    if password:
        kwargs["password"] = password
    return psycopg.connect(url, **kwargs)


class PostgresStore:
    """The journal in one PostgreSQL schema, shared by every worker of a company."""

    dialect = "postgresql"

    def __init__(self, url: str, password: str | None, schema: str):
        if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", schema):
            raise ValueError(f"not a schema name: {schema!r}")
        self.url, self.schema = url, schema
        self._lock = threading.RLock()
        self._key = lock_key("cwsage-journal", schema)
        self.conn = connect(url, password)
        try:
            self.conn.row_factory = _row_factory
            with self.conn.transaction():
                # two workers creating the tables at once would collide in the catalogue
                self.conn.execute("SELECT pg_advisory_xact_lock(%s)", (self._key,))
                self.conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
                self.conn.execute(f"SET search_path TO {schema}")
                for statement in POSTGRES_SCHEMA.split(";"):
                    if statement.strip():
                        self.conn.execute(statement)
            self.conn.execute(f"SET search_path TO {schema}")
        except BaseException:
            self.conn.close()
            raise

    def __str__(self) -> str:
        return f"{shown_url(self.url)} (schema {self.schema})"

    def execute(self, sql: str, params: tuple | list = ()):
        with self._lock:
            return self.conn.execute(to_postgres(sql), tuple(params))

    def executemany(self, sql: str, rows: list) -> None:
        if rows:
            with self._lock, self.conn.cursor() as cursor:
                cursor.executemany(to_postgres(sql), rows)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self._lock, self.conn.transaction():
            self.conn.execute("SELECT pg_advisory_xact_lock(%s)", (self._key,))
            yield

    def close(self) -> None:
        self.conn.close()


def copy_rows(source, target, pipeline: str) -> dict[str, int]:
    """One pipeline's rows of every journal table from ``source`` into ``target`` (a dry run's
    throwaway journal; a home's journal moved into shared state), in one transaction; rows the
    target already has are kept. The history is copied in order and numbered by the target.
    Returns the rows copied per table."""
    copied = {}
    with target.transaction():
        for table in TABLES:
            where, params = ("", ()) if table == "meta" else (" WHERE pipeline=?", (pipeline,))
            columns = [c for c in source.execute(f"SELECT * FROM {table} LIMIT 0").description
                       or ()]
            names = [c[0] if isinstance(c, tuple) else c.name for c in columns]
            names = [n for n in names if not (table == "events" and n == "id")]
            order = " ORDER BY id" if table == "events" else ""
            rows = [tuple(r) for r in source.execute(
                f"SELECT {', '.join(names)} FROM {table}{where}{order}", params)]
            if rows:
                target.executemany(f"INSERT OR IGNORE INTO {table} ({', '.join(names)}) "
                                   f"VALUES ({','.join('?' * len(names))})", rows)
            copied[table] = len(rows)
    return copied
