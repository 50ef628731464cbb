"""The dry run's readiness report: what needs a person first, then one row per document with
both sides' money, the customer's account, and the postings it would make."""

from __future__ import annotations

import csv
from datetime import datetime, timezone
from decimal import Decimal
from types import SimpleNamespace

import pytest

from tasks.entities import ENTITIES
from tasks.journal import DocRecord, Journal
from tasks.readiness import ALREADY, COLUMNS, readiness, readiness_task, title_of, write_report
from tasks.run_result import RunCounts
from tasks.sage50.protocol import DocumentTotals, LineTotals

D = Decimal
HOSTILE = '=HYPERLINK("http://x.test","Fix") <script>alert(1)</script>\r\n# x'


def doc(n: int, account: str | None = "ACME01") -> DocRecord:
    return DocRecord(f"CW-INV-{n}", str(n), str(10000 + n), "SI", account, "GBP", D("100.00"),
                     D("20.00"), D("120.00"), (n,), "h")


def sage_totals(key: str, account: str = "ACME01", description: str = "Managed services"):
    lines = (LineTotals("4000", 1, D("60.00"), D("12.00"), D("20"), description),
             LineTotals("4001", 1, D("40.00"), D("8.00"), D("20"), "Backup"))
    return DocumentTotals(key, "SI", account, "GBP", D("100.00"), D("20.00"), D("120.00"), lines)


class Writer:
    def __init__(self, **overrides):
        self.overrides = overrides

    def totals(self, keys):
        return {k: self.overrides.get(k) or sage_totals(k) for k in keys}


def no_account(number: str) -> dict:
    return {"expectation": "expect_column_values_to_not_be_null", "column": "account_ref",
            "value": None, "reason": f"customer Angry Fox Cycles Ltd has no Account Number, "
            f"so Sage has no account to post invoice {number} to",
            "fix": "set an Account Number on company Angry Fox Cycles Ltd in ConnectWise"}


@pytest.fixture
def journal(tmp_path):
    """Run r1: CW-INV-1..3 ready (3 already in Sage), 4 and 5 blocked for one cause, 6 for
    another; CW-INV-7 touched by an earlier run only."""
    j = Journal(tmp_path / "journal.db")
    j.record_extracted("invoices", "r0", [doc(7)])
    j.record_extracted("invoices", "r1", [doc(n) for n in (1, 2, 3, 6)]
                       + [doc(4, None), doc(5, "1100")])
    j.quarantine("invoices", "r1", {
        "CW-INV-4": [no_account("10004")], "CW-INV-5": [no_account("10005")],
        "CW-INV-6": [{"expectation": "resolve", "reason": "USD has no exchange rate",
                      "fix": "add 'USD: <rate>' under sage.sage50_replica.currency_rates"}]},
        "validate")
    j.mark("invoices", "r1", ["CW-INV-1", "CW-INV-2", "CW-INV-3"], "loading")
    j.mark_loaded("invoices", "r1", {"CW-INV-1": "SI 1", "CW-INV-2": "SI 2",
                                     "CW-INV-3": "already in Sage as SI 9"})
    yield j
    j.close()


def report(journal, writer=None, **kwargs):
    return readiness(journal, "invoices", "r1", writer or Writer(), "invoices readiness",
                     "invoice", **kwargs)


def test_blocked_first_then_warnings_then_ready_one_row_per_document(journal):
    r = report(journal)
    docs = r.documents()
    assert [(d["number"], d["status"]) for d in docs] == [
        ("10004", "blocked"), ("10005", "blocked"), ("10006", "blocked"),
        ("10003", "warning"), ("10001", "ready"), ("10002", "ready")]   # not CW-INV-7
    assert docs[3]["reason"] == ALREADY
    assert [(g.count, g.fix.split()[0]) for g in r.held] == [(2, "set"), (1, "add")]
    assert (r.count("ready"), r.count("warning"), r.count("blocked")) == (2, 1, 3)


def test_a_ready_row_shows_both_sides_money_and_its_postings_their_lines(journal):
    rows = report(journal).rows
    i = next(i for i, row in enumerate(rows) if row["document"] == "CW-INV-1")
    ready, postings = rows[i], rows[i + 1:i + 3]
    assert (ready["kind"], ready["account"], ready["type"]) == ("document", "ACME01", "SI")
    assert [ready[c] for c in ("cw_net", "cw_vat", "cw_gross", "sage_net", "sage_vat",
                               "sage_gross")] == ["100.00", "20.00", "120.00"] * 2
    assert ready["reason"] == ready["fix"] == ready["description"] == ""
    assert [p["kind"] for p in postings] == ["posting", "posting"]
    assert [(p["nominal"], p["tax_code"], p["sage_net"], p["sage_vat"], p["sage_gross"],
             p["description"], p["reason"]) for p in postings] == [
        ("4000", "T1", "60.00", "12.00", "72.00", "Managed services", ""),
        ("4001", "T1", "40.00", "8.00", "48.00", "Backup", "")]


def test_the_account_is_the_customers_never_a_control_account(journal):
    writer = Writer(**{"CW-INV-2": sage_totals("CW-INV-2", account="1100")})
    docs = {d["document"]: d for d in report(journal, writer).documents()}
    assert docs["CW-INV-6"]["account"] == "ACME01"            # blocked: the customer's
    assert docs["CW-INV-4"]["account"] == ""                  # blocked: it has none
    assert docs["CW-INV-5"]["account"] == ""                  # 1100 is the debtors control
    assert docs["CW-INV-2"]["account"] == ""
    blocked = docs["CW-INV-6"]
    assert blocked["cw_gross"] == "120.00" and blocked["sage_gross"] == ""
    assert blocked["reason"] == "USD has no exchange rate" and blocked["fix"].startswith("add")


def test_records_without_money_are_ready_without_postings(tmp_path):
    j = Journal(tmp_path / "journal.db")
    j.record_extracted("customers", "r1", [doc(1)])
    j.mark("customers", "r1", ["CW-INV-1"], "loading")
    j.mark_loaded("customers", "r1", {"CW-INV-1": "customer ACME01"})
    rows = readiness(j, "customers", "r1", Writer(), money=False).rows
    j.close()
    assert [(r["kind"], r["status"], r["cw_net"], r["sage_net"]) for r in rows] == [
        ("document", "ready", "", "")]


def test_html_starts_with_what_needs_a_person_then_the_documents(journal, tmp_path):
    csv_path, html_path = write_report(report(journal), tmp_path, "invoices-readiness-r1")
    page = html_path.read_text(encoding="utf-8")
    assert "<h1>invoices readiness</h1>" in page and "6 invoices: 2 ready, 1 with warnings" in page
    needs, table = page.index("Needs a person: 3 invoices blocked"), page.index("<table>")
    assert needs < table
    first = page[needs:table]
    assert ("customer Angry Fox Cycles Ltd has no Account Number, so Sage has no account to "
            "post invoice … to</b> — 2 invoices: 10004, 10005") in first
    assert "Fix: set an Account Number on company Angry Fox Cycles Ltd" in first
    assert "1 invoice: 10006" in first
    assert page.count("<details>") == 3 and "<summary>2 postings</summary>" in page
    assert page.index("10004<br>") < page.index("10001<br>")
    assert "dry run r1</footer>" in page


def test_csv_has_a_kind_column_and_descriptions_under_description(journal, tmp_path):
    csv_path, _ = write_report(report(journal), tmp_path, "invoices-readiness-r1")
    rows = list(csv.DictReader(csv_path.open(encoding="utf-8", newline="")))
    assert list(rows[0]) == COLUMNS and "reason" in COLUMNS and "description" in COLUMNS
    assert [r["kind"] for r in rows].count("document") == 6
    assert [r["kind"] for r in rows].count("posting") == 6        # 3 documents in Sage × 2
    assert {r["description"] for r in rows if r["kind"] == "posting"} == {
        "Managed services", "Backup"}
    assert not any(r["reason"] in ("Managed services", "Backup") for r in rows)


def test_hostile_text_is_inert_in_html_and_csv(tmp_path):
    j = Journal(tmp_path / "journal.db")
    j.record_extracted("invoices", "r1", [
        DocRecord(key, "1", HOSTILE, "SI", HOSTILE, HOSTILE, D(1), D(0), D(1), (1,), "h")
        for key in ("CW-INV-1", "CW-INV-2")])
    j.quarantine("invoices", "r1", {"CW-INV-1": [{"reason": HOSTILE, "fix": HOSTILE}]},
                 "validate")
    j.mark("invoices", "r1", ["CW-INV-2"], "loading")
    j.mark_loaded("invoices", "r1", {"CW-INV-2": "SI 1"})
    writer = Writer(**{"CW-INV-2": sage_totals("CW-INV-2", HOSTILE, HOSTILE)})
    csv_path, html_path = write_report(readiness(j, "invoices", "r1", writer, HOSTILE),
                                       tmp_path, "r")
    j.close()
    page = html_path.read_text(encoding="utf-8")
    assert "<script>" not in page and "&lt;script&gt;" in page and "\r" not in page
    for row in csv.DictReader(csv_path.open(encoding="utf-8", newline="")):
        for column, text in row.items():
            assert not text.startswith(("=", "+", "-", "@", "\t", "\r")), (column, text)
            assert "\n" not in text and "\r" not in text


def test_title_is_the_pipeline_the_time_and_the_company():
    when = datetime(2026, 11, 8, 10, 15, tzinfo=timezone.utc)
    assert title_of("invoices", when, "acme-uk") == \
        "invoices readiness — 8 Nov 2026 10:15 UTC — acme-uk"
    assert title_of("invoices", when, None) == "invoices readiness — 8 Nov 2026 10:15 UTC"


def test_the_task_names_the_company_or_the_connectwise_company_id(journal, tmp_path):
    def run(company):
        spec = SimpleNamespace(company=company, connectwise=SimpleNamespace(company="cwco"),
                               sage=SimpleNamespace(control_accounts=["1100", "2100"]))
        return SimpleNamespace(pipeline="invoices", run_id="r1", spec=spec,
                               entity=ENTITIES["invoices"], home=tmp_path)
    result = readiness_task.fn(run(None), journal, Writer(), RunCounts(unposted=6))
    page = open(result.report_html, encoding="utf-8").read()
    assert "UTC — cwco</h1>" in page and result.report_csv.endswith("-r1.csv")
    assert (result.ready, result.warnings, result.blocked) == (2, 1, 3)
    assert result.noun == "invoice" and [g.count for g in result.held] == [2, 1]
    assert {r["kind"] for r in result.rows} == {"document"} and result.counts.unposted == 6
    result = readiness_task.fn(run("acme-uk"), journal, Writer(), RunCounts(unposted=6))
    assert "UTC — acme-uk</h1>" in open(result.report_html, encoding="utf-8").read()
