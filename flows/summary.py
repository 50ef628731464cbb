"""What the CLI prints: run results, status, the quarantine (tables: ``flows.tables``).

Every value that came from ConnectWise or the journal (keys, numbers, reasons, fixes, errors
that quote them) is printed through ``terminal``, so no escape sequence or bidirectional
override reaches the terminal. A run's summary names held documents by cause (``tasks.held``);
``cwsage quarantine`` lists them one by one."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict

from tasks.inert import terminal as t
from flows.spec import load_spec
from flows.tables import (emit, print_waiting, quarantine_table, reconciliation_table,
                          status_table, when)
from tasks.confirm import waiting_documents
from tasks.context import cwsage_home
from tasks.entities import entity_for
from tasks.held import describe, group_held, noun_for, plural
from tasks.state import open_journal
from tasks.reconcile import Reconciliation

EXIT_OK, EXIT_FAILED, EXIT_USER = 0, 1, 2
CAUSES = 10     # causes of held documents (and explained differences) a run's summary names


def check_command(spec_path: str, connect: bool = False) -> int:
    """``cwsage check``: each pipeline's source, stylesheet, suite and mappings, then OK; with
    ``connect``, then one try of ConnectWise, every Sage target and the Prefect API."""
    spec = load_spec(spec_path)
    for name, p in spec.pipelines.items():
        print(f"{name}: {p.extract.entity or p.extract.endpoint}, stylesheet "
              f"{p.stylesheet_path.name}, suite {p.suite_path.name}, "
              f"{plural(len(p.mappings.tax_codes), 'tax mapping')}, "
              f"{plural(len(p.mappings.nominal_codes), 'nominal mapping')}")
    print(f"{spec.path.name}: OK")
    if not connect:
        return EXIT_OK
    from flows.check_connect import check_connect, print_checks
    return print_checks(check_connect(spec), sys.stdout)


def run_command(spec_path: str, names: list[str], dry_run: bool) -> int:
    """``cwsage run``: the flow runs (with their progress on a terminal), then the summary."""
    from flows.progress import shown
    from flows.runner import run_pipelines
    with shown():
        results = run_pipelines(spec_path, names, dry_run=dry_run)
    print_run_results(results, sys.stdout,       # not the default: capsys replaces stdout
                      held=None if dry_run else held_documents(spec_path, results))
    return EXIT_OK if all(r.get("ok") for r in results) else EXIT_FAILED


def held_documents(spec_path: str, results: list[dict]) -> dict[str, tuple[str, list]]:
    """Per pipeline that ran: what one of its documents is called, and the journal's rows of
    its documents held back now."""
    spec = load_spec(spec_path, need_connection=False, check_files=False)
    journal = open_journal(cwsage_home(), spec.shared_state())
    try:
        return {r["pipeline"]: (noun_for(entity_for(spec.pipeline(r["pipeline"]).extract)),
                                journal.documents(r["pipeline"], states=["quarantined"]))
                for r in results if "error" not in r}
    finally:
        journal.close()


def print_run_results(results: list[dict], out=sys.stdout, reconciliation: bool = True,
                      held: dict[str, tuple[str, list]] | None = None) -> None:
    """Each pipeline's run in one line, then what needs a person: what ``held`` holds of it
    (``held_documents``), grouped by cause, and the reconciliation."""
    for r in results:
        if not r.get("ok") and "error" in r:
            print(f"{r['pipeline']}: FAILED — {t(r['error'])}", file=out)
        elif r.get("dry_run"):
            print_readiness(r, out)
        else:
            print(run_line(r), file=out)
            if r.get("confirmed") or r.get("import_failed"):
                print(f"  confirmed by Sage since the last run: {r.get('confirmed', 0)}; "
                      f"refused by Sage's importer: {r.get('import_failed', 0)} "
                      "(cwsage quarantine list)", file=out)
            for what in r.get("unreadable") or ():
                print(f"  could not read from the Sage side yet: {t(what)} — read again on "
                      "the next run", file=out)
            if r.get("strays"):
                print(f"  the importer's files name {plural(r['strays'], 'record')} cwsage "
                      "never handed off: ignored (the run's log lists them)", file=out)
            if held and held.get(r["pipeline"]):
                noun, docs = held[r["pipeline"]]
                print_quarantine(docs, noun, out, indent="  ")
            if reconciliation:
                print_reconciliation(r["reconciliation"], out, shown=CAUSES)


def run_line(r: dict) -> str:
    """``invoices: 120 unposted in ConnectWise → 99 loaded, …; 1 batch posted (99 …)``"""
    batches = r.get("batches") or []
    if r.get("postable", True):
        source = f"{r['unposted']} unposted in ConnectWise"
        tail = (f"; {plural(len(batches), 'batch')} posted "
                f"({plural(sum(b['documents'] for b in batches), 'document')})")
        if r.get("priced"):
            tail += (f"; money gate: {r['priced']} priced by Sage's rules, "
                     f"{r.get('gate_held', 0)} held for money that differs from ConnectWise")
    else:
        source, tail = f"{plural(r['unposted'], 'new or changed record')} in ConnectWise", ""
    handed = (f"{r['handed_off']} handed off to the Sage-side importer, "
              if r.get("handed_off") else "")
    return (f"{r['pipeline']}: {source} → {r['loaded']} loaded, {handed}"
            f"{r['already_present']} already in Sage, {r['quarantined']} quarantined, "
            f"{r['rejected']} rejected by Sage{tail}")


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
        print_waiting("  ", [asdict(w) for w in rec.waiting], out)
    if rec.unfinished:
        left = ", ".join(f"{n} {state}" for state, n in rec.unfinished.items())
        print(f"    not finished: {left} — the next run settles them first "
              f"(cwsage status)", file=out)
    clean = not rec.differences and not rec.missing and not rec.unreconciled \
        and not rec.unfinished and not rec.overdue
    verdict = ("agrees to the penny" if clean else
               "every difference explained" if rec.agrees else "DOES NOT AGREE")
    print(f"    → {verdict}", file=out)


def print_readiness(r: dict, out=sys.stdout) -> None:
    """A dry run: what would be posted, what is blocked and why, and where the report is."""
    print(f"{r['pipeline']} (dry run): {r['unposted']} unposted in ConnectWise → {r['ready']} "
          f"ready, {r['warnings']} with warnings, {r['blocked']} blocked; nothing was written "
          "to Sage and no batch was created", file=out)
    blocked: dict[str, dict] = {}
    for row in r["rows"]:
        if row["status"] == "blocked":
            doc = blocked.setdefault(row["document"], {"key": row["document"], "reasons": [],
                                                       "doc_number": row["number"]})
            doc["reasons"].append({"reason": row["reason"], "fix": row["fix"]})
    docs = [dict(d, reasons=json.dumps(d["reasons"])) for d in blocked.values()]
    print_quarantine(docs, "document", out, "  ", f"{len(docs)} blocked (the report lists "
                     "each with its postings)")
    print(f"  report: {r['report_html']}\n          {r['report_csv']}", file=out)


def print_quarantine(docs: list, noun: str, out=sys.stdout, indent: str = "",
                     heading: str | None = None) -> None:
    """Documents held back (the journal's rows), grouped by cause: each cause once, with how
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


# Held documents: before Sage (quarantined), or in Sage with other money than was priced
# (unreconciled: never batched back until a person settles it).
HELD_STATES = ["quarantined", "unreconciled"]


def status_command(spec_path: str, as_json: bool) -> int:
    rows = status_rows(spec_path)
    if as_json:
        print(json.dumps(rows, indent=2, default=str))
        return EXIT_OK
    emit(status_table(rows, sys.stdout), sys.stdout)
    for row in rows:
        print_waiting(row["pipeline"], row["waiting"], sys.stdout)
    return EXIT_OK


def status_rows(spec_path: str) -> list[dict]:
    spec = load_spec(spec_path, need_connection=False, check_files=False)
    journal = open_journal(cwsage_home(), spec.shared_state())
    try:
        rows = []
        for name in spec.pipelines:
            counts = journal.counts(name)
            last = journal.last_run(name)
            rows.append({"pipeline": name, **counts,
                         "in_flight": counts["loading"] + counts["posting"],
                         "last_run": last["run_id"] if last else None,
                         "last_run_at": (last["finished_at"] or last["started_at"])
                         if last else None,
                         "last_status": last["status"] if last else None,
                         "waiting": [asdict(w) for w in waiting_documents(
                             journal, name, spec.sage.confirm_within)]})
        return rows
    finally:
        journal.close()


def quarantine_command(spec_path: str, action: str, key: str | None, as_json: bool) -> int:
    spec = load_spec(spec_path, need_connection=False, check_files=False)
    journal = open_journal(cwsage_home(), spec.shared_state())
    try:
        docs = [(name, d) for name in spec.pipelines
                for d in journal.documents(name, states=HELD_STATES)]
        if action == "show":
            return _show(journal, docs, key, as_json)
        since = {n: journal.held_since(n, [d for m, d in docs if m == n])
                 for n in spec.pipelines}
        items = [{"pipeline": n, "key": d["key"], "document": d["doc_number"],
                  "state": d["state"], "since": since[n].get(d["key"], d["updated_at"]),
                  "reasons": json.loads(d["reasons"] or "[]")} for n, d in docs]
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


def _show(journal, docs, key, as_json) -> int:
    """``key`` is a document key (CW-INV-5007) or ConnectWise's document number (10463)."""
    match = [(n, d) for n, d in docs if d["key"] == key] or \
        [(n, d) for n, d in docs if str(d["doc_number"] or "") == str(key)]
    if not match:
        print(f"cwsage: {t(key)!r} is not in quarantine (as a document key or a "
              f"ConnectWise document number) — `cwsage quarantine list` shows what is",
              file=sys.stderr)
        return EXIT_USER
    if len(match) > 1:
        keys = ", ".join(f"{t(d['key'])} ({n})" for n, d in match)
        print(f"cwsage: document number {t(key)} is held in more than one pipeline: "
              f"{keys} — show one by its key", file=sys.stderr)
        return EXIT_USER
    name, doc = match[0]
    reasons = json.loads(doc["reasons"] or "[]")
    since = journal.held_since(name, [doc]).get(doc["key"], doc["updated_at"])
    if as_json:
        history = [dict(h) for h in journal.history(name, doc["key"])]
        print(json.dumps({"pipeline": name, **dict(doc), "reasons": reasons, "since": since,
                          "history": history}, indent=2, default=str))
        return EXIT_OK
    print(f"{t(doc['key'])} — {name} document {t(doc['doc_number'] or '-')} ({t(doc['doc_type'])}"
          f", {t(doc['currency'])} {t(doc['gross'])}), {doc['state']} since {when(since)} UTC")
    for r in reasons:
        print(f"  [{t(r.get('stage'))}] {t(r.get('reason'))}")
        if r.get("value") not in (None, ""):
            print(f"      value: {t(repr(r.get('value')))}")
        print(f"      fix:   {t(r.get('fix'))}")
    print("  It stays unposted in ConnectWise and is checked again on every run.")
    return EXIT_OK
