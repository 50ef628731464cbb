"""What the CLI prints: run results, status, the quarantine.

Every value that came from ConnectWise or the journal (keys, numbers, reasons, fixes, errors
that quote them) is printed through ``terminal``, so no escape sequence or bidirectional
override reaches the terminal."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict

from flows.inert import terminal as t
from flows.spec import load_spec
from tasks.confirm import age_text, waiting_documents
from tasks.context import cwsage_home
from tasks.journal import Journal
from tasks.reconcile import Reconciliation

EXIT_OK, EXIT_USER = 0, 2


def print_run_results(results: list[dict], out=sys.stdout, reconciliation: bool = True) -> None:
    for r in results:
        if not r.get("ok") and "error" in r:
            print(f"{r['pipeline']}: FAILED — {t(r['error'])}", file=out)
            continue
        if r.get("dry_run"):
            print_readiness(r, out)
            continue
        batches = r.get("batches") or []
        if r.get("postable", True):
            source = f"{r['unposted']} unposted in ConnectWise"
            tail = (f"; {len(batches)} batch(es) posted "
                    f"({sum(b['documents'] for b in batches)} documents)")
            if r.get("priced"):
                tail += (f"; money gate: {r['priced']} priced by Sage's rules, "
                         f"{r.get('gate_held', 0)} held for money that differs from ConnectWise")
        else:
            source, tail = f"{r['unposted']} new or changed records in ConnectWise", ""
        handed = (f"{r['handed_off']} handed off to the Sage-side importer, "
                  if r.get("handed_off") else "")
        print(f"{r['pipeline']}: {source} → {r['loaded']} loaded, {handed}"
              f"{r['already_present']} already in Sage, {r['quarantined']} quarantined, "
              f"{r['rejected']} rejected by Sage{tail}", file=out)
        if r.get("confirmed") or r.get("import_failed"):
            print(f"  confirmed by Sage since the last run: {r.get('confirmed', 0)}; refused "
                  f"by Sage's importer: {r.get('import_failed', 0)} (cwsage quarantine)",
                  file=out)
        if r.get("strays"):
            print(f"  the importer's files name {r['strays']} records cwsage never handed off: "
                  "ignored (the run's log lists them)", file=out)
        if reconciliation:
            print_reconciliation(r["reconciliation"], out)


def print_reconciliation(rec: Reconciliation, out=sys.stdout, title: str = "",
                         shown: int | None = None) -> None:
    """The totals by type and currency, then each difference; ``shown`` caps how many
    explained differences are printed (unexplained ones are always all printed)."""
    if not rec.groups and not rec.missing:
        print(f"  reconciliation{title}: nothing loaded", file=out)
        return
    print(f"  reconciliation{title} (ConnectWise vs Sage):", file=out)
    print(f"    {'type':<4} {'cur':<4} {'docs':>5} {'CW net':>12} {'Sage net':>12} "
          f"{'CW VAT':>10} {'Sage VAT':>10} {'CW gross':>12} {'Sage gross':>12}", file=out)
    for g in rec.groups:
        print(f"    {t(g['doc_type']):<4} {t(g['currency']):<4} {g['documents']:>5} "
              f"{g['cw_net']:>12} {g['sage_net']:>12} {g['cw_tax']:>10} {g['sage_tax']:>10} "
              f"{g['cw_gross']:>12} {g['sage_gross']:>12}", file=out)
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
        print(f"    … and {len(hidden)} more explained rounding differences of a penny", file=out)
    for key in rec.unreconciled:
        print(f"    {key}: in Sage with other money than was priced — held, never batched "
              f"(cwsage quarantine show {key})", file=out)
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


def print_waiting(label: str, waiting: list[dict], out=sys.stdout) -> None:
    """Documents handed off and not yet confirmed by Sage, per file, oldest first."""
    if not waiting:
        return
    files: dict[str, list[dict]] = {}
    for w in waiting:
        files.setdefault(w["file"] or "(file unknown)", []).append(w)
    overdue = sum(1 for w in waiting if w["overdue"])
    n = len(waiting)
    print(f"{t(label)}: {n} document{'s' if n != 1 else ''} waiting for Sage to confirm "
          f"{'them' if n != 1 else 'it'}" + (f" — {overdue} OVERDUE" if overdue else ""),
          file=out)
    for file, docs in files.items():
        oldest = max(d["age"] for d in docs)
        flag = "  OVERDUE" if any(d["overdue"] for d in docs) else ""
        keys = ", ".join(t(d["number"] or d["key"]) for d in docs[:5])
        more = f" and {len(docs) - 5} more" if len(docs) > 5 else ""
        print(f"    {t(file)}: {len(docs)} waiting {age_text(oldest)} ({keys}{more}){flag}",
              file=out)
    print("    the importer's success file, or Sage read through ODBC, confirms them on the "
          "next run; if you imported a file yourself: cwsage confirm "
          f"{t(_file_name(next(iter(files))))}", file=out)


def _file_name(file: str) -> str:
    """What ``cwsage confirm`` takes for a waiting document's file (its ``sage_ref``)."""
    return file.split(" ")[-1] if file and " " in file else file or "FILE"


def print_readiness(r: dict, out=sys.stdout) -> None:
    """A dry run: what would be posted, what is blocked and why, and where the report is."""
    print(f"{r['pipeline']} (dry run): {r['unposted']} unposted in ConnectWise → {r['ready']} "
          f"ready, {r['warnings']} with warnings, {r['blocked']} blocked; nothing was written "
          "to Sage and no batch was created", file=out)
    for row in r["rows"]:
        if row["status"] == "blocked":
            print(f"    blocked {t(row['document'])} ({t(row['number'])}): {t(row['reason'])}\n"
                  f"        fix: {t(row['fix'])}", file=out)
    print(f"  report: {r['report_html']}\n          {r['report_csv']}", file=out)


def print_quarantine(name: str, rows: list[dict], out=sys.stdout) -> None:
    """One entry per document, each reason with its fix."""
    if not rows:
        return
    by_doc: dict[str, list[dict]] = {}
    for row in rows:
        by_doc.setdefault(row["document"], []).append(row)
    print(f"  quarantined: {len(by_doc)} documents stay unposted in ConnectWise and flow once "
          "fixed (cwsage quarantine show KEY):", file=out)
    for key, reasons in by_doc.items():
        print(f"    {t(key)} ({t(reasons[0]['number'])}):", file=out)
        for r in reasons:
            print(f"      - {t(r['reason'])}\n        fix: {t(r['fix'])}", file=out)


# Held documents: before Sage (quarantined), or in Sage with other money than was priced
# (unreconciled: never batched back until a person settles it).
HELD_STATES = ["quarantined", "unreconciled"]


def status_rows(spec_path: str) -> list[dict]:
    spec = load_spec(spec_path, need_connection=False, check_files=False)
    journal = Journal(cwsage_home() / "journal.db")
    try:
        rows = []
        for name in spec.pipelines:
            counts = journal.counts(name)
            last = journal.last_run(name)
            rows.append({"pipeline": name, **counts,
                         "in_flight": counts["loading"] + counts["posting"],
                         "last_run": last["run_id"] if last else None,
                         "last_status": last["status"] if last else None,
                         "waiting": [asdict(w) for w in waiting_documents(
                             journal, name, spec.sage.confirm_within)]})
        return rows
    finally:
        journal.close()


def quarantine_command(spec_path: str, action: str, key: str | None, as_json: bool) -> int:
    spec = load_spec(spec_path, need_connection=False, check_files=False)
    journal = Journal(cwsage_home() / "journal.db")
    try:
        docs = [(name, d) for name in spec.pipelines
                for d in journal.documents(name, states=HELD_STATES)]
        if action == "show":
            return _show(journal, docs, key, as_json)
        items = [{"pipeline": n, "key": d["key"], "document": d["doc_number"],
                  "since": d["updated_at"], "reasons": json.loads(d["reasons"] or "[]")}
                 for n, d in docs]
        if as_json:
            print(json.dumps(items, indent=2, default=str))
        elif not items:
            print("no documents in quarantine")
        for item in [] if as_json else items:
            first = item["reasons"][0] if item["reasons"] else {}
            more = f" (+{len(item['reasons']) - 1} more)" if len(item["reasons"]) > 1 else ""
            print(f"{t(item['key']):<14} {item['pipeline']:<10} {t(item['document']):<8} "
                  f"{t(first.get('reason', ''))}{more}")
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
    history = [dict(h) for h in journal.history(name, doc["key"])]
    if as_json:
        print(json.dumps({"pipeline": name, **dict(doc), "reasons": reasons,
                          "history": history}, indent=2, default=str))
        return EXIT_OK
    print(f"{t(doc['key'])} — {name} document {t(doc['doc_number'] or '-')} ({t(doc['doc_type'])}, "
          f"{t(doc['currency'])} {t(doc['gross'])}), {doc['state']} since {doc['updated_at']}")
    for r in reasons:
        print(f"  [{t(r.get('stage'))}] {t(r.get('reason'))}")
        if r.get("value") not in (None, ""):
            print(f"      value: {t(repr(r.get('value')))}")
        print(f"      fix:   {t(r.get('fix'))}")
    print("  It stays unposted in ConnectWise and is checked again on every run.")
    return EXIT_OK
