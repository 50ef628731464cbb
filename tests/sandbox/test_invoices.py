"""The seeded invoices as the GLExport carries them: shapes, signs, VAT, broken documents."""

import json
from decimal import Decimal

import pytest

from sandbox.data import SandboxData, broken_documents
from sandbox.server import SandboxServer
from sandbox.testing import SandboxClient, invoice_gl_ids

AR, VAT, SALES = "1100", "2200", {"4000", "4001", "4002", "4900"}


def dec(value) -> Decimal:
    return Decimal(str(value))


@pytest.fixture(scope="module")
def srv():
    with SandboxServer(port=0, invoices=400) as server:
        yield server


@pytest.fixture(scope="module")
def export(srv):
    return SandboxClient(srv).export(exportInvoicesFlag=True)


@pytest.fixture(scope="module")
def transactions(export):
    return export["transactions"]


def test_export_shape(export, transactions):
    assert set(export) == {"exportSettings", "customers", "transactions", "vendors",
                           "expenseBills", "purchaseTransactions", "expenses",
                           "adjustmentTransactions", "inventoryTransfers"}
    assert len(transactions) == 400
    assert [t["id"] for t in transactions] == list(range(5001, 5401))
    assert export["vendors"] == export["expenseBills"] == export["purchaseTransactions"] == []


def test_one_customer_entry_per_referenced_customer(export, transactions):
    referenced = {t["company"]["id"] for t in transactions}
    assert [c["company"]["id"] for c in export["customers"]] == sorted(referenced)
    customer = export["customers"][0]
    for name in ("company", "accountNumber", "billingTerms", "dueDays", "taxable", "taxCode",
                 "currency", "stateTaxXref", "stateTaxRate", "taxGroupRate", "taxLevels"):
        assert name in customer, name
    taxable = [c for c in export["customers"] if c["taxable"]]
    assert all(c["stateTaxRate"] == 20 and c["stateTaxXref"] == "T1" for c in taxable)
    assert all(c["taxGroupRate"] is None for c in export["customers"])


def test_header_fields(transactions):
    for t in transactions:
        assert t["glTypeId"] == "AR" and t["accountNumber"] == AR
        assert t["documentType"] in ("INVOICE", "CREDITMEMO")
        assert t["billingType"] in ("Standard", "Agreement", "CreditMemo")
        assert len(t["documentNumber"]) == 5 and t["documentNumber"].isdigit()
        assert t["dueDays"] == 30 and t["cityTax"] is None and t["taxAccountNumber"] == VAT
        assert "2026-08-31" < t["documentDate"][:10] <= "2026-10-31"
        assert {"id", "identifier", "name"} <= t["company"].keys()
        assert 2 <= len(t["glEntryIds"].split(",")) <= 3
        assert 1 <= len([d for d in t["detail"] if d["glTypeId"] == "RP"]) <= 8


def test_average_line_count_is_about_four(transactions):
    lines = [len([d for d in t["detail"] if d["glTypeId"] == "RP"]) for t in transactions]
    assert 3.5 <= sum(lines) / len(lines) <= 4.6


def test_every_document_balances_and_vat_is_computed_once(transactions):
    for t in transactions:
        assert sum(dec(d["total"]) for d in t["detail"]) + dec(t["total"]) == 0
        taxable = sum(-dec(d["total"]) for d in t["detail"]
                      if d["glTypeId"] == "RP" and d["taxCodeXref"] == "T1")
        expected_vat = (abs(taxable) * Decimal("0.2")).quantize(Decimal("0.01"), "ROUND_HALF_UP")
        tax_lines = [d for d in t["detail"] if d["glTypeId"] == "ST"]
        assert abs(dec(t["salesTax"])) == expected_vat == abs(dec(t["stateTax"]))
        assert len(tax_lines) == (1 if expected_vat else 0)
        assert abs(dec(t["taxableTotal"])) == abs(taxable)


def test_some_documents_differ_from_per_line_vat_rounding(transactions):
    def per_line(t):
        return sum((abs(dec(d["total"])) * Decimal("0.2")).quantize(Decimal("0.01"),
                                                                     "ROUND_HALF_UP")
                   for d in t["detail"] if d["glTypeId"] == "RP" and d["taxCodeXref"] == "T1")
    assert any(per_line(t) != abs(dec(t["salesTax"])) for t in transactions)


def test_sales_tax_line(transactions):
    t = next(t for t in transactions if t["documentType"] == "INVOICE" and dec(t["salesTax"]))
    st = [d for d in t["detail"] if d["glTypeId"] == "ST"][0]
    assert st["accountNumber"] == VAT and st["glItemId"] == "" and st["quantity"] == 0
    assert dec(st["total"]) == -dec(t["salesTax"])
    assert (st["taxCodeXref"], st["taxRate"], st["taxRatePercent"], st["taxNote"]) == \
        ("T1", 0.2, 20, "AUTOSTAX")
    assert (st["memo"], st["description"]) == ("Sales Tax", "Level 1 Sales Tax")


def test_invoice_signs(transactions):
    invoices = [t for t in transactions if t["documentType"] == "INVOICE"]
    for t in invoices:
        assert dec(t["total"]) > 0
        for d in t["detail"]:
            if d["glTypeId"] == "RP":
                assert d["quantity"] < 0 and dec(d["total"]) < 0 and dec(d["itemPrice"]) > 0
                assert dec(d["total"]) == (dec(d["quantity"]) * dec(d["itemPrice"])).quantize(
                    Decimal("0.01"))


def test_credit_memos_flip_every_sign(transactions):
    credits = [t for t in transactions if t["documentType"] == "CREDITMEMO"]
    assert 0.02 <= len(credits) / len(transactions) <= 0.09
    for t in credits:
        assert t["billingType"] == "CreditMemo" and dec(t["total"]) < 0
        assert all(d["quantity"] >= 0 and dec(d["total"]) >= 0 for d in t["detail"])
        assert dec(t["salesTax"]) <= 0


def test_line_kinds(transactions):
    lines = [d for t in transactions for d in t["detail"] if d["glTypeId"] == "RP"]
    products = [d for d in lines if d["glItemId"]]
    assert all(d["item"]["identifier"] == d["glItemId"] for d in products)
    assert {"FW-TZ270", "LIC-M365-BP", "SSD-1TB"} <= {d["glItemId"] for d in products}
    agreements = [d for d in lines if d["accountNumber"] == "4001"]
    assert agreements and all(d["glItemId"] == "" and "item" not in d and d["quantity"] == -1
                              for d in agreements)
    assert any(" - October 2026" in d["salesDescription"] for d in agreements)
    labour = [d for d in lines if "timeEntry" in d]
    assert labour and all(d["accountNumber"] == "4002" and d["itemPrice"] in (85.0, 95.0)
                          and d["salesDescription"].startswith("Remote support - ")
                          for d in labour)
    assert any(d["quantity"] != int(d["quantity"]) for d in labour)
    assert any(d["accountNumber"] == "4900" and d["taxCodeXref"] == "T9" for d in lines)
    assert any(d["taxCodeXref"] == "T0" for d in lines)
    assert len({d["id"] for d in lines}) == len(lines)


def test_text_edge_cases(transactions, export):
    names = {c["company"]["name"] for c in export["customers"]}
    assert "Smith & Jones Solicitors LLP" in names and "Tyne & Wear Dental Care" in names
    long = [d["salesDescription"] for t in transactions for d in t["detail"]
            if len(d.get("salesDescription", "")) > 60]
    assert any("\r\n" in text for text in long)


def test_foreign_currency_customers_bill_in_their_currency(transactions, export):
    currencies = {c["company"]["id"]: c["currency"]["currencyCode"] for c in export["customers"]}
    assert {"EUR", "USD"} <= set(currencies.values())
    for t in transactions:
        assert t["currency"]["currencyCode"] == currencies[t["company"]["id"]]
        assert all(d["currency"] == t["currency"] for d in t["detail"])


def test_some_dates_have_no_zone(transactions):
    zoneless = [t for t in transactions if not t["documentDate"].endswith("Z")]
    assert 0 < len(zoneless) < len(transactions) / 3
    assert all(len(t["documentDate"]) == 19 for t in zoneless)


def test_gl_ids_are_unique_across_documents(transactions):
    ids = [i for t in transactions for i in invoice_gl_ids(t)]
    assert len(ids) == len(set(ids))


def test_broken_documents_are_listed_and_present(srv, transactions):
    broken = [b for b in srv.data.broken_documents() if b.kind == "invoice"]
    by_id = {t["id"]: t for t in transactions}
    reasons = [b.reason for b in broken]
    assert round(400 * 0.08) == len(broken)
    assert {reasons.count(r) for r in set(reasons)} <= {10, 11}
    for doc in broken:
        t = by_id[doc.id]
        lines = [d for d in t["detail"] if d["glTypeId"] == "RP"]
        if doc.reason == "missing_account_number":
            assert t["companyAccountNumber"] == ""
            assert t["company"]["name"] == "Angry Fox Cycles Ltd"
        elif doc.reason == "unmapped_tax_code":
            assert "RC20" in {d["taxCodeXref"] for d in lines}
        else:
            assert "4070" in {d["accountNumber"] for d in lines}
    clean = [t for t in transactions if t["id"] not in {b.id for b in broken}]
    for t in clean:
        assert t["companyAccountNumber"]
        assert {d["taxCodeXref"] for d in t["detail"]} <= {"T0", "T1", "T9"}
        assert {d["accountNumber"] for d in t["detail"]} <= SALES | {VAT}


def test_same_seed_same_json_other_seed_other_json():
    def payload(seed):
        with SandboxServer(port=0, seed=seed, invoices=60) as server:
            cw = SandboxClient(server)
            body = cw.export(exportInvoicesFlag=True)
            rows = cw.get("/finance/accounting/unpostedinvoices", pageSize=100).json()
            return json.dumps([body, rows], sort_keys=True)
    assert payload(7) == payload(7)
    assert payload(7) != payload(8)


def test_broken_documents_function_matches_the_server(srv):
    assert broken_documents(invoices=400) == srv.data.broken_documents()
    assert broken_documents(invoices=400, broken_share=0) == []
    data = SandboxData(invoices=1000, expenses=0, procurement=0, broken_share=0.3)
    assert len(data.broken_documents()) == 300


def test_export_filters(srv):
    cw = SandboxClient(srv)
    some = cw.export(exportInvoicesFlag=True, includedInvoiceIds=[5003, 5001, 99999])
    assert [t["id"] for t in some["transactions"]] == [5001, 5003]
    fewer = cw.export(exportInvoicesFlag=True, excludedInvoiceIds=[5001])
    assert len(fewer["transactions"]) == 399
    early = cw.export(exportInvoicesFlag=True, thruDate="2026-09-30T23:59:59Z")
    assert early["transactions"] and all(
        t["documentDate"][:10] <= "2026-09-30" for t in early["transactions"])
    leeds = cw.export(exportInvoicesFlag=True, locationId=2)
    listed = cw.get("/finance/accounting/unpostedinvoices/count", conditions="locationId=2")
    assert len(leeds["transactions"]) == listed.json()["count"] > 0


def test_export_needs_a_flag(srv):
    response = SandboxClient(srv).post("/finance/accounting/export", {"exportInvoicesFlag": False})
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["field"] == "exportInvoicesFlag"
    assert error["message"] == "Batch must export Invoices, Expenses or Products"
    bad = SandboxClient(srv).post("/finance/accounting/export",
                                  {"exportInvoicesFlag": True, "includedInvoiceIds": ["5001"]})
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "includedInvoiceIds"
