"""What the CLI prints: run outcomes (``tasks.run_result``), status, the quarantine — the
terminal's renderer (its tables: ``flows.tables``).

Every value that came from ConnectWise or the journal (keys, numbers, reasons, fixes, errors
that quote them) is printed through ``terminal``, so no escape sequence or bidirectional
override reaches the terminal. A run's summary names held documents by cause (``tasks.held``);
``cwsage quarantine`` lists them one by one."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict

from flows.spec import load_spec
from flows.tables import (emit, print_waiting, quarantine_table, reconciliation_table,
                          status_table, when)
from tasks.confirm import waiting_documents
from tasks.context import cwsage_home
from tasks.entities import entity_for
from tasks.held import Holding, describe, group_held, noun_for, plural
from tasks.inert import terminal as t
from tasks.journal_records import HeldDocument, JournalDocument
from tasks.readiness import blocked_documents
from tasks.reconcile import Reconciliation
from tasks.run_result import DryRunResult, FailedRun, Outcome, RunResult
from tasks.sage50.money import money
from tasks.state import open_journal

EXIT_OK, EXIT_FAILED, EXIT_USER = 0, 1, 2
CAUSES = 10     # causes of held documents (and explained differences) a run's summary names


def run_command(spec_path: str, names: list[str], dry_run: bool) -> int:
    """``cwsage run``: the flow runs (with their progress on a terminal), then the summary."""
    from flows.progress import shown
    from flows.runner import run_in_turn
    with shown():
        results = run_in_turn(spec_path, names, dry_run=dry_run)
    print_run_results(results, sys.stdout,       # not the default: capsys replaces stdout
                      held=None if dry_run else held_documents(spec_path, results))
    return EXIT_OK if all(r.ok for r in results) else EXIT_FAILED


def held_documents(spec_path: str,
                   results: list[Outcome]) -> dict[str, tuple[str, list[JournalDocument]]]:
    """Per pipeline that ran: what one of its documents is called, and its documents held
    back now."""
    spec = load_spec(spec_path, need_connection=False, check_files=False)
    journal = open_journal(cwsage_home(), spec.shared_state())
    try:
        return {r.pipeline: (noun_for(entity_for(spec.pipeline(r.pipeline).extract)),
                             journal.quarantined(r.pipeline))
                for r in results if not isinstance(r, FailedRun)}
    finally:
        journal.close()


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
    if r.has_money:
        source = f"{c.unposted} unposted in ConnectWise"
        tail = (f"; {plural(len(c.batches), 'batch')} posted "
                f"({plural(c.posted, 'document')})")
        if c.priced:
            tail += (f"; money gate: {c.priced} priced by Sage's rules, "
                     f"{c.gate_held} held for money that differs from ConnectWise")
    else:
        source, tail = f"{plural(c.unposted, 'new or changed record')} in ConnectWise", ""
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


def status_command(spec_path: str, as_json: bool) -> int:
    rows = status_rows(spec_path)
    if as_json:
        print(json.dumps([dict(r, waiting=[asdict(w) for w in r["waiting"]]) for r in rows],
                         indent=2, default=str))
        return EXIT_OK
    emit(status_table(rows, sys.stdout), sys.stdout)
    for row in rows:
        print_waiting(row["pipeline"], row["waiting"], sys.stdout)
    return EXIT_OK


def status_rows(spec_path: str) -> list[dict]:
    """Per pipeline: its documents per state, its last run and those waiting for Sage
    (``tasks.confirm.Waiting``) — what ``cwsage status`` prints, as a table or JSON."""
    spec = load_spec(spec_path, need_connection=False, check_files=False)
    journal = open_journal(cwsage_home(), spec.shared_state())
    try:
        rows = []
        for name in spec.pipelines:
            counts = journal.counts(name)
            last = journal.last_run(name)
            rows.append({"pipeline": name, **counts,
                         "in_flight": counts["loading"] + counts["posting"],
                         "last_run": last.run_id if last else None,
                         "last_run_at": last.at if last else None,
                         "last_status": last.status if last else None,
                         "waiting": waiting_documents(journal, name,
                                                      spec.sage.confirm_within)})
        return rows
    finally:
        journal.close()


def quarantine_command(spec_path: str, action: str, key: str | None, as_json: bool) -> int:
    spec = load_spec(spec_path, need_connection=False, check_files=False)
    journal = open_journal(cwsage_home(), spec.shared_state())
    try:
        held = [(name, h) for name in spec.pipelines for h in journal.held(name)]
        if action == "show":
            return _show(journal, held, key, as_json)
        items = [{"pipeline": n, "key": h.document.key, "document": h.document.doc_number,
                  "state": h.document.state, "since": h.since,
                  "reasons": [r.as_dict() for r in h.document.reasons]} for n, h in held]
        if as_json:
            print(json.dumps(items, indent=2, default=str))
            return EXIT_OK
        if not items:
            print("no documents in quarantine")
        for n, name in enumerate(dict.fromkeys(i["pipeline"] for i in items)):
            mine, gap = [i for i in items if i["pipeline"] == name], "\n" if n else ""
            print(f"{gap}{name}: {plural(len(mine), 'document')} held back "
                  "(cwsage quarantine show KEY: every reason, the value, the history)")
            emit(quarantine_table(mine, sys.stdout), sys.stdout)
        return EXIT_OK
    finally:
        journal.close()


def _show(journal, held: list[tuple[str, HeldDocument]], key, as_json) -> int:
    """``key`` is a document key (CW-INV-5007) or ConnectWise's document number (10463)."""
    match = [(n, h) for n, h in held if h.document.key == key] or \
        [(n, h) for n, h in held if str(h.document.doc_number or "") == str(key)]
    if not match:
        print(f"cwsage: {t(key)!r} is not in quarantine (as a document key or a "
              f"ConnectWise document number) — `cwsage quarantine list` shows what is",
              file=sys.stderr)
        return EXIT_USER
    if len(match) > 1:
        keys = ", ".join(f"{t(h.document.key)} ({n})" for n, h in match)
        print(f"cwsage: document number {t(key)} is held in more than one pipeline: "
              f"{keys} — show one by its key", file=sys.stderr)
        return EXIT_USER
    name, (doc, since) = match[0][0], (match[0][1].document, match[0][1].since)
    if as_json:
        history = [e.as_dict() for e in journal.history(name, doc.key)]
        print(json.dumps({"pipeline": name, **doc.as_dict(), "since": since,
                          "history": history}, indent=2, default=str))
        return EXIT_OK
    print(f"{t(doc.key)} — {name} document {t(doc.doc_number or '-')} ({t(doc.doc_type)}, "
          f"{t(doc.currency)} {'-' if doc.gross is None else money(doc.gross)}), {doc.state} "
          f"since {when(since)} UTC")
    for r in doc.reasons:
        print(f"  [{t(r.stage)}] {t(r.reason)}")
        if r.value not in (None, ""):
            print(f"      value: {t(repr(r.value))}")
        print(f"      fix:   {t(r.fix)}")
    print("  It stays unposted in ConnectWise and is checked again on every run.")
    return EXIT_OK
