"""Report: the run's counts, its quarantine and its reconciliation, as one summary."""

from __future__ import annotations

import json
import logging

from prefect import task
from prefect.cache_policies import NO_CACHE

from tasks.artifacts import publish_markdown, publish_table
from tasks.reconcile import Reconciliation, reconcile

log = logging.getLogger("cwsage.report")


def reconcile_run(ctx, run_only: bool = True) -> Reconciliation:
    if not ctx.entity.postable:            # list records (customers) carry no money
        return Reconciliation([], [], [])
    rows = [r for r in ctx.journal.documents(ctx.pipeline, states=["loaded", "posted"])
            if not run_only or r["last_run"] == ctx.run_id]
    totals = ctx.writer.totals([r["key"] for r in rows]) if rows else {}
    return reconcile(rows, totals)


def quarantine_rows(journal, pipeline: str) -> list[dict]:
    rows = []
    for doc in journal.documents(pipeline, states=["quarantined"]):
        for reason in json.loads(doc["reasons"] or "[]"):
            rows.append({"document": doc["key"], "number": doc["doc_number"],
                         "stage": reason.get("stage"), "reason": reason.get("reason"),
                         "value": reason.get("value"), "fix": reason.get("fix")})
    return rows


def summary_markdown(pipeline: str, counts: dict, rec: Reconciliation) -> str:
    lines = [f"# {pipeline}: run summary", "", "| state | documents |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in counts.items()]
    lines += ["", "## Reconciliation (documents loaded in this run)", "",
              "| type | currency | docs | CW net | Sage net | CW VAT | Sage VAT | CW gross | "
              "Sage gross |", "|---|---|---|---|---|---|---|---|---|"]
    lines += [f"| {g['doc_type']} | {g['currency']} | {g['documents']} | {g['cw_net']} | "
              f"{g['sage_net']} | {g['cw_tax']} | {g['sage_tax']} | {g['cw_gross']} | "
              f"{g['sage_gross']} |" for g in rec.groups]
    verdict = "agrees to the penny" if not rec.differences else (
        "differences all explained" if rec.agrees else "UNEXPLAINED differences")
    lines += ["", f"**{verdict}**"]
    lines += [f"- {d.document or d.key} {d.what}: CW {d.connectwise} vs Sage {d.sage} — "
              f"{d.explanation}" for d in rec.differences]
    return "\n".join(lines)


def advance_cursor(ctx) -> None:
    """Move an incremental cursor only now: every chunk of the run has been loaded."""
    if ctx.pipeline_spec.extract.cursor and ctx.seen_cursor:
        ctx.journal.set_cursor(ctx.pipeline, ctx.seen_cursor, ctx.run_id)
        log.info("[%s] report: cursor %s moved to %s", ctx.pipeline,
                 ctx.pipeline_spec.extract.cursor, ctx.seen_cursor)


@task(name="report", task_run_name="{ctx.pipeline}-report", cache_policy=NO_CACHE)
def report_task(ctx, stats: dict) -> dict:
    advance_cursor(ctx)
    rec = reconcile_run(ctx)
    counts = ctx.journal.counts(ctx.pipeline)
    publish_table(ctx.pipeline, "reconciliation", [
        {k: str(v) for k, v in g.items()} for g in rec.groups],
        f"ConnectWise vs Sage totals for run {ctx.run_id}")
    publish_markdown(ctx.pipeline, "run-summary", summary_markdown(ctx.pipeline, counts, rec),
                     f"Run {ctx.run_id}")
    if not rec.agrees:
        log.error("[%s] report: reconciliation has unexplained differences", ctx.pipeline)
    return {"pipeline": ctx.pipeline, "run_id": ctx.run_id, **stats, "states": counts,
            "postable": ctx.entity.postable, "reconciliation": rec}
