"""Shared fixtures for the Sage writer tests: Company XML rendered from dicts, real replicas."""

from __future__ import annotations

import sqlite3
from types import SimpleNamespace

import pytest
from lxml import etree

from tasks.sage50.replica import ReplicaWriter
from tests.writer_settings import make_writer

XSI = "http://www.w3.org/2001/XMLSchema-instance"
LIST_CHILD = {"InvoiceItems": "Item"}
COLLECTIONS = (("Customers", "Customer"), ("Suppliers", "Supplier"),
               ("Invoices", "Invoice"), ("Transactions", "Transaction"))


def _element(parent, tag: str, value) -> None:
    if value is None:                       # None leaves the element out
        return
    el = etree.SubElement(parent, tag)
    if isinstance(value, dict):
        for k, v in value.items():
            _element(el, k, v)
    elif isinstance(value, list):
        for v in value:
            _element(el, LIST_CHILD[tag], v)
    elif isinstance(value, bool):
        el.text = "true" if value else "false"
    else:
        el.text = str(value)


def company(customers=(), suppliers=(), invoices=(), transactions=()) -> bytes:
    root = etree.Element("Company", nsmap={"xsi": XSI})
    for (coll, child), records in zip(COLLECTIONS, (customers, suppliers, invoices,
                                                      transactions)):
        if records:
            parent = etree.SubElement(root, coll)
            for record in records:
                _element(parent, child, record)
    return etree.tostring(root, xml_declaration=True, encoding="utf-8")


def _address(**over) -> dict:
    a = {"Address1": "1 High Street", "Address2": "", "Town": "Leeds", "County": "",
         "Postcode": "LS1 1AA", "Country": "GB", "Telephone": ""}
    a.update(over)
    return a


def customer(ref="SMITHJ01", key=None, **over) -> dict:
    d = {"Id": key or f"CW-CO-{ref}", "AccountReference": ref,
         "CompanyName": "Smith & Jones Solicitors LLP", "CustomerInvoiceAddress": _address(),
         "Currency": "GBP", "PaymentDays": 30, "TaxCode": 1}
    d.update(over)
    return d


def supplier(ref="JSMITH", key=None, **over) -> dict:
    d = {"Id": key or f"CW-MEM-{ref}", "AccountReference": ref, "CompanyName": "John Smith",
         "SupplierInvoiceAddress": _address(), "Currency": "GBP", "PaymentDays": 30}
    d.update(over)
    return d


def item(sku="S1", qty="1", price="100.00", nominal="4000", tax=1, name="Managed services",
         **over) -> dict:
    d = {"Sku": sku, "Name": name, "Description": "Agreement AGR-1182", "QtyOrdered": qty,
         "UnitPrice": price, "NominalCode": nominal, "TaxCode": tax}
    d.update(over)
    return d


def invoice(key="CW-INV-5120", ref="SMITHJ01", items=None, **over) -> dict:
    d = {"Id": key, "AccountReference": ref, "InvoiceType": "ProductInvoice",
         "InvoiceDate": "2026-10-20T00:00:00", "DueDate": "2026-11-19T00:00:00",
         "CustomerOrderNumber": key[-5:], "TakenBy": "Priya Shah", "Currency": "GBP",
         "InvoiceAddress": {"Company": "Smith & Jones Solicitors LLP", "Address1": "1 High St",
                            "Town": "Leeds", "Postcode": "LS1 1AA"},
         "InvoiceItems": items if items is not None else [item()]}
    d.update(over)
    return d


def split(split_id, key="CW-EXP-311", ref="JSMITH", nominal="7400", net="95.40", tax_code=9,
          tax_amount="0.00", kind="PurchaseInvoice", reference="EXP311",
          date="2026-10-20T00:00:00", details="Mileage", **over) -> dict:
    d = {"Id": split_id, "TransactionType": kind, "AccountReference": ref,
         "TransactionDate": date, "DueDate": "2026-11-19T00:00:00", "Reference": reference,
         "SecondReference": key, "NominalCode": nominal, "Details": details,
         "NetAmount": net, "TaxCode": tax_code, "TaxAmount": tax_amount}
    d.update(over)
    return d


@pytest.fixture
def sx():
    """Builders for Company XML: sx.company(invoices=[sx.invoice(...)]) and friends."""
    return SimpleNamespace(company=company, customer=customer, supplier=supplier, item=item,
                           invoice=invoice, split=split)


@pytest.fixture
def make_replica(tmp_path):
    writers = []

    def make(**settings) -> ReplicaWriter:
        w = make_writer("sage50_replica", settings, tmp_path)
        writers.append(w)
        return w
    yield make
    for w in writers:
        w.close()


@pytest.fixture
def replica(make_replica):
    return make_replica()


class Db:
    """Read-only peeks into a replica file, as other cwsage code would query it."""

    def __init__(self, path):
        self.conn = sqlite3.connect(path)

    def rows(self, sql: str, *params) -> list[tuple]:
        return self.conn.execute(sql, params).fetchall()

    def one(self, sql: str, *params):
        return self.conn.execute(sql, params).fetchone()[0]

    def counts(self) -> dict[str, int]:
        tables = ("SALES_LEDGER", "PURCHASE_LEDGER", "STOCK", "INVOICE", "INVOICE_ITEM",
                  "AUDIT_HEADER", "AUDIT_SPLIT", "AUDIT_JOURNAL")
        return {t: self.one(f"SELECT COUNT(*) FROM {t}") for t in tables}


@pytest.fixture
def open_db():
    opened = []

    def open_(path) -> Db:
        opened.append(Db(path))
        return opened[-1]
    yield open_
    for d in opened:
        d.conn.close()


@pytest.fixture
def db(replica, open_db):
    return open_db(replica.path)
