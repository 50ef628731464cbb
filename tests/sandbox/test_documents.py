"""--documents: hand-written documents served, exported, batched and unbatched like seeded ones."""

import json
import re

import pytest

from sandbox.fixtures import DocumentsError
from sandbox.server import SandboxServer, main
from sandbox.state import StateError
from sandbox.testing import SandboxClient, expense_bill_gl_ids, invoice_gl_ids, purchase_gl_ids
from tests.sandbox.handwritten import ACME, NORTHWIND, bill, documents, invoice, purchase

ACCOUNTING = "/finance/accounting"
BATCHES = f"{ACCOUNTING}/batches"
LISTS = {"invoice": f"{ACCOUNTING}/unpostedinvoices", "expense": f"{ACCOUNTING}/unpostedexpenses",
         "procurement": f"{ACCOUNTING}/unpostedprocurement"}
SEEDED = {"invoices": 6, "expenses": 3, "procurement": 3}


@pytest.fixture(scope="module")
def srv():
    with SandboxServer(port=0, **SEEDED, documents=documents()) as server:
        yield server


@pytest.fixture(scope="module")
def cw(srv):
    return SandboxClient(srv)


def _count(cw, kind, **params):
    return cw.get(LISTS[kind] + "/count", **params).json()["count"]


def test_documents_are_listed_after_the_seeded_ones(cw):
    rows = list(cw.all_pages(LISTS["invoice"], pageSize=4))
    assert [r["id"] for r in rows] == [5001, 5002, 5003, 5004, 5005, 5006, 9001, 9002, 9003]
    assert set(rows[-1]) == set(rows[0])
    first, memo = rows[6], rows[8]
    assert (first["total"], first["subTotal"], first["salesTaxAmount"]) == (144.0, 120.0, 24.0)
    assert (memo["total"], memo["invoiceType"]) == (-36.0, "CreditMemo")
    assert (first["locationId"], first["invoiceNumber"], first["company"]) == \
        (2, "HW-9001", NORTHWIND)
    assert _count(cw, "invoice") == 9
    assert _count(cw, "invoice", conditions='company/name contains "northwind"') == 2
    assert [r["id"] for r in cw.get(LISTS["invoice"], conditions="id >= 9000 and total > 0",
                                    orderBy="total desc", fields="id").json()] == [9001, 9002]
    forward = cw.request("GET", LISTS["invoice"], params={"pageSize": 2, "pageId": 5006},
                         headers={"pagination-type": "forward-only"}).json()
    assert [r["id"] for r in forward] == [9001, 9002]
    assert cw.get(f"{LISTS['invoice']}/9002").json() == rows[7]
    bills = list(cw.all_pages(LISTS["expense"]))
    assert [b["id"] for b in bills][-2:] == [2000, 2010] and set(bills[-1]) == set(bills[0])
    assert (bills[-2]["total"], bills[-2]["billableAmount"], bills[-2]["salesTaxAmount"]) == \
        (60.0, 60.0, 10.0)
    purchases = list(cw.all_pages(LISTS["procurement"]))
    assert [p["id"] for p in purchases] == [40001, 40002, 40003, 40004]
    assert set(purchases[-1]) == set(purchases[0])
    assert (purchases[-1]["unpostedProductId"], purchases[-1]["purchaseOrder"],
            purchases[-1]["total"], purchases[-1]["taxTotal"]) == \
        ("40004", {"id": 9001, "name": "9001"}, 120.0, 20.0)


def test_documents_are_exported_as_written_with_their_parties(cw):
    written = documents()
    export = cw.export(exportInvoicesFlag=True, includedInvoiceIds=[9001, 9002, 5001])
    assert [t["id"] for t in export["transactions"]] == [5001, 9001, 9002]
    assert export["transactions"][1:] == written["transactions"][:2]
    customers = {c["company"]["id"]: c for c in export["customers"]}
    assert sorted(customers) == [c["company"]["id"] for c in export["customers"]]
    assert customers[9901]["company"] == NORTHWIND and customers[9901]["accountNumber"] == ""
    assert customers[1001]["accountNumber"]              # the seeded client's own entry
    leeds = cw.export(exportInvoicesFlag=True, locationId=2, thruDate="2026-10-15T23:59:59Z")
    assert {9001, 9002, 9003} <= {t["id"] for t in leeds["transactions"]}
    early = cw.export(exportInvoicesFlag=True, thruDate="2026-10-14T23:59:59Z")
    assert not {9001, 9002, 9003} & {t["id"] for t in early["transactions"]}
    bills = cw.export(exportExpensesFlag=True, includedExpenseIds=[2000, 2010])
    assert bills["expenseBills"] == written["expenseBills"]
    assert [v["member"]["id"] for v in bills["vendors"]] == [101, 901]
    assert bills["vendors"][1]["vendorNumber"] == "EMPDOEJ"
    picked = cw.export(exportProductsFlag=True, includedProductIds=["40004"])
    assert picked["purchaseTransactions"] == written["purchaseTransactions"]
    assert picked["vendors"][0]["vendor"] == ACME and picked["vendors"][0]["accountNumber"] \
        == "ACME01"


def test_companies_are_served_and_patches_reach_the_documents():
    with SandboxServer(port=0, **SEEDED, documents=documents()) as own:
        cw = SandboxClient(own)
        northwind = cw.get("/company/companies/9901").json()
        assert (northwind["addressLine1"], northwind["accountNumber"], northwind["types"]) == \
            ("1 Quay St", "", [{"id": 1, "name": "Client"}])
        assert set(northwind) == set(cw.get("/company/companies/1001").json())
        acme = cw.get("/company/companies", conditions="id in (9801, 9901)").json()
        assert [(c["id"], c["vendorIdentifier"]) for c in acme] == [(9801, "ACME01"), (9901, "")]
        assert cw.patch("/company/companies/9901", [{"op": "replace", "path": "accountNumber",
                                                     "value": "NORTHW01"}]).ok
        export = cw.export(exportInvoicesFlag=True, includedInvoiceIds=[9001])
        assert export["transactions"][0]["companyAccountNumber"] == "NORTHW01"
        assert export["customers"][0]["accountNumber"] == "NORTHW01"
        assert cw.get(f"{LISTS['invoice']}/9001").json()["accountNumber"] == "NORTHW01"


def _batch(cw, flag, ids, name):
    return cw.post(BATCHES, {"batchIdentifier": name, flag: True, "processedRecordIds": ids})


@pytest.mark.parametrize("kind, flag, section, gl_ids, row_id", [
    ("invoice", "exportInvoicesFlag", "transactions", invoice_gl_ids, 9002),
    ("expense", "exportExpensesFlag", "expenseBills", expense_bill_gl_ids, 2000),
    ("procurement", "exportProductsFlag", "purchaseTransactions", purchase_gl_ids, 40004)])
def test_batching_posts_them_and_deleting_the_batch_brings_them_back(cw, kind, flag, section,
                                                                     gl_ids, row_id):
    doc = next(d for d in cw.export(**{flag: True})[section]
               if d["id"] in (9002, 2000, "PO #9001, Packing Slip: 9001"))
    before = _count(cw, kind)
    ids = gl_ids(doc)
    partial = _batch(cw, flag, ids[1:], f"HW-{kind}-0")
    assert partial.status_code == 400 and "partial GL entry set" in partial.text
    batch = _batch(cw, flag, ids, f"HW-{kind}-1")
    assert batch.status_code == 201, batch.text
    assert _count(cw, kind) == before - 1
    assert cw.get(f"{LISTS[kind]}/{row_id}").status_code == 404
    assert doc not in cw.export(**{flag: True})[section]
    again = cw.post(f"{BATCHES}/{batch.json()['id']}/export", {flag: True})
    assert again.json()[section] == [doc]
    entries = cw.get(f"{BATCHES}/{batch.json()['id']}/entries").json()
    assert sorted(e["id"] for e in entries) == sorted(ids)
    if kind != "procurement":        # a purchase has no AP entry of its own to balance it
        assert round(sum(e["debit"] - e["credit"] for e in entries), 2) == 0
    posted = _batch(cw, flag, ids, f"HW-{kind}-2").json()["errors"][0]
    assert posted["code"] == "ObjectExists"
    assert cw.delete(f"{BATCHES}/{batch.json()['id']}").status_code == 204
    assert _count(cw, kind) == before
    assert doc in cw.export(**{flag: True})[section]


def test_handwritten_invoices_can_be_edited_after_unbatching(cw):
    doc = cw.export(exportInvoicesFlag=True, includedInvoiceIds=[9003])["transactions"][0]
    batch = _batch(cw, "exportInvoicesFlag", invoice_gl_ids(doc), "HW-EDIT").json()
    assert cw.patch("/finance/invoices/9003", {"lines": [{"index": 0, "total": 60}]}) \
        .status_code == 400
    cw.delete(f"{BATCHES}/{batch['id']}")
    assert cw.patch("/finance/invoices/9003", {"lines": [{"index": 0, "total": 60}]}).ok
    after = cw.export(exportInvoicesFlag=True, includedInvoiceIds=[9003])["transactions"][0]
    assert [d["total"] for d in after["detail"]] == [60.0, 12.0] and after["total"] == -72.0
    assert invoice_gl_ids(after) == invoice_gl_ids(doc)


def test_an_edit_needing_a_tax_line_the_document_lacks_is_refused():
    untaxed, taxed = invoice(with_tax_line=False), invoice(9002, gl=1010, with_tax_line=False)
    taxed["detail"][0]["taxCodeXref"] = "T1"           # balanced, but no ST line for its VAT
    with SandboxServer(port=0, invoices=2, expenses=0, procurement=0,
                       documents={"transactions": [untaxed, taxed]}) as own:
        cw = SandboxClient(own)
        assert cw.patch("/finance/invoices/9001", {"lines": [{"index": 0, "total": 10}]}).ok
        refused = cw.patch("/finance/invoices/9002", {"lines": [{"index": 0, "total": 10}]})
        assert refused.status_code == 400
        assert "has no sales-tax (ST) line" in refused.json()["errors"][0]["message"]
        assert cw.export(exportInvoicesFlag=True, includedInvoiceIds=[9002])[
            "transactions"] == [taxed]


def test_state_is_tied_to_the_documents(tmp_path):
    state, path = tmp_path / "state.json", tmp_path / "extra.json"
    path.write_text(json.dumps(documents()))
    with SandboxServer(port=0, **SEEDED, documents=path, state_file=state) as first:
        cw = SandboxClient(first)
        purchase_doc = cw.export(exportProductsFlag=True, includedProductIds=["40004"])
        assert _batch(cw, "exportProductsFlag",
                      purchase_gl_ids(purchase_doc["purchaseTransactions"][0]), "KEEP").ok
    with SandboxServer(port=0, **SEEDED, documents=path, state_file=state) as second:
        assert _count(SandboxClient(second), "procurement") == 3
    other = documents()
    other["transactions"][0]["memo"] = "changed"
    path.write_text(json.dumps(other))
    with pytest.raises(StateError, match="documents"):
        SandboxServer(port=0, **SEEDED, documents=path, state_file=state)


def _broken(change):
    docs = documents()
    change(docs)
    return docs


BAD = [
    (lambda d: d["transactions"][0].update(total=200.0),
     r"transactions\[0\] \(invoice 9001\): total: the detail totals sum to -144.00, so the "
     r"header total must be 144.00"),
    (lambda d: d["transactions"][1].update(id=5003),
     r"transactions\[1\] \(invoice 5003\): id: 5003 is the id of seeded invoice 5003 "
     r"\(document 10003\); seeded invoices are 5001 to 5006"),
    (lambda d: d["transactions"][1].update(id=9001),
     r"transactions\[1\] \(invoice 9001\): id: 9001 is also the id of transactions\[0\]"),
    (lambda d: d["transactions"][1]["detail"][0].update(id=1002),
     r"transactions\[1\] \(invoice 9002\): detail\[0\].id: GL entry id 1002 is also used by "
     r"transactions\[0\] \(invoice 9001\) detail\[0\].id"),
    (lambda d: d["expenseBills"][0]["detail"][0].update(id=[100004]),
     r"expenseBills\[0\] \(expense bill 2000\): detail\[0\].id\[0\]: GL entry id 100004 is in "
     r"the id block of seeded invoice 5001 \(document 10001\); use ids below 100,000"),
    (lambda d: d["expenseBills"][1].update(total=1),
     r"expenseBills\[1\] \(expense bill 2010\): total: the detail totals sum to 90.00"),
    (lambda d: d["purchaseTransactions"].append(purchase(4702, 3100)),
     r"purchaseTransactions\[1\] \(purchase transaction 'PO #4702, Packing Slip: 4702'\): id: "
     r"is seeded purchase transaction"),
    (lambda d: d["purchaseTransactions"][0].pop("company"),
     r"purchaseTransactions\[0\] .*: company: must be a reference"),
    (lambda d: d.update(customers=[{"company": {"id": 1001}}]),
     r"customers\[0\]: company.id: 1001 is a seeded company"),
    (lambda d: d["companies"].append({"id": 201, "name": "Dell"}),
     r"companies\[1\]: id: 201 is a seeded company; PATCH it instead"),
    (lambda d: d.update(invoices=[]), r"invoices: unknown section \(did you mean transactions"),
    (lambda d: d["transactions"][2].update(documentDate="soon", documentType="BILL"),
     r"transactions\[2\] \(invoice 9003\): documentType: must be one of INVOICE, CREDITMEMO; "
     r"got 'BILL'\n  .*: transactions\[2\] \(invoice 9003\): documentDate: must be a date"),
]


@pytest.mark.parametrize("change, message", BAD)
def test_bad_documents_are_refused_naming_file_document_and_field(tmp_path, change, message):
    path = tmp_path / "extra.json"
    path.write_text(json.dumps(_broken(change)))
    with pytest.raises(DocumentsError, match=f"{re.escape(str(path))}: {message}"):
        SandboxServer(port=0, **SEEDED, documents=path)


def test_unreadable_files_and_the_cli(tmp_path, capsys):
    path = tmp_path / "extra.json"
    for text, message in (("{nope", "not valid JSON"), ("[]", "expected a JSON object")):
        path.write_text(text)
        with pytest.raises(DocumentsError, match=f"{path}: {message}"):
            SandboxServer(port=0, documents=path)
    with pytest.raises(DocumentsError, match="cannot read the documents file"):
        SandboxServer(port=0, documents=tmp_path / "missing.json")
    path.write_text(json.dumps({"expenseBills": [bill(2000), bill(2000)]}))
    assert main(["--documents", str(path), "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"cwsage sandbox: 3 problems in the documents file {path}:\n")
    assert f"{path}: expenseBills[1] (expense bill 2000): id: 2000 is also the id of " \
        "expenseBills[0]" in err
    assert "detail[0].id[0]: GL entry id 2001 is also used by expenseBills[0]" in err
