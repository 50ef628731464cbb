"""Every outcome as a person reads it in a terminal: a run's result (``tasks.run_result``),
the reconciliation, a dry run's readiness, held documents grouped by cause, the documents
waiting for Sage, a preview. The one terminal renderer; its tables are drawn with
``flows.tables``.

Every value that came from ConnectWise or the journal (keys, numbers, reasons, fixes, errors
that quote them) is printed through ``terminal``, so no escape sequence or bidirectional
override reaches the terminal. A run's summary names held documents by cause (``tasks.held``);
``cwsage quarantine`` lists them one by one."""

from __future__ import annotations

import sys

from flows import tables
from flows.tables import cell, emit, reconciliation_table, table
from tasks.confirm import Waiting, age_text
from tasks.held import Holding, describe, group_held, plural
from tasks.inert import terminal
from tasks.inert import terminal as t
from tasks.readiness import blocked_documents
from tasks.reconcile import Reconciliation
from tasks.run_result import DryRunResult, FailedRun, Outcome, RunResult

CAUSES = 10     # causes of held documents (and explained differences) a run's summary names


def print_run_results(results: list[Outcome], out=sys.stdout, reconciliation: bool = True,
                      held: dict[str, tuple[str, list]] | None = None) -> None:
    """Each pipeline's run in one line, then what needs a person: what ``held`` holds of it
    (``held_documents``), grouped by cause, and the reconciliation."""
    for r in results:
        if isinstance(r, FailedRun):
            print(f"{r.pipeline}: FAILED — {t(r.error)}", file=out)
        elif isinstance(r, DryRunResult):
            print_readiness(r, out)
        else:
            print_run(r, out, held.get(r.pipeline) if held else None, reconciliation)


def print_run(r: RunResult, out, held: tuple[str, list] | None, reconciliation: bool) -> None:
    """A completed run: its line, what the Sage side said, what is held, the reconciliation."""
    c = r.counts
    print(run_line(r), file=out)
    if c.confirmed or c.import_failed:
        print(f"  confirmed by Sage since the last run: {c.confirmed}; refused by Sage's "
              f"importer: {c.import_failed} (cwsage quarantine list)", file=out)
    for what in c.unreadable:
        print(f"  could not read from the Sage side yet: {t(what)} — read again on the next "
              "run", file=out)
    if c.strays:
        print(f"  the importer's files name {plural(c.strays, 'record')} cwsage never handed "
              "off: ignored (the run's log lists them)", file=out)
    if held and held[1]:
        print_quarantine(held[1], held[0], out, indent="  ")
    if reconciliation:
        print_reconciliation(r.reconciliation, out, shown=CAUSES)


def run_line(r: RunResult) -> str:
    """``invoices: 120 unposted in ConnectWise → 99 loaded, …; 1 batch posted (99 …)``"""
    c = r.counts
    if not r.has_money:
        source, tail = f"{plural(c.unposted, 'new or changed record')} in ConnectWise", ""
    elif r.post_back:
        source = f"{c.unposted} unposted in ConnectWise"
        tail = (f"; {plural(len(c.batches), 'batch')} posted "
                f"({plural(c.posted, 'document')})")
    else:                               # a kind never batched back: ConnectWise only lists them
        source = f"{plural(c.unposted, r.noun)} listed by ConnectWise"
        tail = "; never batched back in ConnectWise (post_back: false)"
    if r.has_money and c.priced:
        tail += (f"; money gate: {c.priced} priced by Sage's rules, "
                 f"{c.gate_held} held for money that differs from ConnectWise")
    handed = (f"{c.handed_off} handed off to the Sage-side importer, "
              if c.handed_off else "")
    return (f"{r.pipeline}: {source} → {c.loaded} loaded, {handed}"
            f"{c.already_present} already in Sage, {c.quarantined} quarantined, "
            f"{c.rejected} rejected by Sage{tail}")


def print_reconciliation(rec: Reconciliation, out=sys.stdout, title: str = "",
                         shown: int | None = None) -> None:
    """The totals by type and currency, then each difference; ``shown`` caps how many
    explained differences are printed (unexplained ones are always all printed)."""
    if not rec.groups and not rec.missing:
        print(f"  reconciliation{title}: nothing loaded", file=out)
        return
    print(f"  reconciliation{title} (ConnectWise vs Sage):", file=out)
    if rec.groups:
        emit(reconciliation_table(rec.groups, out), out, indent=4)
    for key in rec.missing:
        print(f"    MISSING in Sage: {t(key)}", file=out)
    explained = [d for d in rec.differences if d.explained]
    hidden = explained[shown:] if shown is not None else []
    for d in [d for d in rec.differences if d not in hidden]:
        flag = "explained" if d.explained else "UNEXPLAINED"
        print(f"    {t(d.document or d.key)} {t(d.what)}: CW {d.connectwise} vs Sage {d.sage} "
              f"({flag}) — {t(d.explanation)}", file=out)
        for line in d.lines:
            print(f"        {t(line)}", file=out)
    if hidden:
        print(f"    … and {plural(len(hidden), 'more explained rounding difference')} of a "
              "penny", file=out)
    for key in rec.unreconciled:
        print(f"    {t(key)}: in Sage with other money than was priced — held, never batched "
              f"(cwsage quarantine show {t(key)})", file=out)
    if rec.waiting:
        print_waiting("  ", rec.waiting, out)
    if rec.unfinished:
        left = ", ".join(f"{n} {state}" for state, n in rec.unfinished.items())
        print(f"    not finished: {left} — the next run settles them first "
              f"(cwsage status)", file=out)
    clean = not rec.differences and not rec.missing and not rec.unreconciled \
        and not rec.unfinished and not rec.overdue
    verdict = ("agrees to the penny" if clean else
               "every difference explained" if rec.agrees else "DOES NOT AGREE")
    print(f"    → {verdict}", file=out)


def print_readiness(r: DryRunResult, out=sys.stdout) -> None:
    """A dry run: what would be posted, what is blocked and why, and where the report is."""
    print(f"{r.pipeline} (dry run): {r.counts.unposted} unposted in ConnectWise → {r.ready} "
          f"ready, {r.warnings} with warnings, {r.blocked} blocked; nothing was written "
          "to Sage and no batch was created", file=out)
    docs = blocked_documents(r.rows)
    print_quarantine(docs, "document", out, "  ", f"{len(docs)} blocked (the report lists "
                     "each with its postings)")
    print(f"  report: {r.report_html}\n          {r.report_csv}", file=out)


def print_quarantine(docs: list[Holding], noun: str, out=sys.stdout, indent: str = "",
                     heading: str | None = None) -> None:
    """Documents held back, grouped by cause: each cause once, with how
    many documents it holds, their numbers and the fix; the largest ``CAUSES`` causes."""
    if not docs:
        return
    groups = group_held(docs)
    heading = heading or f"{len(docs)} held back (cwsage quarantine list)"
    print(f"{indent}{heading}:", file=out)
    for group in groups[:CAUSES]:
        print(f"{indent}  {t(describe(group, noun))}\n{indent}    fix: {t(group.fix)}", file=out)
    if len(groups) > CAUSES:
        print(f"{indent}  and {plural(len(groups) - CAUSES, 'more cause')}", file=out)


def print_waiting(label: str, waiting: list[Waiting], out) -> None:
    """Documents handed off and not yet confirmed by Sage: per file, how many, for how long,
    the first few; then how they get confirmed."""
    if not waiting:
        return
    files: dict[str, list[Waiting]] = {}
    for w in waiting:
        files.setdefault(w.file or "(file unknown)", []).append(w)
    overdue = sum(1 for w in waiting if w.overdue)
    print(f"{terminal(label)}: {plural(len(waiting), 'document')} waiting for Sage to confirm "
          f"{'it' if len(waiting) == 1 else 'them'}"
          + (f" — {overdue} OVERDUE" if overdue else ""), file=out)
    grid = table(out, tables.key("file", list(files), 56), tables.number("documents"),
                 tables.number("waiting"), tables.prose("first documents"),
                 ("", {"no_wrap": True}))
    for file, docs in files.items():
        more = f" and {len(docs) - 5} more" if len(docs) > 5 else ""
        grid.add_row(cell(file), cell(len(docs)), cell(age_text(max(d.age for d in docs))),
                     cell(", ".join(terminal(d.number or d.key) for d in docs[:5]) + more),
                     cell("OVERDUE" if any(d.overdue for d in docs) else " "))
    emit(grid, out, indent=4)
    print("    the importer's success file, or Sage read through ODBC, confirms them on the "
          "next run; if you imported a file yourself: cwsage confirm "
          f"{terminal(_file_name(next(iter(files))))}", file=out)


def _file_name(file: str) -> str:
    """What ``cwsage confirm`` takes for a waiting document's file (its ``sage_ref``)."""
    return file.split(" ")[-1] if file and " " in file else file or "FILE"


def preview_text(report: dict) -> str:
    """``cwsage preview``: blocked documents first, grouped by cause with their fixes, then one
    line per document with ConnectWise's and Sage's totals."""
    docs = report["documents"]
    blocked = [d for d in docs if d["status"] == "blocked"]
    out = [f"{terminal(report['pipeline'])}: {len(docs)} documents — "
           f"{len(docs) - len(blocked)} ready, {len(blocked)} blocked", ""]
    if blocked:
        out.append("Blocked (nothing of these reaches Sage):")
        for doc in blocked:
            out.append(f"  {terminal(doc['key'])} ({terminal(doc['number'])})")
            for reason in doc["reasons"]:
                out.append(f"    - {terminal(reason['reason'])}")
                out.append(f"      fix: {terminal(reason['fix'])}")
        out.append("")
    out.append(f"  {'document':<22} {'status':<8} {'ConnectWise net/VAT/gross':>30}   "
               f"{'Sage net/VAT/gross':>30}")
    for doc in docs:
        cw, sage = doc.get("connectwise") or {}, doc.get("sage") or {}
        out.append(f"  {terminal(doc['key']):<22} {doc['status']:<8} {_three(cw):>30}   "
                   f"{_three(sage):>30}")
        for split in sage.get("splits") or []:
            out.append(f"      {terminal(split['nominal']):<8} {terminal(split['tax_code']):<4} "
                       f"net {split['net']:>10} VAT {split['tax']:>9}  "
                       f"{terminal(split['details'])[:40]}")
    return "\n".join(out) + "\n"


def _three(money: dict) -> str:
    if not money:
        return "—"
    return f"{money.get('net')} / {money.get('tax')} / {money.get('gross')}"
