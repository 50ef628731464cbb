"""The run summary: what needs a person first (held documents by cause, those waiting for
Sage, those unreconciled), then the counts; plurals that read right; Markdown kept inert."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from types import SimpleNamespace

import pytest

from tasks.confirm import Waiting
from tasks.entities import ENTITIES
from tasks.held import HeldGroup, group_held
from tasks.journal import DocRecord, Journal
from tasks.reconcile import Reconciliation
from tasks.report import report_task
from tasks.run_markdown import CAUSES, summary_markdown
from tasks.run_result import PostedBatch, RunCounts

FOX = "set an Account Number on company Angry Fox Cycles Ltd in ConnectWise"
HOSTILE = "[x](javascript:alert(1)) <script> *bold* \r\n# Heading | cell |"


def fox(n: int) -> list[dict]:
    return [{"expectation": "expect_column_values_to_not_be_null", "column": "account_ref",
             "value": None, "reason": f"customer Angry Fox Cycles Ltd has no Account Number, so "
             f"Sage has no account to post invoice {10000 + n} to", "fix": FOX}]


@pytest.fixture
def journal(tmp_path):
    """Invoices 10001-10004 held for one cause, 10005 for another; 10006 loaded."""
    j = Journal(tmp_path / "journal.db")
    j.record_extracted("invoices", "r1", [
        DocRecord(f"CW-INV-{n}", str(n), str(10000 + n), "SI", "ACME01", "GBP", Decimal(10),
                  Decimal(2), Decimal(12), (n,), "h") for n in range(1, 7)])
    j.quarantine("invoices", "r1", {f"CW-INV-{n}": fox(n) for n in range(1, 5)}, "validate")
    j.quarantine("invoices", "r1", {"CW-INV-5": [{"expectation": "resolve",
                                                  "reason": "USD has no exchange rate",
                                                  "fix": "add a USD rate"}]}, "validate")
    j.mark("invoices", "r1", ["CW-INV-6"], "loading")
    j.mark_loaded("invoices", "r1", {"CW-INV-6": "SI 1"})
    yield j
    j.close()


def summary(held, rec=None, batches=(), noun="invoice") -> str:
    moved = RunCounts(unposted=6, loaded=1, quarantined=5,
                      batches=tuple(PostedBatch(b, 1, n, n) for b, n in batches))
    return summary_markdown("invoices", "r1", moved, {"loaded": 1, "quarantined": 5},
                            rec, held, noun)


def waiting(n: int, overdue: bool = False) -> Waiting:
    return Waiting(f"CW-INV-{n}", str(10000 + n), "outbox/f.xml", datetime.now(timezone.utc),
                   timedelta(hours=30 if overdue else 1), overdue)


def test_what_needs_a_person_comes_first_grouped_by_cause(journal):
    held = group_held(journal.quarantined("invoices"))
    text = summary(held, Reconciliation([], [], []))
    assert text.index("## Needs a person") < text.index("## This run")
    needs = text[text.index("## Needs a person"):text.index("## This run")]
    assert "**5 invoices** held back, for 2 causes" in needs
    assert ("1. customer Angry Fox Cycles Ltd has no Account Number, so Sage has no account "
            "to post invoice … to — **4 invoices**: 10001, 10002, 10003, 10004") in needs
    assert f"    - fix: {FOX}" in needs
    assert "2. USD has no exchange rate — **1 invoice**: 10005" in needs
    assert "## Quarantine" not in text and "(s)" not in text


def test_waiting_and_unreconciled_are_counted_among_what_needs_a_person():
    rec = Reconciliation([], [], [], unreconciled=["CW-INV-8"],
                         waiting=[waiting(1), waiting(2, overdue=True)])
    text = summary([], rec)
    needs = text[text.index("## Needs a person"):text.index("## This run")]
    assert "**2 invoices** handed off and waiting for Sage to confirm, **1 overdue**" in needs
    assert "**1 invoice** in Sage with other money than was priced (CW-INV-8)" in needs
    assert "held back" not in needs
    assert "## Waiting for Sage to confirm" in text and "2 invoices handed off" in text


def test_nothing_to_do_says_so_and_plurals_read_right():
    text = summary([], Reconciliation([], [], []),
                   batches=[("CWSAGE-INV-1", 1)])
    assert "Nothing: no document is held back, waiting for Sage or unreconciled." in text
    assert "| posted in ConnectWise | 1 in 1 batch (CWSAGE-INV-1) |" in text
    two = summary([], None, batches=[("B1", 3), ("B2", 2)], noun="record")
    assert "| posted in ConnectWise | 5 in 2 batches (B1, B2) |" in two
    assert "Reconciliation" not in two and "| posted in ConnectWise | none |" in summary([])


def test_many_causes_are_capped_and_the_rest_counted():
    held = [HeldGroup(f"cause {n:02}", "fix", ((f"K{n}", str(n)),)) for n in range(CAUSES + 3)]
    text = summary(held)
    assert f"{CAUSES}. cause {CAUSES - 1:02}" in text and f"cause {CAUSES:02}" not in text
    assert "… and 3 more causes (3 invoices)." in text


def test_held_text_stays_inert():
    text = summary([HeldGroup(HOSTILE, HOSTILE, (("CW-INV-1", HOSTILE),))])
    plain = re.sub(r"\\.", "", text)
    assert "<script>" not in text and "](" not in plain and "\r" not in text
    assert not any(line.startswith("# Heading") for line in text.splitlines())
    assert "| cell |" not in plain


def test_the_report_task_returns_the_groups_it_published(journal, tmp_path):
    run = SimpleNamespace(
        pipeline="invoices", run_id="r1", entity=ENTITIES["invoices"],
        spec=SimpleNamespace(sage=SimpleNamespace(confirm_within=timedelta(hours=24))),
        pipeline_spec=SimpleNamespace(extract=SimpleNamespace(cursor=None),
                                      post=SimpleNamespace(enabled=True)))
    writer = SimpleNamespace(totals=lambda keys: {})
    result = report_task.fn(run, journal, writer, RunCounts(unposted=6))
    assert result.noun == "invoice" and result.counts.unposted == 6
    assert [(g.count, g.fix) for g in result.held] == [(4, FOX), (1, "add a USD rate")]
