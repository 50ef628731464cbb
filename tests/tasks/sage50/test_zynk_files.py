"""Zynk's Success and Fail files: written by record, read back safely, duplicates recognised."""

import pytest
from lxml import etree

from tasks.sage50.zynk_files import (DUPLICATE_DESCRIPTION, UnreadableOutcome, ZynkError,
                                     is_duplicate_skip, outcome_document, read_outcome_file)


def records_of(sx, **collections):
    """The record elements of a Company built by the shared builders, in file order."""
    root = etree.fromstring(sx.company(**collections))
    return [el for coll in root for el in coll]


def test_records_are_grouped_in_zynks_order_with_errors_last(sx):
    customer, supplier, invoice, split = records_of(
        sx, transactions=[sx.split(1001)], invoices=[sx.invoice()],
        customers=[sx.customer()], suppliers=[sx.supplier()])
    error = ZynkError("2026-10-21T09:00:00", "Import Error", "The period is locked")
    data = outcome_document([(split, [error]), (invoice, []), (customer, []), (supplier, [])])
    root = etree.fromstring(data)
    assert [c.tag for c in root] == ["Customers", "Suppliers", "Invoices", "Transactions"]
    written_split = root.find("Transactions/Transaction")
    assert written_split[-1].tag == "Errors"
    assert [c.text for c in written_split.find("Errors/Error")] == [
        "2026-10-21T09:00:00", "Import Error", "The period is locked"]
    assert root.find("Invoices/Invoice/Errors") is None


def test_the_callers_elements_are_copied_never_changed(sx):
    [invoice] = records_of(sx, invoices=[sx.invoice()])
    parent, before = invoice.getparent(), etree.tostring(invoice)
    outcome_document([(invoice, [ZynkError(None, "Import Error", "no")])])
    assert invoice.getparent() is parent and etree.tostring(invoice) == before


def test_reading_gives_each_record_its_id_key_errors_and_a_clean_element(sx):
    customer, invoice, first, second = records_of(
        sx, customers=[sx.customer()], invoices=[sx.invoice("CW-INV-7")],
        transactions=[sx.split(1001, key="CW-EXP-9"), sx.split(1002, key="CW-EXP-9")])
    dup = [ZynkError("2026-10-21T09:00:00", "Duplicate", DUPLICATE_DESCRIPTION)]
    data = outcome_document([(customer, []), (invoice, dup), (first, dup), (second, dup)])
    records = read_outcome_file(data, "run-fail.xml")
    assert [(r.collection, r.record_id, r.second_reference) for r in records] == [
        ("Customers", "CW-CO-SMITHJ01", None), ("Invoices", "CW-INV-7", None),
        ("Transactions", "1001", "CW-EXP-9"), ("Transactions", "1002", "CW-EXP-9")]
    assert records[0].errors == () and records[1].errors == tuple(dup)
    assert all(r.element.find("Errors") is None for r in records)
    assert records[1].element.findtext("InvoiceItems/Item/UnitPrice") == "100.00"


def test_an_errors_block_already_on_a_record_is_replaced_not_doubled(sx):
    [invoice] = records_of(sx, invoices=[sx.invoice()])
    first = outcome_document([(invoice, [ZynkError(None, "Import Error", "old")])])
    [again] = read_outcome_file(first, "f.xml")
    data = outcome_document([(etree.fromstring(first).find("Invoices/Invoice"),
                              [ZynkError(None, "Import Error", "new")])])
    [record] = read_outcome_file(data, "f.xml")
    assert [e.description for e in record.errors] == ["new"]
    assert again.errors[0].description == "old"


def test_hostile_text_in_an_error_stays_data(sx):
    [invoice] = records_of(sx, invoices=[sx.invoice()])
    text = "<b>&amp;</b> ]]> \x07bell & co"
    [record] = read_outcome_file(outcome_document([(invoice, [ZynkError(None, "x", text)])]),
                                 "f.xml")
    assert record.errors[0].description == "<b>&amp;</b> ]]> bell & co"   # control char dropped


def test_an_unknown_record_is_refused_when_writing():
    with pytest.raises(ValueError, match="Product"):
        outcome_document([(etree.Element("Product"), [])])


@pytest.mark.parametrize("errors, expected", [
    ([ZynkError(None, "Duplicate", DUPLICATE_DESCRIPTION)], True),
    ([ZynkError(None, None, "Record already imported")], True),
    ([ZynkError(None, None, "Duplicate record Id 631")], True),
    ([ZynkError(None, None, DUPLICATE_DESCRIPTION), ZynkError(None, None, "Period locked")],
     False),
    ([ZynkError(None, None, "The period is locked")], False),
    ([ZynkError(None, None, None)], False),
    ([], False),
])
def test_duplicate_skips_are_told_from_real_failures(errors, expected):
    assert is_duplicate_skip(errors) is expected
    assert is_duplicate_skip(iter(errors)) is expected


LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE Company [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>
<Company><Invoices><Invoice><Id>&d;</Id></Invoice></Invoices></Company>"""
EXTERNAL = b"""<?xml version="1.0"?>
<!DOCTYPE Company [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<Company><Invoices><Invoice><Id>&x;</Id></Invoice></Invoices></Company>"""


@pytest.mark.parametrize("data, why", [
    (LAUGHS, "DOCTYPE"),
    (EXTERNAL, "DOCTYPE"),
    (b"<Company><Invoices><Invoice><Id>&x;</Id></Invoice></Invoices></Company>", "well-formed"),
    (b"<Company><Invoices><Invoice><Id>CW-1</Id></Inv", "well-formed"),
    (b"", "empty"),
    (b"  \n", "empty"),
    (b"PK\x03\x04 not xml at all", "well-formed"),
    (b"<Invoices><Invoice/></Invoices>", "not a Zynk file"),
    (b"<x:Company xmlns:x='urn:x'/>", "not a Zynk file"),
    (b"<Company><Products><Product/></Products></Company>", "Products"),
    (b"<Company><Invoices><Transaction/></Invoices></Company>", "Transaction"),
    (b"<Company>" + b"<a>" * 5000 + b"</a>" * 5000 + b"</Company>", "well-formed"),
])
def test_unreadable_files_are_refused_naming_the_file(data, why):
    with pytest.raises(UnreadableOutcome, match=why) as caught:
        read_outcome_file(data, "run-7-success.xml")
    assert str(caught.value).startswith("run-7-success.xml: ")
    assert "root:" not in str(caught.value)                  # nothing of /etc/passwd


def test_a_file_cut_anywhere_is_unreadable(sx):
    [invoice] = records_of(sx, invoices=[sx.invoice()])
    data = outcome_document([(invoice, [])])
    for cut in range(1, len(data) - 12, 37):
        with pytest.raises(UnreadableOutcome):
            read_outcome_file(data[:cut], "half.xml")


def test_an_empty_company_has_no_records():
    assert read_outcome_file(b"<?xml version='1.0'?><Company/>", "f.xml") == []
