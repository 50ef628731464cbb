"""One pipeline run: ``Run``, its description, and ``RunContext``, the resources it opens.

``Run`` is read-only: the spec, the pipeline, the home, whether it is a dry run, and the run id,
given once when the run begins (``begin``). The resources — the ConnectWise client, the
journal, the Sage writer and the ``Resolver`` (the per-chunk resolve cache, with what the
target says of itself) — are opened by ``RunContext`` on first use and closed with the run; a
dry run's journal and writer are throwaway copies, so the same stages run against them.

Each stage task names what it uses: the ``Run`` and the resources it needs, never a bag of
everything (``load_task(run, journal, writer, resolver, chunk, checked, sage)``). Stages never
write into any of them: they return what they found (a chunk's cursor value and company
records, a load's checked documents) and the flow passes it on. None of these is a dataclass
or a model: Prefect walks those when they are task inputs, and the spec a run carries is large.
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
from tasks.entities import Entity, entity_for, resolve_documents
from tasks.errors import ConfigError
from tasks.journal import Journal
from tasks.resolved import ResolveContext
from tasks.state import open_journal, run_lock, throwaway_journal


def cwsage_home() -> Path:
    """All state lives under $CWSAGE_HOME (default ./.cwsage)."""
    return Path(os.environ.get("CWSAGE_HOME") or ".cwsage").resolve()


class Run:
    """What one pipeline run is: fixed, except for its id, given once when it begins."""

    def __init__(self, spec: Any, pipeline_spec: Any, home: Path, run_id: str = "",
                 dry_run: bool = False):
        self._spec = spec                    # tasks.config.spec.Spec
        self._pipeline_spec = pipeline_spec  # tasks.config.spec.PipelineSpec
        self._home = home
        self._run_id = run_id
        self._dry_run = dry_run
        self._entity = entity_for(pipeline_spec.extract)

    def __repr__(self) -> str:
        return f"Run(pipeline={self.pipeline!r}, run_id={self.run_id!r})"

    spec = property(lambda self: self._spec)
    pipeline_spec = property(lambda self: self._pipeline_spec)
    home = property(lambda self: self._home)
    run_id = property(lambda self: self._run_id)
    dry_run = property(lambda self: self._dry_run)
    entity: Entity = property(lambda self: self._entity)

    def begin(self, run_id: str) -> None:
        """The run has begun, as the journal's run ``run_id``: its id is fixed from now on."""
        if self._run_id and self._run_id != run_id:
            raise RuntimeError(f"run {self._run_id} cannot become {run_id}")
        self._run_id = run_id

    @property
    def pipeline(self) -> str:
        return self._pipeline_spec.name

    @property
    def run_dir(self) -> Path:
        return self._home / "runs" / self.pipeline / self._run_id

    @property
    def results(self) -> Path:
        """Where Prefect persists the reusable stage results (see tasks.caching)."""
        path = self._home / "results"
        path.mkdir(parents=True, exist_ok=True)
        return path


class Resolver:
    """A chunk's documents resolved (``tasks.entities.resolve_documents``) against the target's
    facts, once per parsed chunk: extract, validate, transform and load of one chunk share the
    result. Thread-safe: chunks are prepared on a pool."""

    def __init__(self, run: Run, facts: Any):
        self.run, self.facts = run, facts    # facts: what the target says of itself
        self._resolved: "OrderedDict[int, tuple[dict, dict]]" = OrderedDict()
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Resolver({self.run.pipeline!r})"

    def resolve(self, export: dict) -> dict:
        with self._lock:
            hit = self._resolved.get(id(export))
            if hit is not None and hit[0] is export:
                return hit[1]
        p = self.run.pipeline_spec
        resolved = resolve_documents(self.run.entity, export, ResolveContext(
            p.mappings, f"pipelines.{p.name}.mappings", self.facts))
        with self._lock:
            self._resolved[id(export)] = (export, resolved)
            while len(self._resolved) > 3:
                self._resolved.popitem(last=False)
        return resolved


class RunContext:
    """A ``Run`` and the resources it opens, each on first use, all closed by ``close``."""

    def __init__(self, spec: Any, pipeline_spec: Any, home: Path, run_id: str = "",
                 dry_run: bool = False):
        self.run = Run(spec, pipeline_spec, home, run_id, dry_run)
        self._client: ConnectWiseClient | None = None
        self._writer: Any = None
        self._journal: Journal | None = None
        self._lock: Any = None
        self._resolver: Resolver | None = None

    def __repr__(self) -> str:
        return f"RunContext({self.run!r})"

    # the run's description, for the flow and the commands that open a run
    spec = property(lambda self: self.run.spec)
    pipeline_spec = property(lambda self: self.run.pipeline_spec)
    home = property(lambda self: self.run.home)
    run_id = property(lambda self: self.run.run_id)
    dry_run = property(lambda self: self.run.dry_run)
    pipeline = property(lambda self: self.run.pipeline)
    entity = property(lambda self: self.run.entity)

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
                from tasks.sage50.replica import copy_replica
                real = replica_file(settings, self.home) if name == "sage50_replica" else None
                copy = copy_replica(real, self.home / "dry-runs" / self.pipeline / "sage50.db")
                name, settings = "sage50_replica", throwaway_settings(settings, copy)
            self._writer = get_writer(name, settings, self.home)
            if not self.dry_run:
                from tasks.sage50.claim import claim
                claim(self._writer.target, self.home, self.journal.home_marker())
        return self._writer

    @property
    def resolver(self) -> Resolver:
        """The resolve cache, with what the target says of itself (read once, here)."""
        if self._resolver is None:
            self._resolver = Resolver(self.run, self.writer.facts())
        return self._resolver

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
        shutil.rmtree(self.run.run_dir, ignore_errors=True)
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
        self._client = self._writer = self._journal = self._lock = self._resolver = None


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
