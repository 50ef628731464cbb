"""Sage 50's own Data Import CSV files, laid out from documents the project parses and prices."""

import csv
import dataclasses
import io
from decimal import Decimal

import pytest

from tasks.errors import DataError
from tasks.sage50 import rules as r
from tasks.sage50.import_csv import (ACCOUNT_COLUMNS, TRANSACTION_COLUMNS, account_row, clean,
                                     csv_bytes, import_instructions, transaction_rows)
from tasks.sage50.pricing import price_invoice, price_transaction
from tasks.sage50.sagexml import parse_company

CHART = r.Chart(tax_rates=r.UK_TAX_RATES, no_direct=r.NO_DIRECT_POSTING,
                currencies={"GBP": Decimal(1), "EUR": Decimal("1.18"), "USD": Decimal("1.27")})
COL = {name: i for i, name in enumerate(TRANSACTION_COLUMNS)}
ACOL = {name: i for i, name in enumerate(ACCOUNT_COLUMNS)}


def priced(xml: bytes):
    """Every invoice and transaction group of ``xml``, priced the way the writers price them."""
    company = parse_company(xml)
    out = []
    for doc, problems in ([price_invoice(i, CHART) for i in company.invoices]
                          + [price_transaction(g, CHART) for g in company.transactions]):
        assert problems == []
        out.append(doc)
    return out


def one_invoice(sx, items=None, **over):
    [doc] = priced(sx.company(invoices=[sx.invoice(items=items, **over)]))
    return doc


def read_back(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("cp1252"), newline="")))


def rows_ok(doc, **kw):
    rows, problems = transaction_rows(doc, **kw)
    assert problems == []
    return rows


# ---------------------------------------------------------------- columns and formats

def test_column_orders_are_sages():
    assert len(TRANSACTION_COLUMNS) == 15                              # A-O
    assert TRANSACTION_COLUMNS[0] == "Type" and TRANSACTION_COLUMNS[-1] == "Cost Code Refn"
    assert len(ACCOUNT_COLUMNS) == 28                                  # A-AB
    assert (ACCOUNT_COLUMNS[0], ACCOUNT_COLUMNS[14], ACCOUNT_COLUMNS[22],
            ACCOUNT_COLUMNS[-1]) == ("A/C", "VAT Number", "Default Nominal Code", "Website")


def test_one_line_invoice_is_one_row_in_sages_order(sx):
    [row] = rows_ok(one_invoice(sx))
    assert row == ["SI", "SMITHJ01", "4000", "0", "20/10/2026", "CW-INV-5120",
                   "Managed services", "100.00", "T1", "20.00", "1", "CW-INV-5120", "cwsage",
                   "", ""]
    assert len(row) == len(TRANSACTION_COLUMNS)


def test_date_is_dd_mm_yyyy_and_reference_is_the_invoice_number(sx):
    doc = one_invoice(sx, InvoiceDate="2026-03-05T00:00:00", InvoiceNumber="10457")
    [row] = rows_ok(doc)
    assert (row[COL["Date"]], row[COL["Reference"]]) == ("05/03/2026", "10457")
    assert row[COL["Extra Reference"]] == "CW-INV-5120"


def test_amounts_have_two_decimals_and_no_separator(sx):
    doc = one_invoice(sx, items=[sx.item(qty="3", price="1234567.5", tax=5),
                                 sx.item(price="7", nominal="4010", tax=0)])
    rows = rows_ok(doc)
    assert [(x[COL["Net Amount"]], x[COL["Tax Code"]], x[COL["Tax Amount"]]) for x in rows] == [
        ("3703702.50", "T5", "185185.13"), ("7.00", "T0", "0.00")]


def test_purchase_transaction_splits_become_rows(sx):
    [doc] = priced(sx.company(transactions=[
        sx.split(1), sx.split(2, nominal="7402", net="110.00", tax_code=1, tax_amount="22.00",
                              details="Hotel Leeds")]))
    assert rows_ok(doc) == [
        ["PI", "JSMITH", "7400", "0", "20/10/2026", "EXP311", "Mileage", "95.40", "T9", "0.00",
         "1", "CW-EXP-311", "cwsage", "", ""],
        ["PI", "JSMITH", "7402", "0", "20/10/2026", "EXP311", "Hotel Leeds", "110.00", "T1",
         "22.00", "1", "CW-EXP-311", "cwsage", "", ""]]


# ---------------------------------------------------------------- grouping and signs

def test_lines_group_by_nominal_and_tax_code_and_sum_to_the_priced_totals(sx):
    doc = one_invoice(sx, items=[
        sx.item(price="100.00", name="Managed services"),
        sx.item("FW-1", "3", "7.50", nominal="4010", tax=5, name="Firewall licence"),
        sx.item(sku="M", qty=None, price=None, NominalCode=None, TaxCode=None,
                name="Thank you for your business"),
        sx.item(price="9.99", name="Loyalty discount", IsNegativeLine=True),
        sx.item(price="0.14", name="Rounding"),
        sx.item(price="50.00", tax=0, name="Exempt training")])
    rows = rows_ok(doc)
    assert [(x[COL["Nominal A/C Ref"]], x[COL["Tax Code"]], x[COL["Details"]],
             x[COL["Net Amount"]], x[COL["Tax Amount"]]) for x in rows] == [
        ("4000", "T1", "Managed services +2 more", "90.15", "18.03"),   # 20.00 - 2.00 + 0.03
        ("4010", "T5", "Firewall licence", "22.50", "1.13"),
        ("4000", "T0", "Exempt training", "50.00", "0.00")]
    assert sum(Decimal(x[COL["Net Amount"]]) for x in rows) == doc.net
    assert sum(Decimal(x[COL["Tax Amount"]]) for x in rows) == doc.tax


def test_negative_group_is_a_problem_naming_the_key_and_the_fix(sx):
    doc = one_invoice(sx, items=[sx.item(price="100.00"),
                                 sx.item(price="10.00", nominal="4300", IsNegativeLine=True)])
    rows, problems = transaction_rows(doc)
    assert rows == []
    [p] = problems
    assert "'4300'" in p and "T1" in p and "CW-INV-5120" in p
    assert "net -10.00, VAT -2.00" in p
    assert r.fixes(r.reason(doc.key, problems)) == (
        "map such lines to the nominal of what they discount, or raise a separate credit in "
        "ConnectWise")


def test_group_whose_vat_sign_disagrees_with_its_net_is_a_problem(sx):
    doc = one_invoice(sx, items=[sx.item(price="0.02"), sx.item(price="0.02"),
                                 sx.item(price="0.03", IsNegativeLine=True)])
    rows, [p] = transaction_rows(doc)       # VAT per line: 0.00 + 0.00 - 0.01
    assert rows == [] and "net 0.01, VAT -0.01" in p


def test_zero_group_is_left_out_and_an_all_zero_document_is_a_problem(sx):
    doc = one_invoice(sx, items=[sx.item(), sx.item(price="0.00", nominal="4100")])
    assert [x[COL["Nominal A/C Ref"]] for x in rows_ok(doc)] == ["4000"]
    rows, problems = transaction_rows(one_invoice(sx, items=[sx.item(price="0.00")]))
    assert rows == [] and len(problems) == 1 and "CW-INV-5120 has no line" in problems[0]


def test_credits_are_written_positive_with_their_type(sx):
    [sc, pc] = priced(sx.company(
        invoices=[sx.invoice("CW-INV-77", InvoiceType="ProductCredit")],
        transactions=[sx.split(1, key="CW-PO-4707-4707", kind="PurchaseCredit", net="40.00",
                               tax_code=1, tax_amount="8.00", reference="4707")]))
    assert [(x[0], x[COL["Net Amount"]], x[COL["Tax Amount"]]) for x in rows_ok(sc)] == [
        ("SC", "100.00", "20.00")]
    assert [(x[0], x[COL["Net Amount"]], x[COL["Extra Reference"]]) for x in rows_ok(pc)] == [
        ("PC", "40.00", "CW-PO-4707-4707")]


def test_amount_over_eight_digits_is_a_problem(sx):
    doc = one_invoice(sx, items=[sx.item(price="99999999.99", tax=0),
                                 sx.item(price="1.00", tax=0)])
    rows, [p] = transaction_rows(doc)
    assert rows == [] and "100000000.99" in p and "8 digits" in p


# ---------------------------------------------------------------- currency

@pytest.mark.parametrize("rate, written", [("1.18", "1.18"), ("1.1800", "1.1800"),
                                           ("1.5E+1", "15"), ("2E-1", "0.2")])
def test_foreign_currency_writes_the_documents_rate_as_a_plain_decimal(sx, rate, written):
    doc = one_invoice(sx, Currency="EUR", ForeignRate=rate)
    [row] = rows_ok(doc)
    assert row[COL["Exchange Rate"]] == written
    assert (row[COL["Net Amount"]], row[COL["Tax Amount"]]) == ("100.00", "20.00")  # in EUR


def test_foreign_currency_transaction(sx):
    [doc] = priced(sx.company(transactions=[sx.split(1, Currency="USD", ExchangeRate="1.27")]))
    assert rows_ok(doc)[0][COL["Exchange Rate"]] == "1.27"


# ---------------------------------------------------------------- limits

def test_reference_details_user_are_cut_and_the_suffix_is_never_cut(sx):
    name = "N" * 60
    doc = one_invoice(sx, items=[sx.item(name=name), sx.item(name="second")])
    doc = dataclasses.replace(doc, reference="R" * 40)
    [row] = rows_ok(doc, user="U" * 40)
    assert row[COL["Reference"]] == "R" * 30
    assert row[COL["Details"]] == "N" * 52 + " +1 more"
    assert len(row[COL["Details"]]) == 60
    assert row[COL["User Name"]] == "U" * 32
    [one] = rows_ok(one_invoice(sx, items=[sx.item(name=name)]))
    assert one[COL["Details"]] == name


def test_account_reference_over_eight_characters_is_a_problem_not_cut(sx):
    doc = dataclasses.replace(one_invoice(sx), account_ref="SMITHJONE")
    rows, [p] = transaction_rows(doc)
    assert rows == [] and "'SMITHJONE'" in p and "R-ACC-1" in p


def test_key_over_thirty_characters_is_a_problem(sx):
    key = "CW-PO-" + "PACKING-SLIP-FOR-NORTHERN-OFFICE-A1B2C3"
    [doc] = priced(sx.company(transactions=[sx.split(1, key=key)]))
    rows, [p] = transaction_rows(doc)
    assert rows == [] and "Extra Reference" in p and "is 45 characters" in p


# ---------------------------------------------------------------- the file

def test_csv_bytes_has_no_header_crlf_and_reads_back_as_the_rows(sx):
    [si, pi] = priced(sx.company(invoices=[sx.invoice()], transactions=[sx.split(1)]))
    rows = rows_ok(si) + rows_ok(pi)
    data = csv_bytes(rows)
    assert data.startswith(b"SI,SMITHJ01,4000,0,20/10/2026,") and data.endswith(b",,\r\n")
    assert data.count(b"\r\n") == 2 and b"\n" not in data.replace(b"\r\n", b"")
    assert read_back(data) == rows


def test_hostile_text_survives_the_round_trip_inert(sx):
    doc = one_invoice(sx, items=[
        sx.item(name='Fees, "urgent" & more'), sx.item(name="=HYPERLINK(\"http://x\")", tax=0),
        sx.item(name=" @SUM(A1)", nominal="4100"), sx.item(name="-rebate", nominal="4200")])
    rows = rows_ok(doc)
    back = read_back(csv_bytes(rows))
    assert back == rows
    assert [x[COL["Details"]] for x in back] == [
        'Fees, "urgent" & more', "'=HYPERLINK(\"http://x\")", "' @SUM(A1)", "'-rebate"]
    assert b'"Fees, ""urgent"" & more"' in csv_bytes(rows)


def test_line_breaks_and_control_characters_become_spaces():
    assert read_back(csv_bytes([["Suite 4\r\nFloor\t2\x07", "a\rb"]])) == [
        ["Suite 4  Floor 2", "a b"]]


def test_numbers_keep_their_sign_and_formulas_get_an_apostrophe():
    cells = ["-12.50", "+44 113 496 0000", "+1 (555) 0100", "-x", "@SUM(1)", "+cmd", "=1+1",
             "-", "4000", ""]
    assert read_back(csv_bytes([cells])) == [
        ["-12.50", "+44 113 496 0000", "+1 (555) 0100", "'-x", "'@SUM(1)", "'+cmd", "'=1+1",
         "'-", "4000", ""]]


def test_characters_outside_windows_1252_become_ascii_or_a_question_mark():
    data = csv_bytes([["Dvořák & Łódź ﬁrm ✓ – €5 Zoë"]])
    assert data == "Dvorák & ?ódz firm ? – €5 Zoë\r\n".encode("cp1252")
    assert b"\x80" in data                                  # the euro sign, in cp1252
    assert clean("＝cmd") == "'=cmd"                         # folded first, then made inert


def test_clean_is_idempotent():
    for text in ["=x", " +y", "-1.5", "Łódź", "a\nb", "'=z", ""]:
        assert clean(clean(text)) == clean(text)


# ---------------------------------------------------------------- accounts

def test_customer_record_row(sx):
    xml = sx.company(customers=[sx.customer(
        CompanyName="Smith, \"Jones\" & Co", VatNumber="GB123456789", CreditLimit="5000",
        Terms="30 days net", NominalCode="4000", TaxCode=1,
        CustomerInvoiceAddress={"Forename": "Jane", "Surname": "Smith",
                                "Address1": "Suite 4\r\nFloor 2", "Address2": "1 High St",
                                "Address3": "Holbeck", "Town": "Leeds", "County": "W Yorks",
                                "Postcode": "LS1 1AA", "Telephone": "+44 113 496 0000",
                                "Fax": "0113 496 0001", "Email": "ap@smith.example",
                                "Website": "=cmd|' /C calc'!A0"})])
    [acc] = parse_company(xml).accounts
    row = account_row(acc)
    assert len(row) == len(ACCOUNT_COLUMNS)
    assert row == ["SMITHJ01", 'Smith, "Jones" & Co', "Suite 4  Floor 2", "1 High St",
                   "Holbeck, Leeds", "W Yorks", "LS1 1AA", "Jane Smith", "+44 113 496 0000",
                   "0113 496 0001", "", "", "", "", "GB123456789", "", "", "", "5000.00",
                   "30 days net", "", "", "4000", "T1", "", "", "ap@smith.example",
                   "'=cmd|' /C calc'!A0"]
    assert read_back(csv_bytes([row])) == [row]


def test_supplier_record_texts_are_cut_to_sages_limits(sx):
    long = {"Address1": "A" * 70, "Town": "T" * 70, "Telephone": "0" * 40,
            "Forename": "F" * 40, "Email": "e" * 300}
    [acc] = parse_company(sx.company(suppliers=[sx.supplier(
        CompanyName="C" * 70, VatNumber="V" * 40, Terms="X" * 40, SupplierInvoiceAddress=long,
        TaxCode=None)])).accounts
    row = account_row(acc)
    widths = {c: len(row[ACOL[c]]) for c in ("Name", "Street1", "Town", "Telephone",
                                             "Contact Name", "VAT Number", "Terms", "E-mail")}
    assert widths == {"Name": 60, "Street1": 60, "Town": 60, "Telephone": 30,
                      "Contact Name": 30, "VAT Number": 20, "Terms": 30, "E-mail": 255}
    assert (row[ACOL["Credit Limit"]], row[ACOL["Default Tax Code"]]) == ("", "")


@pytest.mark.parametrize("over, words", [
    ({"AccountReference": "SMITHJONE"}, "R-ACC-1"),
    ({"CreditLimit": "12.345"}, "CreditLimit '12.345'"),
    ({"TaxCode": "T1"}, "TaxCode 'T1'"),
    ({"NominalCode": "123456789"}, "NominalCode '123456789'"),
])
def test_account_values_sage_cannot_hold_raise_rather_than_being_cut(sx, over, words):
    [acc] = parse_company(sx.company(customers=[sx.customer(**over)])).accounts
    with pytest.raises(DataError, match=words):
        account_row(acc)


# ---------------------------------------------------------------- IMPORT.txt

def test_instructions_name_the_files_in_order_the_totals_and_the_confirm_command():
    files = {"transactions": "inv-1-transactions.csv", "suppliers": "inv-1-suppliers.csv",
             "customers": "inv-1-customers.csv"}
    text = import_instructions("inv-1", files, 4, Decimal("1234.5"), Decimal("246.9"),
                               {"PI": 1, "SC": 1, "SI": 2})
    order = [text.index(files[k]) for k in ("customers", "suppliers", "transactions")]
    assert order == sorted(order)
    assert "1. inv-1-customers.csv  ->  Customer Records" in text
    assert "3. inv-1-transactions.csv  ->  Audit Trail Transactions" in text
    assert "cwsage confirm inv-1-transactions.csv" in text
    assert "documents: 4 (SI 2, SC 1, PI 1)" in text
    assert "net: 1234.50   VAT: 246.90   gross: 1481.40" in text
    assert "no header row" in text and "Excel" in text and "ODBC DSN" in text
    assert len(text.splitlines()) < 40


def test_instructions_for_records_only_confirm_the_records_file():
    text = import_instructions("c", {"customers": "c-customers.csv"}, 0, Decimal(0),
                               Decimal(0), {})
    assert "1. c-customers.csv  ->  Customer Records" in text
    assert "Supplier" not in text and "cwsage confirm c-customers.csv" in text
