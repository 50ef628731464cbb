"""Expense bills and purchase transactions: lists, export shapes, conventions and posting."""

from decimal import Decimal

import pytest

from sandbox.server import SandboxServer
from sandbox.testing import SandboxClient, expense_bill_gl_ids, purchase_gl_ids

EXPENSES = "/finance/accounting/unpostedexpenses"
PROCUREMENT = "/finance/accounting/unpostedprocurement"
BATCHES = "/finance/accounting/batches"


def dec(value) -> Decimal:
    return Decimal(str(value))


@pytest.fixture(scope="module")
def srv():
    with SandboxServer(port=0, invoices=40, expenses=120, procurement=100) as server:
        yield server


@pytest.fixture(scope="module")
def cw(srv):
    return SandboxClient(srv)


@pytest.fixture(scope="module")
def expenses(cw):
    return cw.export(exportExpensesFlag=True)


@pytest.fixture(scope="module")
def purchases(cw):
    return cw.export(exportProductsFlag=True)


def test_unposted_lists_have_one_row_per_document(cw, expenses, purchases):
    bills = list(cw.all_pages(EXPENSES, pageSize=50))
    assert [b["id"] for b in bills] == [b["id"] for b in expenses["expenseBills"]]
    assert cw.get(EXPENSES + "/count").json() == {"count": 120}
    rows = list(cw.all_pages(PROCUREMENT, pageSize=30))
    assert len(rows) == 100 == cw.get(PROCUREMENT + "/count").json()["count"]
    assert all(isinstance(r["unpostedProductId"], str) and isinstance(r["id"], int) for r in rows)
    assert cw.get(f"{PROCUREMENT}/{rows[3]['id']}").json() == rows[3]
    assert cw.get(f"{EXPENSES}/{bills[2]['id']}").json() == bills[2]
    eur = cw.get(EXPENSES + "/count", conditions='currency/currencyCode = "EUR"').json()["count"]
    assert 0 < eur < 120


def test_expense_bill_shape(expenses):
    for bill in expenses["expenseBills"]:
        assert isinstance(bill["id"], int) and bill["documentType"] == "GENERAL JOURNAL"
        assert bill["documentNumber"].endswith(bill["member"]["identifier"].upper())
        assert bill["memo"].startswith("Expenses for 2026-") and bill["apAccountNumber"] == "2100"
        assert dec(bill["total"]) == sum(dec(d["total"]) for d in bill["detail"]) > 0
        for detail in bill["detail"]:
            assert isinstance(detail["id"], list) and all(isinstance(i, int) for i in detail["id"])
            assert detail["glTypeId"] == "EE" and dec(detail["total"]) > 0
            assert detail["memo"] in ("Mileage", "Hotel", "Subsistence", "Rail")
            assert {"billable", "reimbursable", "companyAdvance", "company"} <= detail.keys()
            assert detail["currency"] == bill["currency"]


def test_expense_tax_conventions(expenses):
    details = [d for b in expenses["expenseBills"] for d in b["detail"]]
    for d in details:
        if d["taxCodeXref"] == "T1":
            gross = dec(d["total"])
            assert dec(d["taxAmount"]) == (gross / 6).quantize(Decimal("0.01"), "ROUND_HALF_UP")
        else:
            assert d["taxAmount"] == 0
    mileage = [d for d in details if d["memo"] == "Mileage"]
    assert mileage and all(d["taxCodeXref"] == "T0" and d["accountNumber"] in ("7400", "7999")
                           for d in mileage)
    hotels = [d for d in details if d["memo"] == "Hotel" and d["currency"]["currencyCode"] == "GBP"]
    assert hotels and all(d["taxCodeXref"] == "T1" for d in hotels)
    eur = [d for d in details if d["currency"]["currencyCode"] == "EUR"]
    assert eur and all(d["taxCodeXref"] == "T9" for d in eur)
    assert any(not d["reimbursable"] for d in details)
    assert any(d["companyAdvance"] for d in details)


def test_expense_vendors_are_the_members(expenses, cw):
    members = {b["member"]["id"] for b in expenses["expenseBills"]}
    assert sorted(v["member"]["id"] for v in expenses["vendors"]) == sorted(members)
    assert any(v["vendorNumber"] == "" for v in expenses["vendors"])
    member = cw.get(f"/system/members/{expenses['vendors'][0]['member']['id']}").json()
    assert {"id", "identifier", "firstName", "lastName", "vendorNumber", "officeEmail",
            "inactiveFlag"} <= member.keys()
    assert cw.get("/system/members/count").json()["count"] >= len(members)


def test_purchase_transaction_shape(purchases):
    for p in purchases["purchaseTransactions"]:
        assert isinstance(p["id"], str) and p["id"].startswith("PO #")
        assert p["apAccountNumber"] == "2100"
        lines = p["purchaseDetail"]
        total = sum(dec(d["total"]) for d in lines + p["purchaseDetailTax"])
        assert total + dec(p["total"]) == 0
        sign = -1 if dec(p["total"]) > 0 else 1
        for d in lines:
            assert isinstance(d["id"], int) and d["quantity"] * sign > 0
            if d["accountNumber"] == "5100":
                assert d["glItemId"] == "" and "item" not in d
            else:
                assert d["item"]["identifier"] == d["glItemId"]
                assert dec(d["total"]) == dec(d["quantity"]) * dec(d["itemCost"])
        freight = [d for d in lines if d["accountNumber"] == "5100"]
        assert sum(sign * dec(d["total"]) for d in freight) == dec(p["freightAmount"])
        for tax in p["purchaseDetailTax"]:
            assert tax["accountNumber"] == "2201"
            net = sum(-dec(d["total"]) for d in lines)
            assert -dec(tax["total"]) == (net * Decimal("0.2")).quantize(Decimal("0.01"),
                                                                         "ROUND_HALF_UP")


def test_purchase_variety(purchases):
    docs = purchases["purchaseTransactions"]
    assert any(p["vendorInvoiceNumber"] == "" for p in docs)
    assert any(dec(p["total"]) < 0 for p in docs)
    assert any(p["freightAmount"] for p in docs)
    assert any(p["currency"]["currencyCode"] == "USD" and not p["purchaseDetailTax"] for p in docs)
    vendors = {v["vendor"]["id"]: v for v in purchases["vendors"]}
    assert sorted(vendors) == sorted({p["company"]["id"] for p in docs})
    assert any(v["accountNumber"] == "" for v in vendors.values())


def test_broken_expenses_and_purchases(srv, expenses, purchases):
    broken = [b for b in srv.data.broken_documents() if b.kind != "invoice"]
    bills = {b["id"]: b for b in expenses["expenseBills"]}
    docs = {p["id"]: p for p in purchases["purchaseTransactions"]}
    reasons = {(b.kind, b.reason) for b in broken}
    assert reasons == {("expense_bill", "missing_vendor_number"),
                       ("expense_bill", "unmapped_gl_account"),
                       ("purchase_transaction", "missing_vendor_account"),
                       ("purchase_transaction", "unmapped_gl_account")}
    for b in broken:
        if b.reason == "missing_vendor_number":
            assert bills[b.id]["vendorNumber"] == ""
        elif b.kind == "expense_bill":
            assert "7999" in {d["accountNumber"] for d in bills[b.id]["detail"]}
        elif b.reason == "missing_vendor_account":
            assert docs[b.id]["vendorAccountNumber"] == ""
        else:
            assert "5999" in {d["accountNumber"] for d in docs[b.id]["purchaseDetail"]}
    clean = [p for p in docs.values() if p["id"] not in {b.id for b in broken}]
    assert all({d["accountNumber"] for d in p["purchaseDetail"]} <= {"5000", "5100"}
               for p in clean)


def test_included_ids(cw, expenses):
    bill_ids = [b["id"] for b in expenses["expenseBills"]][3:6]
    some = cw.export(exportExpensesFlag=True, includedExpenseIds=bill_ids)
    assert [b["id"] for b in some["expenseBills"]] == bill_ids
    rows = cw.get(PROCUREMENT, pageSize=3, fields="unpostedProductId").json()
    picked = cw.export(exportProductsFlag=True,
                       includedProductIds=[r["unpostedProductId"] for r in rows])
    assert len(picked["purchaseTransactions"]) == 3
    wrong = cw.post("/finance/accounting/export", {"exportProductsFlag": True,
                                                    "includedProductIds": [40001]})
    assert wrong.status_code == 400


def test_posting_expenses_and_purchases(srv):
    with SandboxServer(port=0, invoices=10, expenses=10, procurement=10) as small:
        cw = SandboxClient(small)
        bill = cw.export(exportExpensesFlag=True)["expenseBills"][0]
        ids = expense_bill_gl_ids(bill)
        wrong_flag = cw.post(BATCHES, {"exportInvoicesFlag": True, "processedRecordIds": ids})
        assert wrong_flag.status_code == 400
        assert wrong_flag.json()["errors"][0]["field"] == "exportExpensesFlag"
        partial = cw.post(BATCHES, {"exportExpensesFlag": True, "processedRecordIds": ids[1:]})
        assert "partial" in partial.json()["errors"][0]["message"]
        ok = cw.post(BATCHES, {"exportExpensesFlag": True, "processedRecordIds": ids,
                               "batchIdentifier": "SAGE-EXP-1"})
        assert ok.status_code == 201 and ok.json()["exportExpensesFlag"]
        assert cw.get(EXPENSES + "/count").json() == {"count": 9}
        purchase = cw.export(exportProductsFlag=True)["purchaseTransactions"][0]
        ok = cw.post(BATCHES, {"exportProductsFlag": True, "batchIdentifier": "SAGE-PO-1",
                               "processedRecordIds": purchase_gl_ids(purchase)})
        assert ok.status_code == 201
        assert cw.get(PROCUREMENT + "/count").json() == {"count": 9}
        entries = cw.get(f"{BATCHES}/1/entries").json()
        assert round(sum(e["debit"] - e["credit"] for e in entries), 2) == 0


def test_patching_a_member_fixes_the_vendor_number(srv):
    with SandboxServer(port=0, invoices=10, expenses=30, procurement=0) as small:
        cw = SandboxClient(small)
        broken = [b for b in small.data.broken_documents() if b.reason == "missing_vendor_number"]
        bill = cw.export(exportExpensesFlag=True, includedExpenseIds=[broken[0].id])
        member = bill["expenseBills"][0]["member"]["id"]
        response = cw.patch(f"/system/members/{member}", [{"op": "replace",
                            "path": "vendorNumber", "value": "EMPREIDT"}])
        assert response.status_code == 200
        again = cw.export(exportExpensesFlag=True, includedExpenseIds=[broken[0].id])
        assert again["expenseBills"][0]["vendorNumber"] == "EMPREIDT"
        assert again["vendors"][0]["vendorNumber"] == "EMPREIDT"


def test_mixed_export_has_every_section(cw):
    everything = cw.export(exportInvoicesFlag=True, exportExpensesFlag=True,
                           exportProductsFlag=True)
    assert len(everything["transactions"]) == 40
    assert len(everything["expenseBills"]) == 120
    assert len(everything["purchaseTransactions"]) == 100
    assert any("member" in v for v in everything["vendors"])
    assert any("vendor" in v for v in everything["vendors"])
