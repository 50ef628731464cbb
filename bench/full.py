"""The full pipeline, measured: the real Prefect flow ``flows.pipeline.run_pipeline``.

``python -m bench.full --spec DIR/pipelines.yaml --result FILE [--pipeline invoices]``
runs one flow run with the environment it is given (``CWSAGE_HOME``, CW_*, ``PREFECT_API_URL``),
then — outside the measured time — reads the flow run's task runs from the Prefect API (time
per stage) and counts what reached the Sage 50 replica. Writes the result file.
"""

from __future__ import annotations

import time

_STARTED = time.perf_counter()

import argparse  # noqa: E402
import os  # noqa: E402
import sqlite3  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import TYPE_CHECKING  # noqa: E402

from bench.measure import (RssSampler, proc_status_mb, profiled, rss_fields,  # noqa: E402
                           traced, trend, write_result)

if TYPE_CHECKING:                   # the flow's result; imported with the flow, not before
    from tasks.run_result import RunResult

# What ``cwsage run`` sets before Prefect is imported (flows.cli._prefect_defaults).
PREFECT_DEFAULTS = {"PREFECT_SERVER_ANALYTICS_ENABLED": "false",
                    "PREFECT_LOGGING_EXTRA_LOGGERS": "cwsage",
                    "PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW": "ignore"}
STAGES = ("recover", "post", "plan", "extract", "validate", "transform", "load", "report")


def stage_times(flow_run_id, pipeline: str, expected: int, wait: float = 180.0) -> dict:
    """Seconds per stage, summed over the flow run's task runs (named ``{pipeline}-{stage}``).

    Task run states reach the API as events, which the server records a little later; wait
    until every expected task run has ended (or ``wait`` seconds pass)."""
    runs = _task_runs(flow_run_id)
    deadline = time.monotonic() + wait
    while (len(runs) < expected or any(r.end_time is None for r in runs)) \
            and time.monotonic() < deadline:
        time.sleep(1.0)
        runs = _task_runs(flow_run_id)
    calls, gaps = _durations(runs, pipeline)
    ordered = sorted(calls, key=lambda s: STAGES.index(s) if s in STAGES else len(STAGES))
    trends = {s: trend(calls[s]) for s in ordered if len(calls[s]) >= 10}
    if len(gaps) >= 10:
        trends["between_tasks"] = trend(gaps)
    return {"seconds": {s: round(sum(calls[s]), 3) for s in ordered},
            "task_runs": {s: len(calls[s]) for s in ordered}, "task_runs_seen": len(runs),
            "task_runs_expected": expected, "trends": trends}


def _durations(runs: list, pipeline: str) -> tuple[dict[str, list[float]], list[float]]:
    """Seconds of each task run per stage, in start order; and the gaps between task runs."""
    runs = sorted(runs, key=lambda r: (r.start_time is None, r.start_time))
    gaps = [(b.start_time - a.end_time).total_seconds() for a, b in zip(runs, runs[1:])
            if a.end_time and b.start_time]
    calls: dict[str, list[float]] = {}
    for run in runs:
        if run.start_time and run.end_time:
            took = (run.end_time - run.start_time).total_seconds()
        else:
            took = run.total_run_time.total_seconds()
        calls.setdefault(run.name.removeprefix(f"{pipeline}-"), []).append(took)
    return calls, gaps


def _task_runs(flow_run_id) -> list:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
    found, page = [], 200
    with get_client(sync_client=True) as client:
        while True:
            batch = client.read_task_runs(flow_run_filter=FlowRunFilter(
                id=FlowRunFilterId(any_=[flow_run_id])), limit=page, offset=len(found))
            found += batch
            if len(batch) < page:
                return found


def replica_counts(home: Path) -> dict:
    """Documents and items in the Sage 50 replica, and the journal's states."""
    counts: dict = {}
    with sqlite3.connect(home / "sage50.db") as db:
        counts["documents"] = db.execute("SELECT COUNT(*) FROM INVOICE").fetchone()[0]
        counts["lines"] = db.execute("SELECT COUNT(*) FROM INVOICE_ITEM").fetchone()[0]
    with sqlite3.connect(home / "journal.db") as db:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if "documents" in tables:
            counts["journal"] = dict(db.execute(
                "SELECT state, COUNT(*) FROM documents GROUP BY state").fetchall())
    return counts


def summarise(result: RunResult) -> dict:
    """The flow's return value, as plain JSON."""
    c = result.counts
    return {"unposted": c.unposted, "chunks": c.chunks, "loaded": c.loaded,
            "already_present": c.already_present, "rejected": c.rejected,
            "quarantined": c.quarantined, "batches": len(c.batches),
            "reconciliation_agrees": result.reconciliation.agrees}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.full")
    parser.add_argument("--spec", type=Path, required=True)
    parser.add_argument("--pipeline", default="invoices")
    parser.add_argument("--result", type=Path, required=True)
    parser.add_argument("--profile", type=Path)
    parser.add_argument("--tracemalloc", type=Path)
    args = parser.parse_args(argv)
    for name, value in PREFECT_DEFAULTS.items():
        os.environ.setdefault(name, value)
    sampler = RssSampler().start()
    from flows.pipeline import run_pipeline
    imported, after_import = time.perf_counter() - _STARTED, proc_status_mb("VmRSS")
    began = time.perf_counter()
    with profiled(args.profile), traced(args.tracemalloc):
        state = run_pipeline(args.pipeline, str(args.spec), return_state=True)
    run_s, ended_at, cpu_s = time.perf_counter() - began, time.time(), time.process_time()
    peak = proc_status_mb("VmHWM")
    outcome = summarise(state.result())
    home = Path(os.environ["CWSAGE_HOME"])
    stages = stage_times(state.state_details.flow_run_id, args.pipeline,
                         4 + 5 * (outcome["chunks"] or 0))
    write_result(args.result, {"part": "full", "import_s": round(imported, 3),
                               "run_s": round(run_s, 3), "ended_at": ended_at,
                               "cpu_s": round(cpu_s, 2), "flow": outcome,
                               "stages": stages, "counts": replica_counts(home),
                               "flow_run_id": str(state.state_details.flow_run_id),
                               **rss_fields(sampler, after_import, peak)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
