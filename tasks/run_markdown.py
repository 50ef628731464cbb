"""The run summary in Markdown, as Prefect's UI shows it: what needs a person first (the held
documents grouped by cause, those waiting for Sage, those in Sage with other money), then what
moved, the journal's states and the reconciliation. Every value that came from ConnectWise is
made inert here (``tasks.inert.markdown``), as it is written into the text."""

from __future__ import annotations

from decimal import Decimal

from tasks.artifacts import artifact_key
from tasks.held import HeldGroup, documents_held, numbers, plural
from tasks.inert import markdown as md
from tasks.reconcile import Reconciliation, group_status, plain, verdict
from tasks.run_result import PostedBatch, RunCounts


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


def reconciliation_markdown(rec: Reconciliation) -> str:
    """The reconciliation section of the run summary."""
    out = [f"**{verdict(rec)}**"]
    if rec.groups:
        out += ["", "| type | currency | docs | CW net | Sage net | CW VAT | Sage VAT | status |",
                "|---|---|--:|--:|--:|--:|--:|---|"]
        out += [f"| {md(g['doc_type'])} | {md(g['currency'])} | {g['documents']} | "
                f"{_m(g['cw_net'])} | {_m(g['sage_net'])} | {_m(g['cw_tax'])} | "
                f"{_m(g['sage_tax'])} | {group_status(rec, g['doc_type'], g['currency'])} |"
                for g in rec.groups]
    if rec.lines:
        out += ["", "By nominal and tax code (what Sage holds):", "",
                "| type | currency | nominal | tax code | lines | net | VAT |",
                "|---|---|---|---|--:|--:|--:|"]
        out += [f"| {md(l['doc_type'])} | {md(l['currency'])} | {md(l['nominal_code'])} | "
                f"T{md(l['tax_code'])} ({plain(l['rate'])}%) | {l['lines']} | {_m(l['net'])} | "
                f"{_m(l['tax'])} |" for l in rec.lines]
    if rec.differences or rec.missing:
        out += ["", "Differences:", ""]
    for d in rec.differences:
        flag = "explained" if d.explained else "**UNEXPLAINED**"
        out.append(f"- {md(d.document or d.key)} {md(d.what)}: ConnectWise "
                   f"{_m(d.connectwise)}, Sage {_m(d.sage)} ({flag}) — {md(d.explanation)}")
        out += [f"  - {md(line)}" for line in d.lines]
    out += [f"- {md(key)}: **missing** from Sage's totals" for key in rec.missing]
    return "\n".join(out)


def _m(value: Decimal) -> str:
    return f"{value:,.2f}"
