"""The CLI's commands that read runs and the journal: ``cwsage run`` (its outcomes printed by
``flows.terminal``), ``cwsage status`` and ``cwsage quarantine``. Every value that came from
ConnectWise or the journal is printed through ``terminal``."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict

from flows.spec import load_spec
from flows.tables import emit, quarantine_table, status_table, when
from flows.terminal import print_run_results, print_waiting
from tasks.confirm import waiting_documents
from tasks.context import cwsage_home
from tasks.entities import entity_for
from tasks.held import noun_for, plural
from tasks.inert import terminal as t
from tasks.journal_records import HeldDocument, JournalDocument
from tasks.run_result import FailedRun, Outcome
from tasks.sage50.money import money
from tasks.state import open_journal

EXIT_OK, EXIT_FAILED, EXIT_USER = 0, 1, 2


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
