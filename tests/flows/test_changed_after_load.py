"""An invoice loaded and batched, un-batched in ConnectWise, edited and exported again is held
— Sage still holds the first version — and never batched as if nothing had changed. Restored
in ConnectWise, it is batched once, and Sage never holds it twice."""

from __future__ import annotations

import json
import sqlite3

import pytest

from tests.flows.helpers import CW, replica, run

pytestmark = pytest.mark.slow


def _state(home, key: str) -> tuple[str, list]:
    row = sqlite3.connect(home / "journal.db").execute(
        "SELECT state, reasons FROM documents WHERE key=?", (key,)).fetchone()
    return row[0], json.loads(row[1] or "[]")


def _sage(home, key: str) -> list[tuple]:
    return replica(home).execute("SELECT INVOICE_NET, INVOICE_TAX FROM INVOICE WHERE "
                                 "EXTERNAL_ID=?", (key,)).fetchall()


def test_an_invoice_edited_after_it_was_loaded_is_held_until_restored(
        prefect_harness, sandbox, spec, home):
    cw = CW(sandbox)
    first = run(spec)
    assert first.counts.loaded > 0 and first.reconciliation.agrees
    held_before = cw.unposted()
    key = sqlite3.connect(home / "journal.db").execute(
        "SELECT key FROM documents WHERE state='posted' AND currency='GBP' AND doc_type='SI' "
        "ORDER BY key LIMIT 1").fetchone()[0]
    invoice_id = int(key.removeprefix("CW-INV-"))
    in_sage = _sage(home, key)
    for batch in cw.batches():                               # un-batch everything
        cw.send("DELETE", f"/finance/accounting/batches/{batch['id']}")
    line = next(d for d in cw.send("POST", "/finance/accounting/export", {
        "exportInvoicesFlag": True, "exportExpensesFlag": False, "exportProductsFlag": False,
        "batchIdentifier": "LOOK", "includedInvoiceIds": [invoice_id]})["transactions"][0][
        "detail"] if d["glTypeId"] != "ST")
    price = abs(line["itemPrice"])
    cw.send("PATCH", f"/finance/invoices/{invoice_id}", {"lines": [
        {"id": line["id"], "itemPrice": round(price * 2, 2)}]})

    second = run(spec)
    state, reasons = _state(home, key)
    assert state == "quarantined"
    assert any("changed in ConnectWise after it was loaded" in r["reason"] for r in reasons)
    assert all(r["fix"] for r in reasons)
    assert _sage(home, key) == in_sage                       # Sage still holds the first one
    assert cw.unposted() == held_before + 1                  # the others were batched again
    assert second.reconciliation.agrees

    cw.send("PATCH", f"/finance/invoices/{invoice_id}", {"lines": [
        {"id": line["id"], "itemPrice": price}]})            # restored as it was loaded
    run(spec)
    assert _state(home, key)[0] == "posted"
    assert cw.unposted() == held_before
    assert _sage(home, key) == in_sage                       # once, with the same money
