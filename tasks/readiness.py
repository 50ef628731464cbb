"""The readiness report of a dry run, as CSV and HTML files a finance user can open: first what
needs a person (the blocked documents grouped by cause, with the fix: ``tasks.held``), then
one row per document — ready, warning or blocked — with ConnectWise's and Sage's net, VAT and
gross side by side, the customer or supplier account, and the Sage postings it would make.

A dry run extracts, validates, transforms and loads into a throwaway copy of the Sage replica
(and of the journal); nothing reaches the real target and no ConnectWise batch is created.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE

from tasks.artifacts import publish_table
from tasks.held import (Blocked, HeldGroup, documents_held, group_held, natural, noun_for, numbers,
                        plural)
from tasks.inert import csv_cell, html
from tasks.journal_records import HELD_STATES, JournalDocument, Reason
from tasks.run_result import DryRunResult, RunCounts
from tasks.sage50.rules import NO_DIRECT_POSTING

COLUMNS = ["kind", "status", "document", "number", "account", "type", "currency",
           "cw_net", "cw_vat", "cw_gross", "sage_net", "sage_vat", "sage_gross",
           "nominal", "tax_code", "description", "reason", "fix"]
AMOUNTS = ("cw_net", "cw_vat", "cw_gross", "sage_net", "sage_vat", "sage_gross")
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")     # an amount cwsage wrote: stays a number in a sheet
STATUSES = ("blocked", "warning", "ready")   # the order of the report
RUN_STATES = (*HELD_STATES, "loaded", "posted")
ALREADY = "already in Sage — would only be batched in ConnectWise"
NOT_HELD = "loaded into the dry run's copy of Sage, which then did not hold it — run again"
NOTHING_WRITTEN = "nothing was written to Sage and no ConnectWise batch was created"


@dataclass
class Readiness:
    title: str
    run_id: str
    noun: str                 # what one document is called: invoice, expense bill, …
    rows: list[dict]          # each document's row (kind "document"), then its postings
    held: list[HeldGroup]

    def documents(self) -> list[dict]:
        return [row for row in self.rows if row["kind"] == "document"]

    def count(self, status: str) -> int:
        return sum(1 for row in self.documents() if row["status"] == status)


def readiness(journal, pipeline: str, run_id: str, writer, title: str = "",
              noun: str = "document", control: frozenset[str] = frozenset(NO_DIRECT_POSTING),
              money: bool = True) -> Readiness:
    """The documents this run touched: blocked first, then warnings, then ready. ``control``:
    the Sage control accounts, never shown as a document's account; ``money``: whether the
    documents carry money (list records such as customers do not)."""
    docs = [doc for page in journal.pages(pipeline, RUN_STATES, run_id=run_id) for doc in page]
    ready = [d.key for d in docs if d.state not in HELD_STATES]
    totals = writer.totals(ready) if ready and money else {}
    documents = [_document(doc, totals.get(doc.key), control, money) for doc in docs]
    documents.sort(key=lambda rows: (STATUSES.index(rows[0]["status"]),
                                     natural(rows[0]["number"] or rows[0]["document"])))
    held = group_held(d for d in docs if d.state in HELD_STATES)
    return Readiness(title, run_id, noun, [row for rows in documents for row in rows], held)


def blocked_documents(rows) -> list[Blocked]:
    """The blocked documents among a report's rows, each with the reasons its rows give."""
    found: dict[str, tuple[str, list[Reason]]] = {}
    for row in rows:
        if row["status"] == "blocked":
            _, reasons = found.setdefault(row["document"], (row["number"], []))
            reasons.append(Reason(row["reason"], row["fix"]))
    return [Blocked(key, number, tuple(reasons)) for key, (number, reasons) in found.items()]


def _document(doc: JournalDocument, sage, control: frozenset[str], money: bool) -> list[dict]:
    """A document's row, then a row per posting Sage would make of it."""
    status, reasons = _status(doc, sage, money)
    account = sage.account_ref if sage is not None else doc.account_ref
    cw = dict(cw_net=doc.net, cw_vat=doc.tax, cw_gross=doc.gross) if money else {}
    target = {} if sage is None else dict(sage_net=sage.net, sage_vat=sage.tax,
                                          sage_gross=sage.gross)
    head = _row("document", status, doc, account=account if account not in control else "",
                type=sage.doc_type if sage is not None else doc.doc_type,
                currency=sage.currency if sage is not None else doc.currency,
                reason="; ".join(dict.fromkeys(r.reason or "" for r in reasons)),
                fix="; ".join(dict.fromkeys(r.fix or "" for r in reasons)), **cw, **target)
    if sage is None:
        return [head]
    same = {c: head[c] for c in ("account", "type", "currency")}
    return [head] + [_row("posting", status, doc, **same, nominal=line.nominal_code,
                          tax_code=f"T{line.tax_code}", sage_net=line.net, sage_vat=line.tax,
                          sage_gross=line.net + line.tax, description=line.description)
                     for line in sage.lines]


def _status(doc: JournalDocument, sage, money: bool) -> tuple[str, tuple[Reason, ...]]:
    """Blocked (with the journal's reasons), warning (with one reason of its own) or ready."""
    if doc.state in HELD_STATES:
        return "blocked", doc.reasons
    if money and sage is None:
        return "warning", (Reason(NOT_HELD),)
    if str(doc.sage_ref or "").startswith("already in Sage"):
        return "warning", (Reason(ALREADY),)
    return "ready", ()


def _row(kind: str, status: str, doc: JournalDocument, **values) -> dict:
    row = dict.fromkeys(COLUMNS, "")
    row.update(kind=kind, status=status, document=doc.key, number=doc.doc_number or "")
    row.update({k: "" if v is None else _money(v) if k in AMOUNTS else str(v)
                for k, v in values.items()})
    return row


def _money(value) -> str:
    """An amount to the penny (0.0 → 0.00); one with more places, or not a number, as is."""
    try:
        amount = Decimal(str(value))
    except ArithmeticError:
        return str(value)
    return f"{amount:.2f}" if amount.is_finite() and amount.as_tuple().exponent >= -2 \
        else str(value)


def title_of(pipeline: str, when: datetime, company: str | None) -> str:
    """``invoices readiness — 28 Nov 2026 10:15 UTC — Acme IT``."""
    when = when.astimezone(timezone.utc)
    parts = [f"{pipeline} readiness", f"{when.day} {when:%b %Y %H:%M} UTC", company or ""]
    return " — ".join(p for p in parts if p)


def write_report(report: Readiness, folder: Path, stem: str) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    csv_path, html_path = folder / f"{stem}.csv", folder / f"{stem}.html"
    with csv_path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(csv_row(row) for row in report.rows)
    html_path.write_text(report_html(report), encoding="utf-8")
    return csv_path, html_path


def csv_row(row: dict) -> dict:
    """A row as the CSV holds it: every text cell inert for a spreadsheet, amounts as numbers."""
    return {c: row[c] if c in AMOUNTS and _NUMBER.match(row[c]) else csv_cell(row[c])
            for c in COLUMNS}


STYLE = ("body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse}"
         "td,th{border:1px solid #ccc;padding:2px 6px;font-size:13px;vertical-align:top}"
         "td.n{text-align:right;font-variant-numeric:tabular-nums}small{color:#666}"
         ".blocked{background:#fde2e2}.warning{background:#fff4ce}.ready{background:#e6f4ea}"
         "li{margin-bottom:.6em}footer{margin-top:2em;color:#666;font-size:12px}")


def report_html(report: Readiness) -> str:
    counts = ", ".join(f"{report.count(s)} {label}" for s, label in (
        ("ready", "ready"), ("warning", "with warnings"), ("blocked", "blocked")))
    total = plural(len(report.documents()), report.noun)
    return (f"<!doctype html><meta charset='utf-8'><title>{html(report.title)}</title>"
            f"<style>{STYLE}</style><h1>{html(report.title)}</h1>"
            f"<p>{html(total)}: {html(counts)} — {NOTHING_WRITTEN}.</p>"
            f"{_held_html(report)}<h2>Documents</h2>{_table_html(report)}"
            f"<footer>dry run {html(report.run_id)}</footer>")


def _held_html(report: Readiness) -> str:
    """What needs a person: each cause once, its documents counted and named, and the fix."""
    if not report.held:
        return "<h2>Needs a person</h2><p>Nothing is blocked.</p>"
    blocked = plural(documents_held(report.held), report.noun)
    items = "".join(
        f"<li><b>{html(g.cause)}</b> — {html(plural(g.count, report.noun))}: "
        f"{html(numbers(g))}<br>Fix: {html(g.fix)}</li>" for g in report.held)
    return (f"<h2>Needs a person: {html(blocked)} blocked</h2><p>Each flows on the first run "
            f"after its cause is fixed.</p><ol>{items}</ol>")


def _table_html(report: Readiness) -> str:
    head = ("<tr><th rowspan=2>status</th><th rowspan=2>document</th><th rowspan=2>account</th>"
            "<th rowspan=2>type</th><th rowspan=2>currency</th><th colspan=3>ConnectWise</th>"
            "<th colspan=3>Sage</th><th rowspan=2>reason and fix</th>"
            "<th rowspan=2>postings</th></tr><tr>" + "<th>net</th><th>VAT</th><th>gross</th>" * 2
            + "</tr>")
    body, current = [], None
    for row in report.rows + [None]:           # a document's postings follow its row
        if row is not None and row["kind"] == "posting":
            current[1].append(row)
            continue
        if current is not None:
            body.append(_document_html(*current))
        current = (row, [])
    return f"<table>{head}{''.join(body)}</table>"


def _document_html(row: dict, postings: list[dict]) -> str:
    why = html(row["reason"]) + (f"<br>Fix: {html(row['fix'])}" if row["fix"] else "")
    cells = [html(row["status"]),
             f"{html(row['number'] or row['document'])}<br><small>{html(row['document'])}</small>",
             html(row["account"]), html(row["type"]), html(row["currency"])]
    amounts = "".join(f"<td class=n>{html(row[c])}</td>" for c in AMOUNTS)
    return (f"<tr class='{html(row['status'])}'>" + "".join(f"<td>{c}</td>" for c in cells)
            + f"{amounts}<td>{why}</td><td>{_postings_html(postings)}</td></tr>")


def _postings_html(postings: list[dict]) -> str:
    if not postings:
        return ""
    lines = "".join(
        f"<tr><td>{html(p['nominal'])}</td><td>{html(p['tax_code'])}</td>"
        f"<td>{html(p['description'])}</td>" + "".join(
            f"<td class=n>{html(p[c])}</td>" for c in ("sage_net", "sage_vat", "sage_gross"))
        + "</tr>" for p in postings)
    return (f"<details><summary>{html(plural(len(postings), 'posting'))}</summary><table>"
            "<tr><th>nominal</th><th>tax</th><th>description</th><th>net</th><th>VAT</th>"
            f"<th>gross</th></tr>{lines}</table></details>")


@task(name="readiness", task_run_name="{run.pipeline}-readiness", cache_policy=NO_CACHE)
def readiness_task(run, journal, writer, counts: RunCounts) -> DryRunResult:
    """The dry run's report: files under $CWSAGE_HOME/reports and a table artifact."""
    company = run.spec.company or run.spec.connectwise.company
    report = readiness(journal, run.pipeline, run.run_id, writer,
                       title_of(run.pipeline, datetime.now(timezone.utc), company),
                       noun_for(run.entity), frozenset(run.spec.sage.control_accounts),
                       run.entity.has_money)
    csv_path, html_path = write_report(report, run.home / "reports",
                                       f"{run.pipeline}-readiness-{run.run_id}")
    publish_table(run.pipeline, "readiness", report.documents(), report.title)
    return DryRunResult(run.pipeline, run.run_id, counts, report.count("ready"),
                        report.count("warning"), report.count("blocked"), str(csv_path),
                        str(html_path), tuple(report.documents()), tuple(report.held),
                        report.noun)
