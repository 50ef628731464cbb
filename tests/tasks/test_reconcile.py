"""Reconciliation: ConnectWise's totals (the journal's) against the target's, to the penny —
VAT rounding explained line by line, anything else reported as unexplained — and the tables
and markdown it is shown as."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal as D

import pytest

from tasks.confirm import Waiting
from tasks.journal import DocRecord, Journal
from tasks.reconcile import (Reconciler, difference_rows, group_rows, line_rows, reconcile,
                             verdict)
from tasks.run_markdown import reconciliation_markdown
from tasks.sage50.protocol import DocumentTotals, LineTotals


@pytest.fixture
def journal(tmp_path):
    j = Journal(tmp_path / "journal.db")
    yield j
    j.close()


def kept(journal: Journal, *docs: tuple) -> list:
    """The journal's documents of (key, net, tax[, number]): ConnectWise's money as the
    journal keeps it from extraction, in the records the journal answers with."""
    journal.record_extracted("p", "r1", [DocRecord(
        key, key, number[0] if number else key[-3:], "SI", "SMITHJ01", "GBP", D(net), D(tax),
        D(net) + D(tax), (1,), key) for key, net, tax, *number in docs])
    return journal.documents("p", [d[0] for d in docs])


def held(key: str, *lines: tuple[str, str, str], doc_type: str = "SI",
         currency: str = "GBP", nominal: str = "4000") -> DocumentTotals:
    """What the target holds: ``lines`` of (net, rate, VAT), each at T1 unless the rate is 0."""
    items = tuple(LineTotals(nominal, 1 if D(rate) else 0, D(net), D(tax), D(rate), f"line {n}")
                  for n, (net, rate, tax) in enumerate(lines, 1))
    net, tax = sum((i.net for i in items), D("0.00")), sum((i.tax for i in items), D("0.00"))
    return DocumentTotals(key, doc_type, "SMITHJ01", currency, net, tax, net + tax, items)


def test_equal_money_agrees_to_the_penny_and_adds_up_by_group_and_line(journal):
    totals = {"A-1": held("A-1", ("100.00", "20", "20.00"), ("50.00", "0", "0.00")),
              "A-2": held("A-2", ("10.00", "20", "2.00"), doc_type="SC")}
    rec = reconcile(kept(journal, ("A-1", "150.00", "20.00"), ("A-2", "10.00", "2.00")),
                    totals)
    assert rec.agrees and rec.differences == [] and rec.documents == 2
    assert verdict(rec) == "agrees to the penny"
    assert [(g["doc_type"], g["documents"], g["cw_net"], g["sage_net"], g["sage_tax"])
            for g in rec.groups] == [("SC", 1, D("10.00"), D("10.00"), D("2.00")),
                                     ("SI", 1, D("150.00"), D("150.00"), D("20.00"))]
    assert [(ln["doc_type"], ln["tax_code"], ln["lines"], ln["net"], ln["tax"])
            for ln in rec.lines] == [("SC", 1, 1, D("10.00"), D("2.00")),
                                     ("SI", 0, 1, D("50.00"), D("0.00")),
                                     ("SI", 1, 1, D("100.00"), D("20.00"))]
    assert [r["status"] for r in group_rows(rec)] == ["agrees", "agrees"]
    assert group_rows(rec)[1]["gross difference"] == "0.00"


def test_per_line_vat_rounding_is_explained_line_by_line(journal):
    # three lines of 0.03 at 20 %: Sage rounds each line's 0.006 up to 0.01; ConnectWise
    # rounds once on the document, 0.018 → 0.02
    totals = {"R-1": held("R-1", *[("0.03", "20", "0.01")] * 3)}
    rec = reconcile(kept(journal, ("R-1", "0.09", "0.02")), totals)
    assert rec.agrees and verdict(rec) == "every difference explained"
    tax, gross = rec.differences
    assert (tax.what, tax.connectwise, tax.sage, tax.explained) == \
        ("tax", D("0.02"), D("0.03"), True)
    assert tax.explanation == ("VAT rounding: ConnectWise rounds VAT once on the document "
                               "(0.02), Sage rounds each line (0.03); tax differs by 0.01")
    assert tax.lines == [f"line 'line {n}': net 0.03 × 20% = 0.006 → VAT 0.01"
                         for n in (1, 2, 3)]
    assert (gross.what, gross.explained, gross.explanation) == \
        ("gross", True, "follows from the VAT rounding difference")
    assert group_rows(rec)[0]["status"] == "VAT rounding (1 doc)"


def test_a_net_that_differs_is_never_explained(journal):
    rec = reconcile(kept(journal, ("N-1", "100.00", "20.00")),
                    {"N-1": held("N-1", ("90.00", "20", "18.00"))})
    assert not rec.agrees and verdict(rec) == "DOES NOT AGREE"
    net = rec.differences[0]
    assert (net.what, net.explained) == ("net", False)
    assert net.explanation == "the nets differ: a line was lost, added or priced differently"
    assert net.lines == ["Sage line 'line 1': net 90.00"]
    assert group_rows(rec)[0]["status"] == "UNEXPLAINED"


def test_vat_that_is_not_rounding_is_unexplained(journal):
    rec = reconcile(kept(journal, ("V-1", "100.00", "17.50")),
                    {"V-1": held("V-1", ("100.00", "20", "20.00"))})
    [tax, gross] = rec.differences
    assert not tax.explained and not gross.explained
    assert tax.explanation == ("ConnectWise VAT 17.50 is not the VAT of its lines rounded once "
                               "(20.00) nor per line (20.00)")


def test_a_document_the_target_does_not_hold_is_missing(journal):
    rec = reconcile(kept(journal, ("M-1", "1.00", "0.20")), {})
    assert rec.missing == ["M-1"] and rec.groups == [] and not rec.agrees
    assert verdict(rec) == "DOES NOT AGREE"
    assert difference_rows(rec) == [{"document": "M-1", "key": "M-1", "amount": "all",
                                     "explained": "NO", "explanation": "loaded, but Sage's "
                                     "totals do not include it"}]
    assert reconciliation_markdown(rec).endswith("- M-1: **missing** from Sage's totals")


def test_nothing_loaded_says_so():
    assert verdict(reconcile([], {})) == "nothing loaded in this run"


def test_page_by_page_is_the_same_as_all_at_once(journal):
    rows = kept(journal, *[(f"P-{n}", "0.09", "0.02") for n in range(5)])
    totals = {r.key: held(r.key, *[("0.03", "20", "0.01")] * 3) for r in rows}
    paged = Reconciler()
    for start in range(0, 5, 2):
        paged.add(rows[start:start + 2], totals)
    assert paged.result() == reconcile(rows, totals)


def test_held_documents_and_overdue_handoffs_keep_it_from_agreeing(journal):
    rec = reconcile(kept(journal, ("A-1", "1.00", "0.20")),
                    {"A-1": held("A-1", ("1.00", "20", "0.20"))})
    assert rec.agrees
    rec.unreconciled = ["A-2"]
    assert not rec.agrees
    rec.unreconciled, rec.unfinished = [], {"loading": 1}
    assert not rec.agrees
    rec.unfinished = {}
    late = Waiting("A-3", "3", "f.xml", datetime.now(timezone.utc), timedelta(days=2), True)
    rec.waiting = [late, Waiting("A-4", "4", "f.xml", late.since, timedelta(0), False)]
    assert rec.overdue == [late] and not rec.agrees


def test_tables_and_markdown_show_sages_side_and_keep_text_inert(journal):
    totals = {"X-1": held("X-1", ("0.03", "20", "0.01"), ("0.06", "20", "0.01"),
                          nominal="40|00")}
    rec = reconcile(kept(journal, ("X-1", "0.09", "0.02", "<b>10|01</b>")), totals)
    assert line_rows(rec) == [{"type": "SI", "currency": "GBP", "nominal": "40|00",
                               "tax code": "T1 (20%)", "documents": 1, "lines": 2,
                               "net": "0.09", "VAT": "0.02", "gross": "0.11"}]
    assert rec.agrees and rec.differences == []         # 0.01 + 0.01 = 0.02: no difference
    rec = reconcile(kept(journal, ("X-2", "0.09", "0.01", "<b>10|01</b>")),
                    {"X-2": totals["X-1"]})
    text = reconciliation_markdown(rec)
    assert text.startswith("**DOES NOT AGREE**")
    assert "| SI | GBP | 40\\|00 | T1 (20%) | 2 | 0.09 | 0.02 |" in text
    assert "- &lt;b&gt;10\\|01&lt;/b&gt; tax: ConnectWise 0.01, Sage 0.02 (**UNEXPLAINED**)" \
        in text
    assert "<b>" not in text
