"""Report: the run's reconciliation, its cursor moved, and its artifacts — the reconciliation
three ways (tables) and the run summary (``tasks.run_markdown``)."""

from __future__ import annotations

import logging

from prefect import task
from prefect.cache_policies import NO_CACHE

from tasks.artifacts import publish_markdown, publish_table
from tasks.confirm import waiting_documents
from tasks.held import HeldGroup, group_held, noun_for
from tasks.inert import terminal
from tasks.reconcile import (Reconciler, Reconciliation, difference_rows, group_rows,
                             line_rows, verdict)
from tasks.run_markdown import summary_markdown
from tasks.run_result import RunCounts, RunResult

log = logging.getLogger("cwsage.report")


def reconcile_run(run, journal, writer, run_only: bool = True) -> Reconciliation:
    waiting = waiting_documents(journal, run.pipeline, run.spec.sage.confirm_within)
    if not run.entity.has_money:           # list records (customers) carry no money
        return Reconciliation([], [], [], waiting=waiting)
    reconciler = Reconciler()
    for page in journal.pages(run.pipeline, states=["loaded", "unreconciled", "posted"],
                                  run_id=run.run_id if run_only else None):
        reconciler.add(page, writer.totals([doc.key for doc in page]))
    result = reconciler.result()
    result.unreconciled = journal.keys_in(run.pipeline, "unreconciled")
    result.unfinished = unfinished(run, journal)
    result.waiting = waiting
    return result


def unfinished(run, journal) -> dict[str, int]:
    """Documents a run leaves half-way: loading (the target's answer unknown), posting (the
    batch's outcome unknown) and, when the pipeline batches, loaded but not batched. A run that
    leaves any is not green: the next run settles them first."""
    counts = journal.counts(run.pipeline)
    batched = run.pipeline_spec.post.enabled and run.entity.post_back
    states = ["loading", "posting"] + (["loaded"] if batched else [])
    return {state: counts[state] for state in states if counts.get(state)}


def publish_report(run, moved: RunCounts, counts: dict, rec: Reconciliation,
                   held: list[HeldGroup]) -> None:
    """The report's artifacts: the reconciliation three ways, and the run summary."""
    if run.entity.has_money:
        publish_table(run.pipeline, "reconciliation", group_rows(rec),
                      f"ConnectWise vs Sage per document type and currency, run "
                      f"{run.run_id}: {verdict(rec)}")
        publish_table(run.pipeline, "reconciliation-by-nominal", line_rows(rec),
                      f"What Sage holds per nominal and tax code, run {run.run_id}")
        publish_table(run.pipeline, "rounding-differences", difference_rows(rec) or [
            {"difference": "none: every document agrees to the penny"}],
            f"Differences and their explanation, run {run.run_id}")
    if rec.waiting:
        publish_table(run.pipeline, "waiting-for-sage", [
            {"document": w.number or w.key, "key": w.key, "file": w.file,
             "handed off": w.since.strftime("%Y-%m-%d %H:%M UTC"), "waiting": w.age_text,
             "overdue": "yes" if w.overdue else ""} for w in rec.waiting],
            f"Handed off, waiting for Sage to confirm (run {run.run_id})")
    publish_markdown(run.pipeline, "run-summary", summary_markdown(
        run.pipeline, run.run_id, moved, counts, rec if run.entity.has_money else None, held,
        noun_for(run.entity)), f"Run {run.run_id}")


def advance_cursor(run, journal, seen: str | None) -> None:
    """Move an incremental cursor to ``seen`` (the highest value the run's chunks found) only
    now, when every chunk of the run has been loaded, and only forwards (re-checked
    quarantined records can be older than the cursor)."""
    previous = journal.cursor(run.pipeline)
    if run.pipeline_spec.extract.cursor and seen and (previous is None or seen > previous):
        journal.set_cursor(run.pipeline, seen, run.run_id)
        log.info("[%s] report: cursor %s moved to %s", run.pipeline,
                 run.pipeline_spec.extract.cursor, terminal(seen))


@task(name="report", task_run_name="{run.pipeline}-report", cache_policy=NO_CACHE)
def report_task(run, journal, writer, moved: RunCounts, cursor: str | None = None) -> RunResult:
    """The cursor moved, the run reconciled, its artifacts published; its result."""
    advance_cursor(run, journal, cursor)
    rec = reconcile_run(run, journal, writer)
    counts = journal.counts(run.pipeline)
    held = group_held(journal.quarantined(run.pipeline))
    publish_report(run, moved, counts, rec, held)
    if not rec.agrees:
        log.error("[%s] report: reconciliation has unexplained differences", run.pipeline)
    return RunResult(run.pipeline, run.run_id, moved, counts, run.entity.has_money, rec,
                     tuple(held), noun_for(run.entity), run.entity.post_back)
