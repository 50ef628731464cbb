"""One pipeline run: its description, fixed, and the resources its stages use.

The description — the spec, the pipeline, the home, the run id, whether it is a dry run — is
read-only: the run id is given once, when the run begins (``begin``), and nothing else
changes. The resources — the ConnectWise client, the journal, the Sage writer, what the target
says of itself, the per-chunk resolve cache — are opened on first use and closed with the run;
a dry run's journal and writer are throwaway copies, so the same stages run against them.
Stages never write into this object: they return what they found (a chunk's cursor value and
company records, a load's checked documents) and the flow passes it on.

Stage tasks receive a ``RunContext`` and take the resources they need from it, so no client,
writer or journal is ever a task input that Prefect would try to hash or persist.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

from tasks.connectwise import ConnectWiseClient, Credentials
from tasks.entities import AccountingEntity, ListEntity, entity_for, resolve_documents
from tasks.errors import ConfigError
from tasks.journal import Journal
from tasks.resolved import ResolveContext
from tasks.state import open_journal, run_lock, throwaway_journal


def cwsage_home() -> Path:
    """All state lives under $CWSAGE_HOME (default ./.cwsage)."""
    return Path(os.environ.get("CWSAGE_HOME") or ".cwsage").resolve()


class RunContext:
    """Deliberately a plain class, not a dataclass or a model: Prefect walks dataclasses,
    models, dicts and lists passed to tasks, and the spec it carries is large."""

    def __init__(self, spec: Any, pipeline_spec: Any, home: Path, run_id: str = "",
                 dry_run: bool = False):
        self._spec = spec                    # tasks.config.spec.Spec
        self._pipeline_spec = pipeline_spec  # tasks.config.spec.PipelineSpec
        self._home = home
        self._run_id = run_id
        self._dry_run = dry_run
        self._client: ConnectWiseClient | None = None
        self._writer: Any = None
        self._journal: Journal | None = None
        self._lock: Any = None
        self._facts: Any = None
        self._resolved: "OrderedDict[int, tuple[dict, dict]]" = OrderedDict()
        self._resolve_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"RunContext(pipeline={self.pipeline!r}, run_id={self.run_id!r})"

    spec = property(lambda self: self._spec)
    pipeline_spec = property(lambda self: self._pipeline_spec)
    home = property(lambda self: self._home)
    run_id = property(lambda self: self._run_id)
    dry_run = property(lambda self: self._dry_run)

    def begin(self, run_id: str) -> None:
        """The run has begun, as the journal's run ``run_id``: its id is fixed from now on."""
        if self._run_id and self._run_id != run_id:
            raise RuntimeError(f"run {self._run_id} cannot become {run_id}")
        self._run_id = run_id

    @property
    def pipeline(self) -> str:
        return self.pipeline_spec.name

    @property
    def entity(self) -> AccountingEntity | ListEntity:
        return entity_for(self.pipeline_spec.extract)

    @property
    def run_dir(self) -> Path:
        return self.home / "runs" / self.pipeline / self.run_id

    @property
    def results(self) -> Path:
        """Where Prefect persists the reusable stage results (see tasks.caching)."""
        path = self.home / "results"
        path.mkdir(parents=True, exist_ok=True)
        return path

    @property
    def journal(self) -> Journal:
        """The journal (in ``$CWSAGE_HOME``, or shared: ``tasks.state``); in a dry run, a
        throwaway copy of it."""
        if self._journal is None:
            shared = self.spec.shared_state()
            self._journal = throwaway_journal(self.home, shared, self.pipeline) \
                if self.dry_run else open_journal(self.home, shared)
        return self._journal

    @property
    def client(self) -> ConnectWiseClient:
        if self._client is None:
            self._client = make_client(self.spec.connectwise)
        return self._client

    @property
    def writer(self):
        """The Sage-side writer; in a dry run, a throwaway copy of the replica (a fresh
        replica, with the writer's exchange rates and lock date, when the target is a file
        writer's folder) — the real target is never touched."""
        if self._writer is None:
            from tasks.sage50 import get_writer
            name, settings = self.spec.writer_for(self.pipeline_spec)
            if self.dry_run:
                from tasks.config.sage import replica_file, throwaway_settings
                real = replica_file(settings, self.home) if name == "sage50_replica" else None
                copy = self.home / "dry-runs" / self.pipeline / "sage50.db"
                _sqlite_copy(real, copy) if real and real.exists() else copy.unlink(missing_ok=True)
                name, settings = "sage50_replica", throwaway_settings(settings, copy)
            self._writer = get_writer(name, settings, self.home)
            if not self.dry_run:
                from tasks.sage50.claim import claim
                claim(self._writer.target, self.home, self.journal.home_marker())
        return self._writer

    @property
    def facts(self):
        """What the target says of itself (tax rates, configured exchange rates); read once."""
        if self._facts is None:
            self._facts = self.writer.facts()
        return self._facts

    def resolve(self, export: dict) -> dict:
        """The chunk's documents resolved (``tasks.entities.resolve_documents``), once per
        parsed chunk: extract, validate and transform of one chunk share the result."""
        with self._resolve_lock:
            hit = self._resolved.get(id(export))
            if hit is not None and hit[0] is export:
                return hit[1]
        resolved = resolve_documents(self.entity, export, ResolveContext(
            self.pipeline_spec.mappings, f"pipelines.{self.pipeline}.mappings", self.facts))
        with self._resolve_lock:
            self._resolved[id(export)] = (export, resolved)
            while len(self._resolved) > 3:
                self._resolved.popitem(last=False)
        return resolved

    def acquire(self) -> None:
        """One run at a time per pipeline (per home, or across workers with shared state); a
        second run exits with a clear message."""
        lock = run_lock(self.home, self.spec.shared_state(), self.pipeline)
        lock.acquire()
        self._lock = lock

    def tidy(self, keep_days: int = 7) -> None:
        """After a completed run: its spilled chunks go, with its cached plan and extract
        results (a failed run keeps both, so a Retry resumes; a retried completed run extracts
        afresh), and cached stage results unused for ``keep_days`` are pruned."""
        shutil.rmtree(self.run_dir, ignore_errors=True)
        results = self.home / "results"
        for pattern in (f"plan-{self.pipeline}-{self.run_id}",
                        f"extract-{self.pipeline}-{self.run_id}-*"):
            for path in results.glob(pattern):
                path.unlink(missing_ok=True)
        cutoff = time.time() - keep_days * 86400
        for path in results.glob("*"):
            if path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)

    def close(self) -> None:
        for thing in (self._client, self._writer, self._journal):
            if thing is not None:
                thing.close()
        if self._lock is not None:
            self._lock.release()
        self._client = self._writer = self._journal = self._lock = None


def _sqlite_copy(source: Path, target: Path) -> Path:
    """A consistent copy of an SQLite database (the backup API), replacing ``target``."""
    import sqlite3
    target.parent.mkdir(parents=True, exist_ok=True)
    for leftover in (target, target.with_name(target.name + "-wal"),
                     target.with_name(target.name + "-shm")):
        leftover.unlink(missing_ok=True)
    if source.exists():
        src, dst = sqlite3.connect(source), sqlite3.connect(target)
        try:
            src.backup(dst)
        finally:
            src.close()
            dst.close()
    return target


def make_client(cfg) -> ConnectWiseClient:
    missing = [k for k in ("base_url", "company", "public_key", "private_key", "client_id")
               if getattr(cfg, k) in (None, "")]
    if missing:
        names = ", ".join(f"CW_{k.upper()}" for k in missing)
        raise ConfigError(f"connectwise: {', '.join(missing)} not set — export {names} "
                          "(see the README: pointing cwsage at ConnectWise)")
    creds = Credentials(cfg.company, cfg.public_key, cfg.private_key.get_secret_value(),
                        cfg.client_id.get_secret_value())
    return ConnectWiseClient(cfg.base_url, creds, timeout=cfg.timeout_seconds,
                             max_attempts=cfg.max_attempts)
