"""Invoices into the replica: INVOICE + items, posting, VAT, stock, credits, rejections."""

from decimal import Decimal

import pytest

D = Decimal


def load(replica, xml, source="test"):
    receipt = replica.load(xml, source=source)
    return {r.key: r for r in receipt.results}, receipt


def assert_balanced(db):
    debits, credits = db.rows("SELECT SUM(DEBIT), SUM(CREDIT) FROM AUDIT_JOURNAL")[0]
    assert round(debits, 2) == round(credits, 2)
    per_header = db.rows("SELECT HEADER_NUMBER, ROUND(SUM(AMOUNT), 2) FROM AUDIT_JOURNAL "
                         "GROUP BY HEADER_NUMBER HAVING ROUND(SUM(AMOUNT), 2) != 0")
    assert per_header == []


def test_invoice_creates_customer_invoice_items_and_a_balanced_posting(replica, db, sx):
    xml = sx.company(customers=[sx.customer()], invoices=[sx.invoice(
        InvoiceNumber="10457", items=[sx.item("FW-TZ270", "2", "640.00", name="Firewall"),
                                      sx.item("S1", "1", "1120.00")])])
    results, receipt = load(replica, xml)
    assert results["CW-CO-SMITHJ01"].status == "loaded"
    assert results["CW-INV-5120"].status == "loaded"
    assert results["CW-INV-5120"].sage_ref == "SI 1 / invoice 10457"
    assert receipt.accounts_created == ["SMITHJ01"]
    assert db.rows("SELECT INVOICE_NUMBER, INVOICE_OR_CREDIT, ACCOUNT_REF, INVOICE_NET, "
                   "INVOICE_TAX, INVOICE_GROSS, POSTED, EXTERNAL_ID FROM INVOICE") == [
        (10457, "Invoice", "SMITHJ01", 2400.0, 480.0, 2880.0, "Y", "CW-INV-5120")]
    assert db.rows("SELECT ITEM_NUMBER, STOCK_CODE, QUANTITY, NET_AMOUNT, TAX_AMOUNT, TAX_CODE "
                   "FROM INVOICE_ITEM ORDER BY ITEM_NUMBER") == [
        (1, "FW-TZ270", 2.0, 1280.0, 256.0, "T1"), (2, "S1", 1.0, 1120.0, 224.0, "T1")]
    assert db.rows("SELECT NOMINAL_CODE, DEBIT, CREDIT FROM AUDIT_JOURNAL "
                   "ORDER BY JOURNAL_NUMBER") == [
        ("4000", 0, 1280.0), ("2200", 0, 256.0), ("4000", 0, 1120.0), ("2200", 0, 224.0),
        ("1100", 2880.0, 0)]
    assert_balanced(db)
    assert db.one("SELECT BALANCE FROM SALES_LEDGER WHERE ACCOUNT_REF = 'SMITHJ01'") == 2880.0
    assert replica.trial_balance() == {"1100": D("2880.00"), "2200": D("-480.00"),
                                       "4000": D("-2400.00")}
    assert dict(db.rows("SELECT ACCOUNT_REF, BALANCE FROM NOMINAL_LEDGER WHERE BALANCE != 0")) \
        == {"1100": 2880.0, "2200": -480.0, "4000": -2400.0}


def test_totals_and_present_report_what_was_posted(replica, sx):
    replica.load(sx.company(invoices=[sx.invoice(items=[sx.item(price="10.00"),
                                                        sx.item(sku="M", qty=None, price=None,
                                                                nominal=None, tax=None)])]),
                 source="t")
    t = replica.totals(["CW-INV-5120", "nope"])["CW-INV-5120"]
    assert (t.doc_type, t.account_ref, t.currency, t.net, t.tax, t.gross) == (
        "SI", "SMITHJ01", "GBP", D("10.00"), D("2.00"), D("12.00"))
    assert [(ln.nominal_code, ln.tax_code, ln.net, ln.tax, ln.rate) for ln in t.lines] == [
        ("4000", 1, D("10.00"), D("2.00"), D("20"))]               # the M line carries no money
    assert replica.present(["CW-INV-5120", "nope"]) == {"CW-INV-5120"}


def test_vat_is_worked_out_per_line_not_on_the_total(replica, db, sx):
    items = [sx.item(price="0.14") for _ in range(3)]
    load(replica, sx.company(invoices=[sx.invoice(items=items)]))
    assert db.rows("SELECT INVOICE_NET, INVOICE_TAX FROM INVOICE") == [(0.42, 0.09)]  # not 0.08
    assert_balanced(db)


def test_special_codes_leave_stock_alone_and_real_skus_move_it(replica, db, sx):
    load(replica, sx.company(invoices=[sx.invoice(items=[
        sx.item("S1"), sx.item("S2", tax=0), sx.item("S3"),
        sx.item("M", qty=None, price=None, nominal=None, tax=None, name="Thank you"),
        sx.item("FW-TZ270", "2", "640.00")])]))
    assert db.rows("SELECT STOCK_CODE, QTY_IN_STOCK, QTY_SOLD FROM STOCK") == [
        ("FW-TZ270", -2.0, 2.0)]
    assert db.one("SELECT COUNT(*) FROM INVOICE_ITEM") == 5
    assert db.one("SELECT COUNT(*) FROM AUDIT_SPLIT") == 4            # no split for the M line


def test_credit_note_reverses_the_invoice(replica, db, sx):
    lines = [sx.item("FW-TZ270", "1", "640.00"), sx.item("S1", "1", "99.99")]
    load(replica, sx.company(invoices=[
        sx.invoice("CW-INV-1", items=lines),
        sx.invoice("CW-CRN-1", items=lines, InvoiceType="ProductCredit")]))
    assert db.rows("SELECT TYPE, GROSS_AMOUNT FROM AUDIT_HEADER ORDER BY HEADER_NUMBER") == [
        ("SI", 887.99), ("SC", 887.99)]
    assert db.rows("SELECT NOMINAL_CODE, DEBIT FROM AUDIT_JOURNAL WHERE TYPE = 'SC' "
                   "AND NOMINAL_CODE = '1100'") == [("1100", 0)]
    assert set(replica.trial_balance().values()) == {D("0.00")}
    assert db.one("SELECT BALANCE FROM SALES_LEDGER") == 0
    assert db.rows("SELECT QTY_IN_STOCK, QTY_SOLD FROM STOCK") == [(0.0, 0.0)]
    assert replica.totals(["CW-CRN-1"])["CW-CRN-1"].doc_type == "SC"
    assert_balanced(db)


def test_negative_line_reduces_the_invoice(replica, db, sx):
    load(replica, sx.company(invoices=[sx.invoice(items=[
        sx.item(price="1120.00"), sx.item(price="50.00", name="Goodwill", IsNegativeLine=True)])]))
    assert db.rows("SELECT NET_AMOUNT, TAX_AMOUNT FROM INVOICE_ITEM ORDER BY ITEM_NUMBER") == [
        (1120.0, 224.0), (-50.0, -10.0)]
    assert db.rows("SELECT INVOICE_NET, INVOICE_TAX, INVOICE_GROSS FROM INVOICE") == [
        (1070.0, 214.0, 1284.0)]
    assert db.rows("SELECT DEBIT, CREDIT FROM AUDIT_JOURNAL WHERE DETAILS = 'Goodwill' "
                   "AND NOMINAL_CODE = '4000'") == [(50.0, 0)]
    assert_balanced(db)


@pytest.mark.parametrize("line, words", [
    (dict(nominal="2200"), "Item 1 NominalCode '2200' is the sales tax control account"),
    (dict(nominal="1100"), "Item 1 NominalCode '1100' is the debtors control account"),
    (dict(nominal="4001:"), "Item 1 NominalCode '4001:' is not in the Sage nominal ledger"),
    (dict(tax=14), "Item 1 TaxCode 14 (T14) is not set up"),
    (dict(tax="T1"), "Item 1 TaxCode 'T1' is not a Sage tax code number"),
    (dict(price="-5.00"), "Item 1 UnitPrice '-5.00' is negative"),
    (dict(qty="0"), "Item 1 QtyOrdered '0' must be more than 0"),
    (dict(sku="fw tz270"), "Item 1 Sku 'fw tz270' is not a Sage product code"),
    (dict(sku=None), "Item 1 Sku is missing"),
    (dict(name="x" * 61), "Item 1 Name 'xxxxxxxx"),
    (dict(name="two\nlines"), "contains a line break"),
])
def test_bad_lines_are_rejected_naming_field_value_and_fix(replica, db, sx, line, words):
    results, _ = load(replica, sx.company(invoices=[sx.invoice(items=[sx.item(**line)])]))
    r = results["CW-INV-5120"]
    assert (r.status, r.sage_ref) == ("rejected", None)
    assert r.reason.startswith("CW-INV-5120: ")
    assert words in r.reason and " — " in r.reason
    assert db.counts() == dict.fromkeys(db.counts(), 0)


@pytest.mark.parametrize("ref", ["smithj01", "SMITH J", "SMITHJONES", "SMITH&J", ""])
def test_bad_account_reference_is_rejected(replica, sx, ref):
    results, _ = load(replica, sx.company(invoices=[sx.invoice(ref=ref)]))
    assert results["CW-INV-5120"].status == "rejected"
    assert "AccountReference" in results["CW-INV-5120"].reason
    assert "R-ACC-1" in results["CW-INV-5120"].reason or "missing" in results["CW-INV-5120"].reason


def test_manual_invoice_number_already_used_is_rejected(replica, sx):
    load(replica, sx.company(invoices=[sx.invoice("CW-INV-1", InvoiceNumber="500")]))
    results, _ = load(replica, sx.company(invoices=[
        sx.invoice("CW-INV-2", InvoiceNumber="500"), sx.invoice("CW-INV-3")]))
    assert "InvoiceNumber 500 is already used" in results["CW-INV-2"].reason
    assert results["CW-INV-3"].sage_ref.endswith("invoice 501")       # Sage's next number


def test_lock_date_rejects_documents_on_or_before_it(make_replica, sx):
    replica = make_replica(lock_date="2026-10-20")
    results, _ = load(replica, sx.company(invoices=[
        sx.invoice("CW-INV-1"), sx.invoice("CW-INV-2", InvoiceDate="2026-10-21T00:00:00")]))
    assert results["CW-INV-1"].status == "rejected"
    assert "InvoiceDate 2026-10-20 is on or before the lock date 2026-10-20" in \
        results["CW-INV-1"].reason
    assert results["CW-INV-2"].status == "loaded"


def test_unknown_product_is_rejected_when_auto_create_products_is_off(make_replica, sx):
    replica = make_replica(auto_create_products=False)
    results, _ = load(replica, sx.company(invoices=[sx.invoice(items=[sx.item("NEW-SKU")])]))
    assert "Sku 'NEW-SKU' is not a Sage product and auto_create_products is off" in \
        results["CW-INV-5120"].reason


def test_foreign_invoice_posts_base_amounts_converted_per_line_and_balances(make_replica, sx,
                                                                            open_db):
    replica = make_replica(currency_rates={"EUR": 1.15})
    xml = sx.company(customers=[sx.customer("EUROCO", Currency="EUR")], invoices=[
        sx.invoice(ref="EUROCO", Currency="EUR", ForeignRate="1.15",
                   items=[sx.item(price="10.00"), sx.item(price="10.00"), sx.item(price="10.00")])])
    results, _ = load(replica, xml)
    assert results["CW-INV-5120"].status == "loaded"
    db = open_db(replica.path)
    # EUR 10.00 -> GBP 8.70 per line (8.6956…), so 26.10 net, not 30.00 / 1.15 = 26.09
    assert db.rows("SELECT NET_AMOUNT, FOREIGN_NET_AMOUNT FROM INVOICE_ITEM") == [(8.7, 10.0)] * 3
    assert db.rows("SELECT INVOICE_NET, INVOICE_TAX, INVOICE_GROSS, FOREIGN_INVOICE_GROSS, "
                   "FOREIGN_RATE, CURRENCY FROM INVOICE") == [(26.1, 5.22, 31.32, 36.0, 1.15, 2)]
    assert db.rows("SELECT DEBIT FROM AUDIT_JOURNAL WHERE NOMINAL_CODE = '1100'") == [(31.32,)]
    assert replica.audit_balances() == (D("31.32"), D("31.32"))
    assert db.rows("SELECT BALANCE, FOREIGN_BALANCE FROM SALES_LEDGER") == [(31.32, 36.0)]
    t = replica.totals(["CW-INV-5120"])["CW-INV-5120"]
    assert (t.currency, t.net, t.gross) == ("EUR", D("30.00"), D("36.00"))
