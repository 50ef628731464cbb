"""The unposted summary rows of hand-written documents, read from the documents themselves.

Each row has the fields of a seeded row of its list, so conditions, ``orderBy`` and
``fields`` work the same on both. Where a document says nothing a row needs:

* location: an invoice's ``salesTerritory`` names it (Newcastle 1, Leeds 2); an expense
  bill takes its member's default location (a seeded member's, else 1); a purchase 1;
* the row is closed (``dateClosed``, ``_info.lastUpdated``) at 17:00Z on the document date;
* a purchase's row id continues the seeded numbering (40001 + its index), and its
  ``purchaseOrder`` is its ``documentNumber`` (its id too when that is a number).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sandbox.conventions import (AP_CONTROL, BILLING_LOG_BASE, EXPENSE_ENTRY_BASE, LOCATIONS,
                                 NET_30, NO_TAX_LEVELS, OUTSIDE_SCOPE, PROCUREMENT_ROW_BASE,
                                 STANDARD_VAT, currency, money)
from sandbox.repricing import pence, summary_money

_TERRITORIES = {name.casefold(): location for location, name in LOCATIONS.items()}


def closed(doc: dict) -> str:
    return f"{str(doc['documentDate'])[:10]}T17:00:00Z"


def invoice_location(doc: dict) -> int:
    return _TERRITORIES.get(str(doc.get("salesTerritory") or "").casefold(), 1)


def _no_tax_levels(row: dict) -> None:
    for level in NO_TAX_LEVELS:
        row.update({f"{level}TaxFlag": False, f"{level}TaxXref": "", f"{level}TaxAmount": 0.0})


def _finish(row: dict, doc: dict) -> dict:
    row.update({"dateClosed": closed(doc),
                "_info": {"lastUpdated": closed(doc), "updatedBy": "sandbox"}})
    return row


def invoice_row(doc: dict, index: int) -> dict:
    """The ``UnpostedInvoice`` of a ``GLExportTransaction``."""
    location, ref = invoice_location(doc), doc["company"]
    taxable = bool(doc.get("taxable", True))
    row = {"id": doc["id"], "billingLogId": BILLING_LOG_BASE + index, "locationId": location,
           "location": {"id": location, "name": LOCATIONS[location]}, "departmentId": 1,
           "department": {"id": 1, "name": "Service Delivery"}, "company": ref,
           "accountNumber": doc.get("companyAccountNumber", ""), "billToCompany": ref,
           "billToSite": doc.get("site") or {"id": ref["id"], "name": "Main"},
           "shipToCompany": ref, "invoiceNumber": doc["documentNumber"],
           "invoiceDate": doc["documentDate"], "invoiceType": doc.get("billingType") or
           ("CreditMemo" if doc["documentType"].upper() == "CREDITMEMO" else "Standard"),
           "description": doc.get("memo", ""), "billingTerms": doc.get("billingTerms")
           or dict(NET_30), "dueDays": str(doc.get("dueDays", 30)),
           "dueDate": doc.get("dueDate") or doc["documentDate"],
           "currency": doc.get("currency") or currency("GBP"),
           "invoiceTaxableFlag": taxable, "taxCode": doc.get("taxCode") or dict(STANDARD_VAT),
           "avalaraTaxFlag": False, "itemTaxableFlag": False, "stateTaxFlag": taxable,
           "stateTaxXref": doc.get("stateTaxXref", "T1" if taxable else "T9")}
    _no_tax_levels(row)
    row["createdBy"] = doc.get("salesRepId") or "sandbox"
    _finish(row, doc)
    row.update(summary_money(doc))
    detail = doc["detail"]
    row.update({"hasTime": any("timeEntry" in d for d in detail), "hasExpenses": False,
                "hasProducts": any(d.get("glItemId") for d in detail)})
    return row


def bill_row(bill: dict, index: int, location: int) -> dict:
    """The ``UnpostedExpense`` of a ``GLExportExpenseBill`` (one row per bill)."""
    first, details = bill["detail"][0], bill["detail"]
    gross = sum(pence(d["total"]) for d in details)
    vat = sum(pence(d.get("taxAmount") or 0) for d in details)
    billable = sum(pence(d["total"]) for d in details if d.get("billable"))
    code = (bill.get("currency") or {}).get("currencyCode", "GBP")
    kind = first.get("expenseType") or {"id": 0, "name": first.get("memo", "")}
    row = {"id": bill["id"], "locationId": location, "departmentId": 1,
           "company": first.get("company"), "accountNumber": first.get("accountNumber", ""),
           "creditAccount": bill.get("apAccountNumber", AP_CONTROL),
           "expenseDetailId": EXPENSE_ENTRY_BASE + index * 8, "expenseType": kind,
           "classification": "Reimbursable" if any(d.get("reimbursable", True) for d in details)
           else "NonReimbursable", "glType": "EE", "member": bill["member"],
           "dateExpense": bill["documentDate"], "inPolicy": True,
           "paymentMethod": {"id": 1, "name": "Employee"},
           "currency": bill.get("currency") or currency("GBP"), "total": money(gross),
           "billableAmount": money(billable), "nonBillableAmount": money(gross - billable),
           "taxCode": dict(STANDARD_VAT if code == "GBP" else OUTSIDE_SCOPE),
           "avalaraTaxFlag": False, "itemTaxableFlag": False, "salesTaxAmount": money(vat),
           "stateTaxFlag": vat > 0, "stateTaxXref": "T1" if vat else "",
           "stateTaxAmount": money(vat)}
    _no_tax_levels(row)
    return _finish(row, bill)


def purchase_row(doc: dict, index: int) -> dict:
    """The ``UnpostedProcurement`` of a ``GLExportPurchaseTransaction``."""
    row_id, number = PROCUREMENT_ROW_BASE + index, str(doc["documentNumber"])
    vat = -sum(pence(t["total"]) for t in doc["purchaseDetailTax"])
    taxable = bool(doc.get("purchaseHeaderTaxableFlag", bool(doc["purchaseDetailTax"])))
    row = {"id": row_id, "unpostedProductId": str(row_id),
           "description": doc.get("description") or f"Purchase order {number}",
           "locationId": 1, "departmentId": 1, "procurementType": "Purchase",
           "purchaseOrder": {"id": int(number) if number.isdigit() else row_id,
                             "name": number},
           "purchaseDate": doc.get("purchaseDate") or doc["documentDate"], "trackingNumber": "",
           "billingTerms": doc.get("billingTerms") or dict(NET_30),
           "currency": doc.get("currency") or currency("GBP"), "total": _money(doc["total"]),
           "taxCode": doc.get("taxCode") or dict(STANDARD_VAT if taxable else OUTSIDE_SCOPE),
           "avalaraTaxFlag": False, "itemTaxableFlag": False,
           "purchaseOrderTaxableFlag": taxable, "stateTaxFlag": taxable,
           "stateTaxXref": "T1" if taxable else "", "stateTaxAmount": money(vat)}
    _no_tax_levels(row)
    row.update({"taxTotal": money(vat), "vendor": doc["company"],
                "vendorAccountNumber": doc.get("vendorAccountNumber", ""),
                "vendorInvoiceNumber": doc.get("vendorInvoiceNumber", ""),
                "vendorInvoiceDate": doc.get("vendorInvoiceDate") or doc["documentDate"],
                "taxFreightFlag": taxable, "freightCost": _money(doc.get("freightAmount", 0))})
    return _finish(row, doc)


def _money(value: Any) -> float:
    return money(pence(Decimal(str(value))))
