"""PATCH /finance/invoices/{id}: edit an invoice once its batch is deleted, export the new money."""

import json
from decimal import Decimal

import pytest

from sandbox.repricing import RepriceError, reprice
from sandbox.server import SandboxServer
from sandbox.testing import SandboxClient, invoice_gl_ids
from tests.sandbox.handwritten import invoice

BATCHES = "/finance/accounting/batches"
UNPOSTED = "/finance/accounting/unpostedinvoices"


def dec(value) -> Decimal:
    return Decimal(str(value))


@pytest.fixture(scope="module")
def srv():
    with SandboxServer(port=0, invoices=40, expenses=0, procurement=0) as server:
        yield server


@pytest.fixture(scope="module")
def cw(srv):
    return SandboxClient(srv)


def _doc(cw, invoice_id):
    return cw.export(exportInvoicesFlag=True, includedInvoiceIds=[invoice_id])["transactions"][0]


def _edit(cw, invoice_id, *lines):
    return cw.patch(f"/finance/invoices/{invoice_id}", {"lines": list(lines)})


def _pick(cw, test):
    return next(t for t in cw.export(exportInvoicesFlag=True)["transactions"] if test(t))


def assert_consistent(t):
    """The invariants of every exported invoice (see sandbox.invoice_docs, sandbox.repricing)."""
    assert sum(dec(d["total"]) for d in t["detail"]) + dec(t["total"]) == 0
    sign = 1 if t["documentType"] == "CREDITMEMO" else -1
    lines = [d for d in t["detail"] if d["glTypeId"] == "RP"]
    for d in lines:
        assert dec(d["total"]) == (dec(d["quantity"]) * dec(d["itemPrice"])).quantize(dec("0.01"))
        assert dec(d["total"]) * sign >= 0 and dec(d["itemPrice"]) >= 0
    taxable = -sum(dec(d["total"]) for d in lines if d["taxCodeXref"] == "T1")
    vat = (abs(taxable) * dec("0.2")).quantize(dec("0.01"), "ROUND_HALF_UP").copy_sign(
        taxable if taxable else 1)
    taxes = [d for d in t["detail"] if d["glTypeId"] == "ST"]
    assert [dec(d["total"]) for d in taxes] == ([-vat] if vat else [])
    assert dec(t["taxableTotal"]) == dec(t["taxableAmount1"]) == taxable
    assert dec(t["salesTax"]) == dec(t["stateTax"]) == vat
    assert (dec(t["taxLevels"][0]["taxableAmount"]), dec(t["taxLevels"][0]["taxAmount"])) == \
        (taxable, vat)


def test_posted_invoices_are_refused_and_editable_once_the_batch_is_deleted(cw):
    before = _doc(cw, 5001)
    batch = cw.post(BATCHES, {"batchIdentifier": "EDIT-1", "exportInvoicesFlag": True,
                              "processedRecordIds": invoice_gl_ids(before)}).json()
    refused = _edit(cw, 5001, {"index": 0, "itemPrice": 240.00})
    assert refused.status_code == 400
    body = refused.json()
    assert (body["code"], body["message"]) == ("InvalidObject", "invoice object is invalid")
    error = body["errors"][0]
    assert (error["resource"], error["field"]) == ("invoice", "glBatch")
    assert f"posted in batch {batch['id']} 'EDIT-1'" in error["message"]
    assert f"DELETE /finance/accounting/batches/{batch['id']}" in error["message"]
    assert cw.get("/finance/invoices/5001").json()["glBatch"] == {"id": batch["id"],
                                                                   "name": "EDIT-1"}
    assert cw.delete(f"{BATCHES}/{batch['id']}").status_code == 204

    answer = _edit(cw, 5001, {"index": 0, "itemPrice": 240.00})
    assert answer.status_code == 200, answer.text
    after = _doc(cw, 5001)
    first = after["detail"][0]
    assert (first["itemPrice"], dec(first["total"])) == (240.0, -240 * abs(dec(first["quantity"])))
    assert_consistent(after)
    assert invoice_gl_ids(after) == invoice_gl_ids(before)
    assert dec(after["total"]) != dec(before["total"])
    assert answer.json()["total"] == after["total"] and answer.json()["glBatch"] is None
    again = cw.post(BATCHES, {"batchIdentifier": "EDIT-2", "exportInvoicesFlag": True,
                              "processedRecordIds": invoice_gl_ids(after)})
    assert again.status_code == 201
    entries = cw.get(f"{BATCHES}/{again.json()['id']}/entries").json()
    assert round(sum(e["debit"] - e["credit"] for e in entries), 2) == 0
    assert max(e["debit"] for e in entries) == after["total"]
    cw.delete(f"{BATCHES}/{again.json()['id']}")


def test_quantity_total_and_id_edits_keep_every_invariant(cw):
    doc = _pick(cw, lambda t: t["documentType"] == "INVOICE" and len(t["detail"]) >= 4
                and 5003 <= t["id"] <= 5010)
    lines = [d for d in doc["detail"] if d["glTypeId"] == "RP"]
    response = _edit(cw, doc["id"], {"index": 0, "quantity": 3},
                     {"id": lines[1]["id"], "total": 90.00})
    assert response.status_code == 200, response.text
    after = _doc(cw, doc["id"])
    assert after["detail"][0]["quantity"] == -3
    assert dec(after["detail"][0]["total"]) == -3 * dec(lines[0]["itemPrice"])
    assert dec(after["detail"][1]["total"]) == dec("-90.00")
    assert_consistent(after)
    row = cw.get(f"{UNPOSTED}/{doc['id']}").json()
    assert (row["total"], row["salesTaxAmount"]) == (after["total"], after["salesTax"])
    assert row["_info"]["lastUpdated"] > row["dateClosed"]
    found = cw.get(UNPOSTED, conditions=f"lastUpdated >= [{row['_info']['lastUpdated']}]",
                   fields="id").json()
    assert {"id": doc["id"]} in found
    assert cw.get(UNPOSTED + "/count", conditions=f"total = {after['total']}").json()["count"] >= 1


def test_credit_memos_keep_their_signs(cw):
    memo = _pick(cw, lambda t: t["documentType"] == "CREDITMEMO")
    assert _edit(cw, memo["id"], {"index": 0, "itemPrice": 240.00}).status_code == 200
    after = _doc(cw, memo["id"])
    assert after["detail"][0]["itemPrice"] == 240.0 and dec(after["detail"][0]["total"]) > 0
    assert dec(after["total"]) < 0
    assert_consistent(after)


def test_vat_line_goes_when_no_vat_is_due_and_comes_back_with_its_id(cw):
    doc = _pick(cw, lambda t: t["documentType"] == "INVOICE" and t["id"] > 5010
                and any(d["glTypeId"] == "ST" for d in t["detail"]))
    tax_id = next(d["id"] for d in doc["detail"] if d["glTypeId"] == "ST")
    taxed = [d for d in doc["detail"] if d["glTypeId"] == "RP" and d["taxCodeXref"] == "T1"]
    assert _edit(cw, doc["id"], *[{"id": d["id"], "itemPrice": 0} for d in taxed]).ok
    free = _doc(cw, doc["id"])
    assert all(d["glTypeId"] != "ST" for d in free["detail"]) and free["salesTax"] == 0
    assert_consistent(free)
    assert _edit(cw, doc["id"], {"id": taxed[0]["id"], "itemPrice": 10.00}).ok
    back = _doc(cw, doc["id"])
    assert [d["id"] for d in back["detail"] if d["glTypeId"] == "ST"] == [tax_id]
    assert_consistent(back)


def test_bad_edits_are_400_with_every_problem(cw):
    doc = _doc(cw, 5002)
    tax = next((n for n, d in enumerate(doc["detail"]) if d["glTypeId"] == "ST"), None)
    response = _edit(cw, 5002, {"index": 99, "total": -3}, {"id": 5, "quantity": 0},
                     {"index": 0}, {"index": 0, "itemPrice": 1, "total": 2}, "x",
                     {"index": 0, "quantity": 1, "itemPrice": 1.234})
    assert response.status_code == 400
    errors = {e["field"]: e["message"] for e in response.json()["errors"]}
    assert "is not a line of invoice 5002" in errors["lines[0].index"]
    assert "unsigned as on the invoice" in errors["lines[0].total"]
    assert "has no line with GL entry id 5" in errors["lines[1].id"]
    assert "quantity must be a number above 0" in errors["lines[1].quantity"]
    assert errors["lines[2]"] == "give quantity, itemPrice or total"
    assert errors["lines[3]"] == "give itemPrice or total, not both"
    assert "a line is an object" in errors["lines[4]"]
    assert "at most 2 decimals" in errors["lines[5].itemPrice"]
    if tax is not None:
        st = _edit(cw, 5002, {"index": tax, "itemPrice": 1}).json()["errors"][0]
        assert "sales-tax (ST) line" in st["message"]
    uneven = _edit(cw, 5002, {"index": 0, "quantity": 3, "total": 100.00}).json()["errors"][0]
    assert "not a whole number of pence per unit" in uneven["message"]
    for body in ({"lines": []}, [{"index": 0}], {"lines": [{"index": 0, "total": 1}], "x": 1}):
        bad = cw.patch("/finance/invoices/5002", body)
        assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "lines"
    assert cw.request("PATCH", "/finance/invoices/5002", data=b"{").status_code == 400
    assert _edit(cw, 99999, {"index": 0, "total": 1}).status_code == 404
    assert cw.get("/finance/invoices/99999").status_code == 404
    assert _doc(cw, 5002) == doc


def test_edits_survive_a_restart_from_state(tmp_path):
    state = tmp_path / "state.json"
    with SandboxServer(port=0, invoices=10, expenses=0, procurement=0,
                       state_file=state) as first:
        cw = SandboxClient(first)
        assert _edit(cw, 5003, {"index": 0, "itemPrice": 240.00}).ok
        edited = _doc(cw, 5003)
    saved = json.loads(state.read_text())["edits"]["invoice"]["5003"]["lines"]
    assert saved == {str(edited["detail"][0]["id"]): {
        "quantity": format(abs(dec(edited["detail"][0]["quantity"])).normalize(), "f"),
        "itemPrice": "240.00"}}
    with SandboxServer(port=0, invoices=10, expenses=0, procurement=0,
                       state_file=state) as second:
        cw = SandboxClient(second)
        assert _doc(cw, 5003) == edited
        assert cw.get(f"{UNPOSTED}/5003").json()["total"] == edited["total"]


def test_reprice_gives_a_zero_vat_invoice_its_tax_line_on_the_spare_id():
    doc = invoice(with_tax_line=False)
    doc["detail"][0]["taxCodeXref"] = "T1"
    lines = {str(doc["detail"][0]["id"]): {"quantity": "2", "itemPrice": "60.00"}}
    with pytest.raises(RepriceError, match="no sales-tax"):
        reprice(doc, lines, None)
    priced = reprice(doc, lines, 1003)
    assert [(d["id"], d["glTypeId"], d["total"]) for d in priced["detail"]] == \
        [(1002, "RP", -120.0), (1003, "ST", -24.0)]
    assert_consistent(priced)
