"""Audit-trail transactions into the replica: grouping, TaxAmount as given, PI/PC postings."""

from decimal import Decimal

D = Decimal


def load(replica, xml):
    return {r.key: r for r in replica.load(xml, source="expenses chunk 1").results}


def test_adjacent_splits_become_one_purchase_invoice_with_tax_as_given(replica, db, sx):
    results = load(replica, sx.company(suppliers=[sx.supplier()], transactions=[
        sx.split(71032), sx.split(71033, nominal="7402", net="110.00", tax_code=1,
                                  tax_amount="21.99", details="Hotel Leeds")]))
    assert results["CW-EXP-311"].status == "loaded"
    assert results["CW-EXP-311"].sage_ref == "PI 1 / ref EXP311"
    assert db.rows("SELECT TYPE, ACCOUNT_REF, INV_REF, NET_AMOUNT, TAX_AMOUNT, GROSS_AMOUNT, "
                   "ITEM_COUNT, EXTERNAL_ID FROM AUDIT_HEADER") == [
        ("PI", "JSMITH", "EXP311", 205.4, 21.99, 227.39, 2, "CW-EXP-311")]
    assert db.rows("SELECT EXTERNAL_ID, NOMINAL_CODE, TAX_CODE, NET_AMOUNT, TAX_AMOUNT "
                   "FROM AUDIT_SPLIT ORDER BY SPLIT_NUMBER") == [
        (71032, "7400", "T9", 95.4, 0.0), (71033, "7402", "T1", 110.0, 21.99)]  # not 22.00
    assert db.rows("SELECT NOMINAL_CODE, DEBIT, CREDIT FROM AUDIT_JOURNAL "
                   "ORDER BY JOURNAL_NUMBER") == [
        ("7400", 95.4, 0), ("7402", 110.0, 0), ("2201", 21.99, 0), ("2100", 0, 227.39)]
    assert replica.audit_balances() == (D("227.39"), D("227.39"))
    assert db.one("SELECT BALANCE FROM PURCHASE_LEDGER") == 227.39
    t = replica.totals(["CW-EXP-311"])["CW-EXP-311"]
    assert (t.doc_type, t.net, t.tax, [ln.tax_code for ln in t.lines]) == (
        "PI", D("205.40"), D("21.99"), [9, 1])


def test_two_bills_same_supplier_and_date_stay_apart_by_their_references(replica, db, sx):
    results = load(replica, sx.company(suppliers=[sx.supplier()], transactions=[
        sx.split(1, key="CW-BILL-1", reference="INV-881"),
        sx.split(2, key="CW-BILL-1", reference="INV-881"),
        sx.split(3, key="CW-BILL-2", reference="INV-881"),      # same Reference, other document
        sx.split(4, key="CW-BILL-3", reference="INV-882")]))
    assert {k: r.status for k, r in results.items()} == {
        "CW-MEM-JSMITH": "loaded", "CW-BILL-1": "loaded", "CW-BILL-2": "loaded",
        "CW-BILL-3": "loaded"}
    assert db.rows("SELECT EXTERNAL_ID, ITEM_COUNT FROM AUDIT_HEADER ORDER BY HEADER_NUMBER") == [
        ("CW-BILL-1", 2), ("CW-BILL-2", 1), ("CW-BILL-3", 1)]


def test_splits_of_one_document_that_are_not_adjacent_are_rejected_whole(replica, db, sx):
    results = replica.load(sx.company(suppliers=[sx.supplier()], transactions=[
        sx.split(1, key="CW-BILL-1"), sx.split(2, key="CW-BILL-2", reference="B2"),
        sx.split(3, key="CW-BILL-1")]), source="t").results
    assert [(r.key, r.status) for r in results[1:]] == [
        ("CW-BILL-1", "rejected"), ("CW-BILL-2", "loaded"), ("CW-BILL-1", "rejected")]
    assert "appears more than once in this XML" in results[1].reason
    assert db.one("SELECT COUNT(*) FROM AUDIT_SPLIT") == 1


def test_purchase_credit_reverses_the_purchase_invoice(replica, db, sx):
    load(replica, sx.company(suppliers=[sx.supplier()], transactions=[
        sx.split(1, key="CW-BILL-1", net="100.00", tax_code=1, tax_amount="20.00"),
        sx.split(2, key="CW-CR-1", kind="PurchaseCredit", reference="CR1", net="100.00",
                 tax_code=1, tax_amount="20.00")]))
    assert db.rows("SELECT NOMINAL_CODE, DEBIT, CREDIT FROM AUDIT_JOURNAL WHERE TYPE = 'PC' "
                   "ORDER BY JOURNAL_NUMBER") == [
        ("7400", 0, 100.0), ("2201", 0, 20.0), ("2100", 120.0, 0)]
    assert set(replica.trial_balance().values()) == {D("0.00")}
    assert db.one("SELECT BALANCE FROM PURCHASE_LEDGER") == 0


def test_sales_invoice_transaction_posts_to_debtors(replica, sx):
    results = load(replica, sx.company(customers=[sx.customer()], transactions=[
        sx.split(9, key="CW-SI-9", ref="SMITHJ01", kind="SalesInvoice", nominal="4000",
                 net="50.00", tax_code=1, tax_amount="10.00")]))
    assert results["CW-SI-9"].status == "loaded"
    assert replica.trial_balance() == {"1100": D("60.00"), "2200": D("-10.00"),
                                       "4000": D("-50.00")}


def test_missing_tax_amount_unknown_supplier_and_bad_split_id_are_rejected(replica, db, sx):
    results = load(replica, sx.company(transactions=[
        sx.split(1, key="CW-A", tax_amount=None),
        sx.split(2, key="CW-B", ref="NOBODY", reference="B"),
        sx.split("1138,1139", key="CW-C", reference="C")]))
    assert "split 1 TaxAmount is missing" in results["CW-A"].reason
    assert "AccountReference 'NOBODY' is not a Sage supplier (R-ACC-3)" in results["CW-B"].reason
    assert "Id '1138,1139' is not a number of at most 8 digits" in results["CW-C"].reason
    assert db.one("SELECT COUNT(*) FROM AUDIT_HEADER") == 0
    assert db.one("SELECT COUNT(*) FROM PURCHASE_LEDGER") == 0     # never created from a split


def test_split_id_already_posted_for_another_document_is_rejected(replica, sx):
    load(replica, sx.company(suppliers=[sx.supplier()], transactions=[sx.split(5, key="CW-A")]))
    results = load(replica, sx.company(transactions=[sx.split(5, key="CW-B", reference="B")]))
    assert "split 5 Id is already posted in Sage for CW-A" in results["CW-B"].reason


def test_foreign_purchase_invoice_balances_in_base_currency(make_replica, sx):
    replica = make_replica(currency_rates={"USD": 1.27})
    results = load(replica, sx.company(
        suppliers=[sx.supplier("ACMEUS", Currency="USD")],
        transactions=[sx.split(n, key="CW-PO-1", ref="ACMEUS", nominal="5000", net="33.33",
                               tax_code=1, tax_amount="6.67", Currency="USD",
                               ExchangeRate="1.27") for n in (1, 2, 3)]))
    assert results["CW-PO-1"].status == "loaded"
    debits, credits = replica.audit_balances()
    assert debits == credits == D("94.47")      # 3 x (26.24 + 5.25); 120.00 / 1.27 = 94.49
    assert replica.totals(["CW-PO-1"])["CW-PO-1"].gross == D("120.00")
