"""Where a company's state lives, and the one-run-at-a-time lock.

Embedded (the default): the journal is ``$CWSAGE_HOME/journal.db`` and the lock a file beside
it, so every run of a company must happen on that one machine. Shared (``state:`` in the spec):
the journal is a PostgreSQL schema and the lock a PostgreSQL advisory lock held for the run by
its own connection, so any worker of a Prefect work pool may run any pipeline of the company —
a second run of the same pipeline, on any worker, is refused while the first holds the lock,
and a worker that dies loses its connection and with it the lock. No Prefect here.
"""

from __future__ import annotations

import errno
import fcntl
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from tasks.errors import ConfigError
from tasks.journal import Journal
from tasks.journal_store import connect, lock_key, shown_url


@dataclass(frozen=True)
class SharedState:
    """``state:`` of the spec, validated: the database address (no password in it), the
    password (from the environment) and the schema that holds this company's journal."""
    url: str
    password: str | None
    schema: str

    def __repr__(self) -> str:
        return f"SharedState({shown_url(self.url)!r}, schema={self.schema!r})"


def journal_path(home: Path) -> Path:
    return home / "journal.db"


def journal_exists(home: Path, shared: SharedState | None) -> bool:
    """Whether there is a journal to read (a shared one always is: it is made on first use)."""
    return shared is not None or journal_path(home).exists()


def open_journal(home: Path, shared: SharedState | None) -> Journal:
    if shared is None:
        return Journal(journal_path(home))
    return Journal.shared(shared.url, shared.password, shared.schema)


def throwaway_journal(home: Path, shared: SharedState | None, pipeline: str) -> Journal:
    """A dry run's journal: a copy of the pipeline's state in a file of its own, so nothing
    the dry run records reaches the real journal."""
    path = home / "dry-runs" / pipeline / "journal.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    for leftover in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        leftover.unlink(missing_ok=True)
    if shared is None and not journal_path(home).exists():
        return Journal(path)
    source = open_journal(home, shared)
    try:
        copy = Journal(path)
        source.copy_to(copy, pipeline)
        return copy
    finally:
        source.close()


class FileLock:
    """One run at a time per pipeline and home: ``$CWSAGE_HOME/locks/<pipeline>.lock``."""

    def __init__(self, home: Path, pipeline: str):
        self.path, self.pipeline, self._handle = home / "locks" / f"{pipeline}.lock", pipeline, None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        def refused(what: str) -> ConfigError:
            return ConfigError(f"[{self.pipeline}] lock file {self.path} {what} — remove it "
                               "(cwsage creates its own); nothing was done")
        try:                        # never through a symlink: its target would be truncated
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            raise refused("is a symbolic link" if exc.errno == errno.ELOOP
                          else f"cannot be opened ({exc.strerror})") from None
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise refused("is not a regular file")
        handle = os.fdopen(fd, "r+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise busy(self.pipeline, holder) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        self._handle = handle

    def release(self) -> None:
        if self._handle is not None:
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None


class AdvisoryLock:
    """One run at a time per pipeline and company, across workers: a session advisory lock
    on (the schema, the pipeline), held by a connection of its own for the whole run."""

    def __init__(self, shared: SharedState, pipeline: str):
        self.shared, self.pipeline, self._conn = shared, pipeline, None
        self.keys = (lock_key("cwsage-run", shared.schema), lock_key(pipeline))

    def acquire(self) -> None:
        import psycopg
        from tasks.journal import state_unusable
        try:
            conn = connect(self.shared.url, self.shared.password)
            taken = conn.execute("SELECT pg_try_advisory_lock(%s, %s)", self.keys).fetchone()[0]
            holder = None if taken else self._holder(conn)
        except psycopg.Error as exc:
            raise state_unusable(self.shared.url, exc) from None
        if not taken:
            conn.close()
            raise busy(self.pipeline, holder or "another worker")
        self._conn = conn

    def _holder(self, conn) -> str | None:
        row = conn.execute(
            "SELECT a.application_name, a.client_addr FROM pg_locks l JOIN pg_stat_activity a "
            "ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2 "
            "AND l.classid::bigint = %s AND l.objid::bigint = %s", self.keys).fetchone()
        if not row:
            return None
        return f"{row[0] or 'a session'}" + (f" from {row[1]}" if row[1] else "")

    def release(self) -> None:
        if self._conn is not None:
            self._conn.close()            # ending the session releases the lock
            self._conn = None


def run_lock(home: Path, shared: SharedState | None, pipeline: str) -> FileLock | AdvisoryLock:
    return FileLock(home, pipeline) if shared is None else AdvisoryLock(shared, pipeline)


def busy(pipeline: str, holder: str) -> ConfigError:
    return ConfigError(f"[{pipeline}] another run of this pipeline is in progress ({holder}) — "
                       "wait for it to finish; nothing was done")

