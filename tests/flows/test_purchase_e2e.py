"""Expenses, procurement and customers, end to end against the sandbox: every broken case is
quarantined with an actionable message, and flows on the next run once fixed."""

from __future__ import annotations


import pytest

from tasks.keys import document_key

from tests.flows.helpers import CW, replica, run, point_env_at
from sandbox.server import SandboxServer

pytestmark = pytest.mark.slow


@pytest.fixture
def sandbox(monkeypatch):
    server = SandboxServer(host="127.0.0.1", port=0, seed=7, invoices=10, expenses=30,
                           procurement=24, broken_share=0.15)
    server.start()
    point_env_at(monkeypatch, server)
    yield server
    server.stop()


def broken(server, kind: str, prefix: str) -> dict[str, str]:
    return {document_key(prefix, b.id): b.reason for b in server.data.broken_documents()
            if b.kind == kind}


def quarantined(home, pipeline: str) -> set[str]:
    from tasks.journal import Journal
    return set(Journal(home / "journal.db").keys_in(pipeline, "quarantined"))


def balanced(home) -> bool:
    debit, credit = replica(home).execute(
        "SELECT SUM(CAST(ROUND(DEBIT*100) AS INTEGER)), SUM(CAST(ROUND(CREDIT*100) AS INTEGER))"
        " FROM AUDIT_JOURNAL").fetchone()
    return debit == credit


def test_expenses_quarantine_then_fixes_flow(prefect_harness, sandbox, spec, home):
    cw = CW(sandbox)
    first = run(spec, "expenses")
    held = quarantined(home, "expenses")
    assert set(broken(sandbox, "expense_bill", "CW-EXP-")) <= held
    assert first.counts.loaded == 30 - len(held) and first.reconciliation.agrees
    assert cw.get("/finance/accounting/unpostedexpenses/count")["count"] == len(held)
    assert balanced(home)
    headers = replica(home).execute("SELECT COUNT(*), COUNT(DISTINCT EXTERNAL_ID) FROM "
                                    "AUDIT_HEADER WHERE TYPE='PI'").fetchone()
    assert headers == (first.counts.loaded, first.counts.loaded)        # one Sage header per bill
    tom = cw.get("/system/members", conditions='identifier="TReid"')[0]
    assert cw.session.patch(f"{cw.base}/system/members/{tom['id']}", json=[
        {"op": "replace", "path": "vendorNumber", "value": "EMPREIDT"}]).status_code == 200
    spec.write_text(spec.read_text().replace('"7406": "7406"     # subsistence',
                                             '"7406": "7406"\n        "7999": "7400"')
                    .replace("non_reimbursable: hold", "non_reimbursable: employee"))
    second = run(spec, "expenses")
    still = quarantined(home, "expenses")
    assert second.counts.loaded == len(held) - len(still)
    from tasks.journal import Journal
    for doc in Journal(home / "journal.db").quarantined("expenses"):
        assert any("is in EUR" in (r.reason or "") for r in doc.reasons)   # only foreign claims
    assert second.reconciliation.agrees and balanced(home)


def test_procurement_quarantine_then_fixes_flow(prefect_harness, sandbox, spec, home):
    cw = CW(sandbox)
    first = run(spec, "procurement")
    held = quarantined(home, "procurement")
    assert held == set(broken(sandbox, "purchase_transaction", "CW-PO-"))
    assert first.reconciliation.agrees and balanced(home)
    types = dict(replica(home).execute("SELECT TYPE, COUNT(*) FROM AUDIT_HEADER GROUP BY TYPE"))
    assert types.get("PI") and types.get("PC")                  # returns become credits
    cheapo = cw.get("/company/companies", conditions='name="Cheapo Cables Direct"')[0]
    assert cw.session.patch(f"{cw.base}/company/companies/{cheapo['id']}", json=[
        {"op": "replace", "path": "vendorIdentifier", "value": "CHEAPO01"}]).status_code == 200
    spec.write_text(spec.read_text().replace('"5100": "5100"     # carriage',
                                             '"5100": "5100"\n        "5999": "5000"'))
    second = run(spec, "procurement")
    assert second.counts.loaded == len(held) and quarantined(home, "procurement") == set()
    assert cw.get("/finance/accounting/unpostedprocurement/count")["count"] == 0
    assert second.reconciliation.agrees and balanced(home)


def test_customers_are_kept_in_step(prefect_harness, sandbox, spec, home):
    cw = CW(sandbox)
    first = run(spec, "customers")
    assert quarantined(home, "customers") == {"CW-CO-1013"}     # Angry Fox, no Account Number
    db = replica(home)
    count = db.execute("SELECT COUNT(*) FROM SALES_LEDGER").fetchone()[0]
    assert count == first.counts.loaded
    again = run(spec, "customers")
    assert again.counts.unposted == 1 and again.counts.loaded == 0   # the quarantined re-checked
    target = cw.get("/company/companies", conditions="isVendorFlag=false and deletedFlag=false",
                    pageSize=1)[0]
    cw.session.patch(f"{cw.base}/company/companies/{target['id']}", json=[
        {"op": "replace", "path": "name", "value": "Renamed & Co Ltd"}])
    cw.session.patch(f"{cw.base}/company/companies/1013", json=[
        {"op": "replace", "path": "accountNumber", "value": "FOX01"}])
    third = run(spec, "customers")
    assert third.counts.unposted == 2 and third.counts.loaded == 2
    assert db.execute("SELECT COUNT(*) FROM SALES_LEDGER").fetchone()[0] == count + 1
    assert db.execute("SELECT NAME FROM SALES_LEDGER WHERE ACCOUNT_REF=?",
                      (target["accountNumber"].upper(),)).fetchone()[0] == "Renamed & Co Ltd"
