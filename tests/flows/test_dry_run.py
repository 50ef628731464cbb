"""A dry run: a readiness report and the postings, with neither Sage nor ConnectWise touched."""

from __future__ import annotations

import csv
import sqlite3

import pytest

from tasks.run_result import DryRunResult
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
    assert isinstance(result, DryRunResult) and result.ready > 0 and result.blocked > 0
    assert result.ready + result.blocked == held
    assert cw.unposted() == held and len(cw.batches()) == len(first.counts.batches)
    assert sqlite3.connect(home / "sage50.db").execute(
        "SELECT COUNT(*) FROM INVOICE").fetchone()[0] == before
    assert (home / "journal.db").read_bytes() == journal_before
    rows = list(csv.DictReader(open(result.report_csv, encoding="utf-8")))
    docs = [r for r in rows if r["kind"] == "document"]
    ready = [r for r in docs if r["status"] == "ready"]
    assert len(docs) == held and len(ready) == result.ready
    assert all(r["account"] and r["cw_gross"] and r["sage_gross"] for r in ready)
    assert any(r["account"] == "FOX01" for r in ready)
    assert not any(r["account"] in ("1100", "2100") for r in docs)
    postings = [r for r in rows if r["kind"] == "posting"]
    assert postings and all(r["nominal"] and r["sage_net"] and r["sage_vat"] and
                            r["description"] and not r["reason"] for r in postings)
    assert all(r["fix"] for r in docs if r["status"] == "blocked")
    assert sum(g.count for g in result.held) >= result.blocked
    page = open(result.report_html, encoding="utf-8").read()
    assert "blocked" in page and page.index("Needs a person") < page.index("<table>")
