"""The SQLite files cwsage keeps (the journal, the Sage 50 replica): is one fit to open, and
if not, why — so each names its file and the way out in one line (no Prefect here)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

BUSY, CANNOT_OPEN, DAMAGED = "busy", "cannot open", "damaged"

_CANNOT_OPEN = ("SQLITE_CANTOPEN", "SQLITE_READONLY", "SQLITE_PERM", "SQLITE_AUTH",
                "SQLITE_IOERR", "SQLITE_FULL")
CANNOT_OPEN_FIX = ("check that its folder exists, that this user may write there and that the "
                   "disk has room")


def check_readable(conn: sqlite3.Connection, marker: str, other_kind: str) -> None:
    """Raise ``sqlite3.DatabaseError`` unless the file is new or holds the ``marker`` table and
    every page reads (``quick_check``: a truncated or overwritten file fails here, before
    anything is written to it). ``other_kind`` is the message for a database of another kind."""
    tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master "
                                               "WHERE type='table'")}
    if tables and marker not in tables:
        raise sqlite3.DatabaseError(other_kind)
    verdict = conn.execute("PRAGMA quick_check(1)").fetchone()[0]
    if verdict != "ok":
        raise sqlite3.DatabaseError(f"database disk image is damaged ({verdict})")


def open_failure(exc: BaseException) -> str:
    """Why opening failed: ``BUSY`` (another process holds it), ``CANNOT_OPEN`` (folder,
    permissions, disk) or ``DAMAGED`` (the file itself: truncated, garbage, another kind)."""
    code = getattr(exc, "sqlite_errorname", None) or ""
    if code.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        return BUSY
    if isinstance(exc, OSError) or code.startswith(_CANNOT_OPEN):
        return CANNOT_OPEN
    return DAMAGED


def move_aside(path: Path) -> str:
    return f"move it aside (with any {path.name}-wal and {path.name}-shm beside it)"
