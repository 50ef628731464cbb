"""The readiness report of a dry run: per document ready / blocked / warning, with the fix, and
the Sage postings that would be made — as CSV and HTML files a finance user can open.

A dry run extracts, validates, transforms and loads into a throwaway copy of the Sage replica
(and of the journal); nothing reaches the real target and no ConnectWise batch is created.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE

from tasks.artifacts import publish_table
from tasks.inert import csv_cell, html

COLUMNS = ["status", "document", "number", "account", "type", "nominal", "tax_code", "net",
           "vat", "gross", "currency", "reason", "fix"]
AMOUNTS = ("net", "vat", "gross")        # cwsage's own Decimals: they stay numbers in a sheet


def readiness_rows(journal, pipeline: str, run_id: str, writer) -> list[dict]:
    """One row per Sage posting line of each ready document; one row per reason of each
    blocked one; warnings for documents Sage already holds."""
    docs = [d for d in journal.documents(pipeline) if d["last_run"] == run_id]
    ready = [d["key"] for d in docs if d["state"] in ("loaded", "posted")]
    totals = writer.totals(ready) if ready else {}
    rows: list[dict] = []
    for doc in docs:
        if doc["state"] == "quarantined":
            rows += [_row("blocked", doc, reason=r.get("reason"), fix=r.get("fix"))
                     for r in json.loads(doc["reasons"] or "[]")]
        elif doc["key"] in totals:
            rows += _posting_rows(doc, totals[doc["key"]])
    return rows


def _posting_rows(doc, sage) -> list[dict]:
    warning = "already in Sage — would only be batched in ConnectWise" \
        if str(doc["sage_ref"] or "").startswith("already in Sage") else ""
    status = "warning" if warning else "ready"
    return [_row(status, doc, account=sage.account_ref, type=sage.doc_type,
                 nominal=line.nominal_code, tax_code=f"T{line.tax_code}", net=line.net,
                 vat=line.tax, gross=line.net + line.tax, currency=sage.currency,
                 reason=warning or line.description)
            for line in sage.lines]


def _row(status: str, doc, **values) -> dict:
    row = {c: "" for c in COLUMNS}
    row.update(status=status, document=doc["key"], number=doc["doc_number"] or "",
               account=doc["account_ref"] or "", type=doc["doc_type"] or "",
               currency=doc["currency"] or "")
    row.update({k: ("" if v is None else str(v)) for k, v in values.items()})
    return row


def write_report(rows: list[dict], folder: Path, stem: str) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    csv_path, html_path = folder / f"{stem}.csv", folder / f"{stem}.html"
    with csv_path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(csv_row(row) for row in rows)
    html_path.write_text(_html(rows, stem), encoding="utf-8")
    return csv_path, html_path


def csv_row(row: dict) -> dict:
    """A row as the CSV holds it: every text cell inert for a spreadsheet, amounts as numbers."""
    return {c: row[c] if c in AMOUNTS else csv_cell(row[c]) for c in COLUMNS}


def _html(rows: list[dict], title: str) -> str:
    counts = {s: len({r["document"] for r in rows if r["status"] == s})
              for s in ("ready", "warning", "blocked")}
    head = "".join(f"<th>{html(c)}</th>" for c in COLUMNS)
    body = "".join("<tr class='{0}'>{1}</tr>".format(
        html(r["status"]), "".join(f"<td>{html(r[c])}</td>" for c in COLUMNS)) for r in rows)
    return (f"<!doctype html><meta charset='utf-8'><title>{html(title)}</title>"
            "<style>body{font-family:sans-serif}table{border-collapse:collapse}"
            "td,th{border:1px solid #ccc;padding:2px 6px;font-size:13px}"
            ".blocked{background:#fde2e2}.warning{background:#fff4ce}.ready{background:#e6f4ea}"
            f"</style><h1>{html(title)}</h1><p>{counts['ready']} ready, "
            f"{counts['warning']} with warnings, {counts['blocked']} blocked — nothing was "
            "written to Sage and no ConnectWise batch was created.</p>"
            f"<table><tr>{head}</tr>{body}</table>")


@task(name="readiness", task_run_name="{ctx.pipeline}-readiness", cache_policy=NO_CACHE)
def readiness_task(ctx, stats: dict) -> dict:
    """The dry run's report: files under $CWSAGE_HOME/reports and a table artifact."""
    rows = readiness_rows(ctx.journal, ctx.pipeline, ctx.run_id, ctx.writer)
    stem = f"{ctx.pipeline}-readiness-{ctx.run_id}"
    csv_path, html_path = write_report(rows, ctx.home / "reports", stem)
    publish_table(ctx.pipeline, "readiness", rows, f"Dry run {ctx.run_id}: what would be posted")
    statuses = {s: sorted({r["document"] for r in rows if r["status"] == s})
                for s in ("ready", "warning", "blocked")}
    return {"pipeline": ctx.pipeline, "run_id": ctx.run_id, "dry_run": True, **stats,
            "ready": len(statuses["ready"]), "warnings": len(statuses["warning"]),
            "blocked": len(statuses["blocked"]), "report_csv": str(csv_path),
            "report_html": str(html_path), "rows": rows}
