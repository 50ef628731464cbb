"""``cwsage state import``: a home's journal moved into the shared state of ``state:``.

For a company that ran on one machine and now runs on a work pool: every pipeline's documents,
history, batches, cursors and runs — and the home's batch marker, so the batches it created in
ConnectWise are still recognised as this company's — are copied into the empty PostgreSQL
schema in one transaction per pipeline, under each pipeline's run lock. The home's file is then
marked as moved: opening it again is refused, so nothing can run against the old copy.
"""

from __future__ import annotations

import sys
from pathlib import Path

from tasks.inert import terminal
from flows.spec import load_spec
from tasks.context import cwsage_home
from tasks.errors import ConfigError
from tasks.held import plural
from tasks.journal import Journal
from tasks.state import AdvisoryLock, journal_path, open_journal

EXIT_OK = 0


def import_command(spec_path: str, source: Path | None = None, out=None) -> int:
    out = out or sys.stdout
    spec = load_spec(spec_path, need_connection=False, check_files=False)
    shared = spec.shared_state()
    if shared is None:
        raise ConfigError(f"{spec.path.name}: state: is not set — there is no shared journal to "
                          "import into; add state: (README, 'Any worker, any pipeline') first")
    path = (source or journal_path(cwsage_home())).resolve()
    if not path.is_file():
        raise ConfigError(f"{path}: no journal there — pass --from PATH, the journal.db of the "
                          "home the company ran in")
    home = Journal(path)
    target = open_journal(Path("."), shared)
    locks: list[AdvisoryLock] = []
    try:
        pipelines = home.pipelines()
        _check_empty(target, pipelines, home.home_marker())
        for name in pipelines:
            lock = AdvisoryLock(shared, name)
            lock.acquire()
            locks.append(lock)
        for name in pipelines:
            copied = home.copy_to(target, name)
            print(f"{name}: {plural(copied['documents'], 'document')}, "
                  f"{plural(copied['events'], 'history event')} and "
                  f"{plural(copied['batches'], 'batch', 'batches')} imported", file=out)
        home.mark_moved(target.where)
    finally:
        for lock in locks:
            lock.release()
        target.close()
        home.close()
    print(f"{terminal(str(path))} now lives at {terminal(target.where)}; the file is kept as a "
          "backup and never read again", file=out)
    return EXIT_OK


def _check_empty(target: Journal, pipelines: list[str], marker: str) -> None:
    """Import only into a journal that holds none of these pipelines and no other marker."""
    held = [p for p in pipelines if any(target.counts(p).values())]
    theirs = target.recorded_marker()
    if held or (theirs and theirs != marker):
        what = f"documents of {', '.join(held)}" if held else \
            f"batches of another home (marker h{theirs})"
        raise ConfigError(f"{target.where}: the shared journal already holds {what} — nothing "
                          "was imported; import into a new schema (state.schema)")
