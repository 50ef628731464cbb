"""Report: what needs a person (held documents by cause), the run's counts and its
reconciliation, as one summary."""

from __future__ import annotations

import logging

from prefect import task
from prefect.cache_policies import NO_CACHE

from tasks.artifacts import artifact_key, publish_markdown, publish_table
from tasks.confirm import waiting_documents
from tasks.held import HeldGroup, documents_held, group_held, noun_for, numbers, plural
from tasks.inert import markdown as md
from tasks.inert import terminal
from tasks.reconcile import (Reconciler, Reconciliation, difference_rows, group_rows,
                             line_rows, reconciliation_markdown, verdict)
from tasks.run_result import PostedBatch, RunCounts, RunResult

log = logging.getLogger("cwsage.report")


def reconcile_run(ctx, run_only: bool = True) -> Reconciliation:
    waiting = waiting_documents(ctx.journal, ctx.pipeline, ctx.spec.sage.confirm_within)
    if not ctx.entity.has_money:           # list records (customers) carry no money
        return Reconciliation([], [], [], waiting=waiting)
    reconciler = Reconciler()
    for page in ctx.journal.pages(ctx.pipeline, states=["loaded", "unreconciled", "posted"],
                                  run_id=ctx.run_id if run_only else None):
        reconciler.add(page, ctx.writer.totals([doc.key for doc in page]))
    result = reconciler.result()
    result.unreconciled = ctx.journal.keys_in(ctx.pipeline, "unreconciled")
    result.unfinished = unfinished(ctx)
    result.waiting = waiting
    return result


def unfinished(ctx) -> dict[str, int]:
    """Documents a run leaves half-way: loading (the target's answer unknown), posting (the
    batch's outcome unknown) and, when the pipeline batches, loaded but not batched. A run that
    leaves any is not green: the next run settles them first."""
    counts = ctx.journal.counts(ctx.pipeline)
    batched = ctx.pipeline_spec.post.enabled and ctx.entity.post_back
    states = ["loading", "posting"] + (["loaded"] if batched else [])
    return {state: counts[state] for state in states if counts.get(state)}


STATS = (("unposted", "unposted in ConnectWise at the start"),
         ("confirmed", "confirmed by Sage since the last run (handed off earlier)"),
         ("import_failed", "refused by Sage's importer (quarantined until resent)"),
         ("strays", "named by the importer, never handed off by cwsage (ignored; in the log)"),
         ("loaded", "loaded into Sage"),
         ("handed_off", "handed off to the Sage-side importer (waiting for Sage)"),
         ("already_present", "already in Sage (not loaded again)"),
         ("rejected", "rejected by Sage"), ("quarantined", "quarantined (held back)"))
SHOWN = 10
CAUSES = 20                 # causes named in the summary; the rest are counted


def summary_markdown(pipeline: str, run_id: str, moved: RunCounts, counts: dict,
                     rec: Reconciliation | None, held: list[HeldGroup],
                     noun: str = "document") -> str:
    """The run's story: first what needs a person (the held documents grouped by cause, those
    waiting for Sage, those in Sage with other money), then what moved and whether it
    reconciles. ``rec`` is None for records that carry no money (customers)."""
    lines = [f"# {pipeline}: run {run_id}", ""]
    lines += [f"Reconciliation: **{verdict(rec)}**.", ""] if rec is not None else []
    lines += ["## Needs a person", "", *needs_markdown(held, rec, noun),
              "", "## This run", "", "| | documents |", "|---|--:|"]
    lines += [f"| {label} | {getattr(moved, key)} |" for key, label in STATS]
    lines.append(f"| posted in ConnectWise | {batches_markdown(moved.batches)} |")
    lines += ["", "## Journal (all runs)", "", "| " + " | ".join(counts) + " |",
              "|" + "--:|" * len(counts), "| " + " | ".join(map(str, counts.values())) + " |"]
    if rec is not None:
        lines += ["", "## Reconciliation (documents loaded in this run)", "",
                  reconciliation_markdown(rec)]
    waiting = rec.waiting if rec is not None else []
    if waiting:
        lines += ["", "## Waiting for Sage to confirm", "", *waiting_markdown(waiting, noun)]
    kinds = ARTIFACTS if rec is not None else [a for a in ARTIFACTS if a not in MONEY]
    lines += ["", "## Artifact keys", "",
              ", ".join(f"`{artifact_key(pipeline, what)}`" for what in kinds)]
    return "\n".join(lines)


def batches_markdown(batches: tuple[PostedBatch, ...]) -> str:
    """``40 in 1 batch (CWSAGE-INV-…)``; ``none``."""
    if not batches:
        return "none"
    documents = sum(b.documents for b in batches)
    return (f"{documents} in {plural(len(batches), 'batch')} "
            f"({', '.join(md(b.batch) for b in batches)})")


def needs_markdown(held: list[HeldGroup], rec: Reconciliation | None, noun: str) -> list[str]:
    """Held documents by cause, then the counts of those waiting for Sage and unreconciled."""
    waiting = rec.waiting if rec is not None else []
    unreconciled = rec.unreconciled if rec is not None else []
    parts = [held_markdown(held, noun)] if held else []
    if waiting:
        overdue = sum(1 for w in waiting if w.overdue)
        parts.append([f"**{plural(len(waiting), noun)}** handed off and waiting for Sage to "
                      "confirm" + (f", **{overdue} overdue**" if overdue else "")
                      + " (below); none is batched in ConnectWise until Sage confirms it."])
    if unreconciled:
        more = f" and {len(unreconciled) - SHOWN} more" if len(unreconciled) > SHOWN else ""
        parts.append([f"**{plural(len(unreconciled), noun)}** in Sage with other money than "
                      f"was priced ({', '.join(md(k) for k in unreconciled[:SHOWN])}{more}): "
                      "never batched until a person compares each in Sage with ConnectWise "
                      "and corrects Sage (`cwsage quarantine show KEY`)."])
    if not parts:
        return ["Nothing: no document is held back, waiting for Sage or unreconciled."]
    return [line for part in parts for line in ["", *part]][1:]


def held_markdown(held: list[HeldGroup], noun: str = "document") -> list[str]:
    """The held documents grouped by cause, largest first, each with its count and its fix;
    every value from the journal (ConnectWise's text) is escaped, so it reads as written and
    forms no Markdown."""
    if not held:
        return ["Nothing held back."]
    total = documents_held(held)
    lines = [f"**{plural(total, noun)}** held back, for {plural(len(held), 'cause')}; each "
             "flows on the next run once its cause is fixed:", ""]
    for n, group in enumerate(held[:CAUSES], 1):
        lines += [f"{n}. {md(group.cause)} — **{plural(group.count, noun)}**: "
                  f"{md(numbers(group))}", f"    - fix: {md(group.fix)}"]
    rest = held[CAUSES:]
    if rest:
        lines += ["", f"… and {plural(len(rest), 'more cause')} "
                  f"({plural(documents_held(rest), noun)})."]
    return lines + ["", "Inspect with `cwsage quarantine list` and `cwsage quarantine show KEY`."]


def waiting_markdown(waiting: list, noun: str = "document") -> list[str]:
    overdue = sum(1 for w in waiting if w.overdue)
    lines = [f"{plural(len(waiting), noun)} handed off and not yet confirmed"
             + (f", **{overdue} overdue**" if overdue else "") + "; none is batched in "
             "ConnectWise until Sage confirms it.", "", "| document | file | waiting | |",
             "|---|---|--:|---|"]
    lines += [f"| {md(w.number or w.key)} | {md(w.file)} | {w.age_text} | "
              f"{'OVERDUE' if w.overdue else ''} |" for w in waiting[:SHOWN * 5]]
    return lines


MONEY = ("reconciliation", "reconciliation-by-nominal", "rounding-differences")
ARTIFACTS = ("extraction", "validation", "quarantine", "load-receipt", *MONEY, "run-summary")


def publish_report(ctx, moved: RunCounts, counts: dict, rec: Reconciliation,
                   held: list[HeldGroup]) -> None:
    """The report's artifacts: the reconciliation three ways, and the run summary."""
    if ctx.entity.has_money:
        publish_table(ctx.pipeline, "reconciliation", group_rows(rec),
                      f"ConnectWise vs Sage per document type and currency, run "
                      f"{ctx.run_id}: {verdict(rec)}")
        publish_table(ctx.pipeline, "reconciliation-by-nominal", line_rows(rec),
                      f"What Sage holds per nominal and tax code, run {ctx.run_id}")
        publish_table(ctx.pipeline, "rounding-differences", difference_rows(rec) or [
            {"difference": "none: every document agrees to the penny"}],
            f"Differences and their explanation, run {ctx.run_id}")
    if rec.waiting:
        publish_table(ctx.pipeline, "waiting-for-sage", [
            {"document": w.number or w.key, "key": w.key, "file": w.file,
             "handed off": w.since.strftime("%Y-%m-%d %H:%M UTC"), "waiting": w.age_text,
             "overdue": "yes" if w.overdue else ""} for w in rec.waiting],
            f"Handed off, waiting for Sage to confirm (run {ctx.run_id})")
    publish_markdown(ctx.pipeline, "run-summary", summary_markdown(
        ctx.pipeline, ctx.run_id, moved, counts, rec if ctx.entity.has_money else None, held,
        noun_for(ctx.entity)), f"Run {ctx.run_id}")


def advance_cursor(ctx, seen: str | None) -> None:
    """Move an incremental cursor to ``seen`` (the highest value the run's chunks found) only
    now, when every chunk of the run has been loaded, and only forwards (re-checked
    quarantined records can be older than the cursor)."""
    previous = ctx.journal.cursor(ctx.pipeline)
    if ctx.pipeline_spec.extract.cursor and seen and (previous is None or seen > previous):
        ctx.journal.set_cursor(ctx.pipeline, seen, ctx.run_id)
        log.info("[%s] report: cursor %s moved to %s", ctx.pipeline,
                 ctx.pipeline_spec.extract.cursor, terminal(seen))


@task(name="report", task_run_name="{ctx.pipeline}-report", cache_policy=NO_CACHE)
def report_task(ctx, moved: RunCounts, cursor: str | None = None) -> RunResult:
    advance_cursor(ctx, cursor)
    rec = reconcile_run(ctx)
    counts = ctx.journal.counts(ctx.pipeline)
    held = group_held(ctx.journal.quarantined(ctx.pipeline))
    publish_report(ctx, moved, counts, rec, held)
    if not rec.agrees:
        log.error("[%s] report: reconciliation has unexplained differences", ctx.pipeline)
    return RunResult(ctx.pipeline, ctx.run_id, moved, counts, ctx.entity.has_money, rec,
                     tuple(held), noun_for(ctx.entity))
