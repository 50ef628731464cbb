"""Two workers of one company sharing their state in PostgreSQL (``state:`` in the spec).

Each worker is a ``cwsage run invoices`` process with a ``$CWSAGE_HOME`` of its own — as two
machines of a Prefect work pool would have — writing the same Sage company and sharing one
journal, in a schema of the test server (tests/postgres.py). Worker A is killed at a crash point
(or at a random moment); then the two take turns, B first, until a run succeeds. The crash
suite's invariants must hold as they do for one home: every valid invoice in Sage once, every GL
entry in one batch, the broken invoices unposted, nothing in flight in the shared journal — and
a dead worker's lock never blocks the other.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import psycopg

from sandbox.server import SandboxServer
from tests.crash.harness import INVOICES, Trial, child_env, invariants, project, run_once


def shared_spec(spec: Path, target: Path, url: str, schema: str) -> None:
    """The spec pointed at one Sage company (a file both workers reach) and the shared state."""
    text = spec.read_text().replace("  sage50_replica: {currency_rates:",
                                    f"  sage50_replica: {{path: {target}, currency_rates:")
    assert str(target) in text, "pipelines.yaml: the sage50_replica line moved"
    spec.write_text(text + f"\nstate:\n  url: {url}\n  password: ${{CWSAGE_STATE_PASSWORD}}\n"
                           f"  schema: {schema}\n")


def journal_problems(url: str, password: str, schema: str) -> list[str]:
    with psycopg.connect(url, password=password, autocommit=True) as db:
        states = dict(db.execute(f"SELECT state, COUNT(*) FROM {schema}.documents "
                                 "GROUP BY state").fetchall())
        intents = db.execute(f"SELECT COUNT(*) FROM {schema}.batches WHERE state='intent'"
                             ).fetchone()[0]
    problems = []
    if any(states.get(s) for s in ("loading", "posting", "loaded", "handed_off")):
        problems.append(f"the shared journal still has work in flight: {states}")
    if intents:
        problems.append(f"{intents} batch intents were never settled")
    if not states.get("posted"):
        problems.append(f"the shared journal holds nothing posted: {states}")
    return problems


def two_workers_trial(workdir: Path, api_url: str | None, server_pg, *, crash: str | None = None,
                      kill_after: float | None = None, seed: int = 3) -> Trial:
    result = Trial(f"two workers, {crash or f'killed after {kill_after:.1f}s'}")
    folder = Path(tempfile.mkdtemp(dir=workdir))
    spec, target = project(folder), folder / "company" / "sage50.db"
    target.parent.mkdir()
    homes = folder / "worker-a", folder / "worker-b"
    schema = server_pg.schema()
    shared_spec(spec, target, server_pg.url, schema)
    server = SandboxServer(port=0, seed=seed, invoices=INVOICES, expenses=0, procurement=0,
                           broken_share=0.125).start()

    def env(home: Path, crash_at: str | None = None) -> dict:
        return dict(child_env(server, home, api_url, crash_at),
                    CWSAGE_STATE_PASSWORD=server_pg.password)
    try:
        result.runs.append(run_once(spec, env(homes[0], crash), kill_after))
        for turn in range(4):
            code = run_once(spec, env(homes[(turn + 1) % 2]))
            result.runs.append(code)
            if code == 0:
                break
        if result.runs[-1] != 0:
            result.problems.append(f"the runs after the crash did not succeed: exit codes "
                                   f"{result.runs}")
            return result
        if any((home / "journal.db").exists() for home in homes):
            result.problems.append("a worker wrote a journal of its own in its home")
        (homes[0] / "sage50.db").symlink_to(target)     # where the invariants read Sage
        result.problems += invariants(server, homes[0], journal=False)
        result.problems += journal_problems(server_pg.url, server_pg.password, schema)
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)
    return result
