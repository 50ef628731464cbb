"""A document kind declared in pipelines.yaml, end to end: the real ``agreement_invoices``
pipeline (no Python of its own) against the sandbox serving its fixture at
/finance/invoices over loopback HTTP, through the same resolve → gate → view → canonical
XML → XSLT → writer path as the built-in kinds, into the SQLite replica."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from flows.spec import load_spec
from sandbox.server import SandboxServer
from tasks.journal import Journal
from tests.flows.helpers import CW, point_env_at, replica, run

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
PIPELINE = "agreement_invoices"
FIXTURE = ROOT / "tests" / "fixtures" / f"{PIPELINE}.json"
HELD = {"CW-AGR-4604": "ConnectWise tax code 'RC20', which has no Sage tax code",
        "CW-AGR-4606": "has no account number"}


@pytest.fixture
def agreements(monkeypatch, spec):
    endpoint = load_spec(spec, need_connection=False).pipeline(PIPELINE).extract.kind.source
    server = SandboxServer(host="127.0.0.1", port=0, seed=11, invoices=5,
                           fixtures={endpoint.endpoint: FIXTURE})
    server.start()
    point_env_at(monkeypatch, server)
    yield server, endpoint
    server.stop()


def _pennies(value) -> str:
    return f"{Decimal(str(value)):.2f}"


def _in_sage(db) -> dict[str, tuple]:
    rows = db.execute("SELECT EXTERNAL_ID, TYPE, ACCOUNT_REF, NET_AMOUNT, TAX_AMOUNT, "
                      "GROSS_AMOUNT FROM AUDIT_HEADER WHERE EXTERNAL_ID LIKE 'CW-AGR-%'")
    return {key: (kind, account, _pennies(net), _pennies(tax), _pennies(gross))
            for key, kind, account, net, tax, gross in rows}


def _whole_replica(db) -> list:
    return [db.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()
            for table in ("AUDIT_HEADER", "AUDIT_SPLIT", "AUDIT_JOURNAL", "SALES_LEDGER")]


def test_declared_kind_loads_connectwise_money_exactly_and_once(prefect_harness, agreements,
                                                                spec, home):
    server, source = agreements
    cw = CW(server)
    selected = cw.get(source.endpoint, conditions=source.conditions, pageSize=1000)
    saved = json.loads(FIXTURE.read_text(), parse_float=Decimal)["records"]
    records = {f"CW-AGR-{r['id']}": r for r in saved}
    assert len(selected) < len(records)          # the kind's conditions leave some out
    chosen = {f"CW-AGR-{r['id']}" for r in selected}
    assert set(HELD) < chosen

    first = run(spec, PIPELINE)
    counts = first.counts
    assert counts.unposted == len(chosen)
    assert counts.loaded == len(chosen) - len(HELD) and counts.quarantined == len(HELD)
    assert counts.rejected == 0 and counts.batches == ()
    assert counts.priced == len(chosen) - len(HELD)         # through the money gate
    assert first.reconciliation.agrees

    db = replica(home)
    expected = {key: ("SC" if r["total"] < 0 else "SI", r["accountNumber"],
                      _pennies(abs(r["subtotal"])), _pennies(abs(r["salesTax"])),
                      _pennies(abs(r["total"])))
                for key, r in records.items() if key in chosen - set(HELD)}
    assert _in_sage(db) == expected
    assert expected["CW-AGR-4603"][0] == "SC"    # the credit memo is a Sage credit
    debit, credit = db.execute("SELECT SUM(DEBIT), SUM(CREDIT) FROM AUDIT_JOURNAL").fetchone()
    assert round(debit, 2) == round(credit, 2)
    assert cw.batches() == []                    # post_back: false — never batched back

    journal = Journal(home / "journal.db")
    assert set(journal.keys_in(PIPELINE, "loaded")) == set(expected)
    held = {d.key: [r.as_dict() for r in d.reasons]
            for d in journal.documents(PIPELINE, states=["quarantined"])}
    assert set(held) == set(HELD)
    for key, words in HELD.items():
        assert any(words in r["reason"] for r in held[key]), held[key]
    [tax] = [r for r in held["CW-AGR-4604"] if "RC20" in r["reason"]]
    assert "RC20: <Sage tax code number>" in tax["fix"]
    assert f"pipelines.{PIPELINE}.mappings.tax_codes" in tax["fix"]

    before = _whole_replica(db)
    again = run(spec, PIPELINE)
    second = again.counts
    assert second.loaded == 0 and second.already_present == len(expected)
    assert second.quarantined == len(HELD) and second.batches == ()
    assert again.reconciliation.agrees
    assert _whole_replica(db) == before
    assert cw.batches() == []
    assert set(journal.keys_in(PIPELINE, "loaded")) == set(expected)
