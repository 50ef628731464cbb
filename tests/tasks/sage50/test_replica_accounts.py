"""Customers and suppliers in the replica: create, update, create-only currency, collisions."""


def load(replica, xml):
    receipt = replica.load(xml, source="customers")
    return {r.key: r for r in receipt.results}, receipt


def test_customer_update_changes_name_and_address_but_not_currency(replica, db, sx):
    load(replica, sx.company(customers=[sx.customer()]))
    results, receipt = load(replica, sx.company(customers=[sx.customer(
        CompanyName="Smith & Jones LLP", CustomerInvoiceAddress={"Address1": "2 New Road"})]))
    assert results["CW-CO-SMITHJ01"].status == "loaded"
    assert receipt.accounts_created == []
    assert db.rows("SELECT NAME, ADDRESS_1, ADDRESS_3, CURRENCY FROM SALES_LEDGER") == [
        ("Smith & Jones LLP", "2 New Road", "Leeds", 1)]          # Town not sent: kept

    results, _ = load(replica, sx.company(customers=[sx.customer(Currency="EUR",
                                                                 CompanyName="Renamed")]))
    r = results["CW-CO-SMITHJ01"]
    assert r.status == "rejected"
    assert "Currency 'EUR' differs from the GBP that customer SMITHJ01 was created with" in r.reason
    assert "R-ACC-5" in r.reason
    assert db.rows("SELECT NAME, CURRENCY FROM SALES_LEDGER") == [("Smith & Jones LLP", 1)]


def test_identical_customer_is_already_present(replica, sx):
    load(replica, sx.company(customers=[sx.customer()]))
    results, _ = load(replica, sx.company(customers=[sx.customer()]))
    assert results["CW-CO-SMITHJ01"].status == "already_present"
    assert replica.present(["CW-CO-SMITHJ01"]) == {"CW-CO-SMITHJ01"}


def test_invoice_in_another_currency_than_its_account_is_rejected(replica, sx):
    load(replica, sx.company(customers=[sx.customer()]))
    results, _ = load(replica, sx.company(invoices=[sx.invoice(Currency="EUR", ForeignRate="1.15")]))
    assert "Currency 'EUR' differs from customer SMITHJ01's currency GBP" in \
        results["CW-INV-5120"].reason
    assert "R-CUR-1" in results["CW-INV-5120"].reason


def test_missing_customer_is_created_from_the_invoice_address(replica, db, sx):
    results, receipt = load(replica, sx.company(invoices=[sx.invoice(ref="NEWCO01")]))
    assert results["CW-INV-5120"].status == "loaded"
    assert receipt.accounts_created == ["NEWCO01"]
    assert db.rows("SELECT ACCOUNT_REF, NAME, ADDRESS_1, ADDRESS_3 FROM SALES_LEDGER") == [
        ("NEWCO01", "Smith & Jones Solicitors LLP", "1 High St", "Leeds")]


def test_missing_customer_is_rejected_when_auto_create_accounts_is_off(make_replica, sx):
    replica = make_replica(auto_create_accounts=False)
    results, _ = load(replica, sx.company(invoices=[sx.invoice(ref="NEWCO01")]))
    assert "AccountReference 'NEWCO01' is not a Sage customer and auto_create_accounts is off" \
        in results["CW-INV-5120"].reason


def test_two_connectwise_records_on_one_account_reference_are_rejected(replica, sx):
    results, _ = load(replica, sx.company(customers=[sx.customer(key="CW-CO-1"),
                                                     sx.customer(key="CW-CO-2")]))
    assert {r.status for r in results.values()} == {"rejected"}
    assert "given to 2 customer records in this XML (CW-CO-1, CW-CO-2)" in \
        results["CW-CO-1"].reason
    load(replica, sx.company(customers=[sx.customer(key="CW-CO-1")]))
    results, _ = load(replica, sx.company(customers=[sx.customer(key="CW-CO-2")]))
    assert "already belongs to CW-CO-1" in results["CW-CO-2"].reason


def test_invoice_for_a_customer_whose_record_was_rejected_is_rejected(replica, sx):
    results, _ = load(replica, sx.company(customers=[sx.customer(CompanyName="x" * 61)],
                                          invoices=[sx.invoice()]))
    assert results["CW-CO-SMITHJ01"].status == "rejected"
    assert "its customer record in this XML was rejected" in results["CW-INV-5120"].reason
