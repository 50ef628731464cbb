"""A dry run: a readiness report and the postings, with neither Sage nor ConnectWise touched."""

from __future__ import annotations

import csv
import sqlite3

import pytest

from tests.flows.helpers import CW, run

pytestmark = pytest.mark.slow


def test_dry_run_reports_and_touches_nothing(prefect_harness, sandbox, spec, home):
    from flows.pipeline import run_pipeline
    first = run(spec)                                         # a real run, then more work
    cw = CW(sandbox)
    held = cw.unposted()
    before = sqlite3.connect(home / "sage50.db").execute(
        "SELECT COUNT(*) FROM INVOICE").fetchone()[0]
    journal_before = (home / "journal.db").read_bytes()
    fox = cw.get("/company/companies", conditions='name="Angry Fox Cycles Ltd"')[0]
    cw.session.patch(f"{cw.base}/company/companies/{fox['id']}",
                     json=[{"op": "replace", "path": "accountNumber", "value": "FOX01"}])
    result = run_pipeline("invoices", str(spec), dry_run=True)
    assert result["dry_run"] and result["ready"] > 0 and result["blocked"] > 0
    assert result["ready"] + result["blocked"] == held
    assert cw.unposted() == held and len(cw.batches()) == len(first["batches"])
    assert sqlite3.connect(home / "sage50.db").execute(
        "SELECT COUNT(*) FROM INVOICE").fetchone()[0] == before
    assert (home / "journal.db").read_bytes() == journal_before
    rows = list(csv.DictReader(open(result["report_csv"], encoding="utf-8")))
    ready = [r for r in rows if r["status"] == "ready"]
    assert ready and all(r["nominal"] and r["net"] and r["vat"] and r["account"] for r in ready)
    assert any(r["account"] == "FOX01" for r in ready)
    assert all(r["fix"] for r in rows if r["status"] == "blocked")
    assert "blocked" in open(result["report_html"], encoding="utf-8").read()
