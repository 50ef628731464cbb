"""Invoice documents as ConnectWise writes them: GLExportTransaction, UnpostedInvoice and
GLExportCustomer (docs/connectwise-behaviour.md, "Unposted invoices" and "Invoices and credit
memos").

Sign convention, exactly as ConnectWise writes GL payloads: on an invoice the detail lines are
credits (negative ``quantity`` and ``total``, positive ``itemPrice``) and the header ``total``
is positive; on a credit memo (``documentType`` ``CREDITMEMO``, ``billingType`` ``CreditMemo``)
every sign flips. Header money fields (``total``, ``taxableTotal``, ``salesTax``…) carry the
header's sign, so ``sum(detail.total) + total == 0`` for every document.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Callable

from sandbox import catalogue as cat
from sandbox.companies import Customer, company_ref
from sandbox.conventions import (AR_CONTROL, BILLING_LOG_BASE, INVOICE_NUMBER_BASE, LOCATIONS,
                                 NET_30, NO_TAX_LEVELS, VAT_OUTPUT, VAT_PERCENT, ZONELESS_EVERY,
                                 currency, day, money, stamp)
from sandbox.invoices import Header, InvoiceBook, Line

CompanyLookup = Callable[[int], dict]
FULL_FIELDS = frozenset({"subTotal", "total", "salesTaxAmount", "stateTaxAmount", "hasTime",
                         "hasExpenses", "hasProducts"})


def document_number(index: int) -> str:
    return str(INVOICE_NUMBER_BASE + index)


def _dates(header: Header, zone: bool) -> tuple[str, str]:
    issued = day(header.offset)
    return stamp(issued, zone), stamp(issued + timedelta(days=30), zone)


def _memo(header: Header) -> str:
    month = day(header.offset).strftime("%B %Y")
    if header.billing_type == "Agreement":
        return f"{header.customer.agreement} - {month}"
    if header.credit:
        return "Credit note - returned goods and service credit"
    return f"Support, projects and hardware - {month}"


def _rep(header: Header) -> tuple[str, str]:
    first, last = cat.STAFF[header.rep]
    return f"{first[0]}{last.replace(chr(39), '')}", f"{first} {last}"


def _quantity(tenths: int) -> float | int:
    return tenths // 10 if tenths % 10 == 0 else tenths / 10


def _line_texts(line: Line, header: Header) -> dict[str, Any]:
    if line.kind == "product":
        sku, item_id, short, long, _, _ = cat.PRODUCTS[line.ref]
        return {"glItemId": sku, "item": {"id": item_id, "identifier": sku,
                                          "serializedFlag": False},
                "itemDescription": short, "salesDescription": long, "memo": short,
                "description": "Taxable Products" if line.xref == "T1" else "Non-Taxable Products",
                "unitOfMeasure": {"id": 1, "name": "Each"}}
    if line.kind == "labour":
        text = f"Remote support - {cat.TICKET_SUMMARIES[line.ref]}"
        return {"glItemId": "", "itemDescription": "Remote support", "salesDescription": text,
                "memo": text, "description": "Services", "timeEntry": {"id": line.entry},
                "unitOfMeasure": {"id": 2, "name": "Hour"}}
    if line.kind == "agreement":
        text = f"{cat.AGREEMENTS[line.ref]} - {day(header.offset).strftime('%B %Y')}"
        return {"glItemId": "", "itemDescription": cat.AGREEMENTS[line.ref],
                "salesDescription": text, "memo": text, "description": text,
                "unitOfMeasure": {"id": 3, "name": "Month"}}
    text = cat.DISBURSEMENTS[line.ref][0]
    return {"glItemId": "", "itemDescription": text, "salesDescription": text, "memo": text,
            "description": "Non-Taxable Expenses", "unitOfMeasure": {"id": 1, "name": "Each"}}


def _common(ctx: dict) -> dict:
    return {"glClass": "", "currency": ctx["currency"],
            "documentDate": ctx["date"], "documentType": ctx["type"], "taxCode": ctx["taxCode"],
            "taxAgencyXref": "", "taxable2Flag": False, "taxable3Flag": False,
            "taxable4Flag": False, "taxable5Flag": False, "invoiceSummaryOption": "0",
            "serializedFlag": False, "serialNumbers": "", "dropShippedFlag": False}


def _detail(line: Line, gl_id: int, sign: int, ctx: dict) -> dict:
    cost = line.price * 72 // 100 if line.kind == "product" else 0
    taxable = line.xref == "T1"
    return {"id": gl_id, "glTypeId": "RP", **_common(ctx), "accountNumber": line.account,
            "productAccountNumber": line.account, "costAccountNumber": "",
            "inventoryAccountNumber": "", "salesCode": "", **_line_texts(line, ctx["header"]),
            "quantity": _quantity(sign * line.qty), "itemPrice": money(line.price),
            "itemCost": money(cost), "cost": money(cost * line.qty // 10),
            "total": money(sign * line.net), "taxCodeXref": line.xref, "taxRate": 0,
            "taxNote": "", "taxableFlag": taxable, "itemTaxableFlag": taxable,
            "taxLevels": [{"taxLevel": 1, "taxableFlag": taxable}]}


def tax_line(gl_id: int, amount: int, ctx: dict) -> dict:
    return {"id": gl_id, "glTypeId": "ST", **_common(ctx), "accountNumber": VAT_OUTPUT,
            "productAccountNumber": "", "costAccountNumber": "", "inventoryAccountNumber": "",
            "salesCode": "", "glItemId": "", "itemDescription": "Sales Tax",
            "salesDescription": "", "memo": "Sales Tax", "description": "Level 1 Sales Tax",
            "quantity": 0, "itemPrice": 0.0, "itemCost": 0.0, "cost": 0.0,
            "total": money(amount), "taxCodeXref": "T1", "taxRate": VAT_PERCENT / 100,
            "taxRatePercent": VAT_PERCENT, "taxNote": "AUTOSTAX", "taxableFlag": True,
            "itemTaxableFlag": False, "taxLevels": [{"taxLevel": 1, "taxableFlag": True}]}


def transaction(book: InvoiceBook, index: int, company: CompanyLookup) -> dict:
    """The ``GLExportTransaction`` of invoice ``index``."""
    header, lines = book.document(index)
    totals = book.remember(index, lines)
    record = company(header.customer.id)
    doc_date, due = _dates(header, zone=index % ZONELESS_EVERY != ZONELESS_EVERY - 1)
    ctx = {"header": header, "date": doc_date, "currency": currency(header.customer.currency),
           "type": "CREDITMEMO" if header.credit else "INVOICE", "taxCode": record["taxCode"]}
    sign = 1 if header.credit else -1
    ids = iter(range(book.gl_base(index), book.gl_base(index) + book.stride))
    glentry = [next(ids) for _ in range(header.header_ids)]
    detail = [_detail(line, next(ids), sign, ctx) for line in lines]
    if totals.vat:
        detail.append(tax_line(next(ids), sign * totals.vat, ctx))
    return {"id": book.doc_id(index), "glTypeId": "AR", "glClass": "",
            "documentType": ctx["type"], "documentNumber": document_number(index),
            "documentDate": doc_date, "dueDate": due, **_parties(header, record),
            "glEntryIds": ",".join(map(str, glentry)), "currency": ctx["currency"],
            **_header_money(header, totals, -sign), "detail": detail}


def _parties(header: Header, record: dict) -> dict:
    rep_id, rep_name = _rep(header)
    return {"memo": _memo(header), "description": "Accounts Receivable", "attention": "",
            "salesTerritory": LOCATIONS[header.location], "salesRepId": rep_id,
            "salesRepName": rep_name, "company": company_ref(record),
            "companyType": {"id": 1, "name": "Client"},
            "site": {"id": record["id"], "name": "Main"},
            "companyAccountNumber": record["accountNumber"], "accountNumber": AR_CONTROL,
            "billingTerms": dict(NET_30), "billingTermsXref": "Net 30", "dueDays": 30,
            "billingType": header.billing_type, "taxCode": record["taxCode"],
            "taxId": record["taxIdentifier"]}


def _header_money(header: Header, totals, sign: int) -> dict:
    taxable, vat = money(sign * totals.taxable), money(sign * totals.vat)
    xref = header.customer.tax_xref
    return {"total": money(sign * (totals.net + totals.vat)), "taxable": header.customer.taxable,
            "taxableTotal": taxable, "salesTax": vat, "stateTax": vat, "countyTax": 0.0,
            "cityTax": None, "taxableAmount1": taxable, "taxableAmount2": 0.0,
            "taxableAmount3": 0.0, "taxableAmount4": 0.0, "taxableAmount5": 0.0,
            "taxGroupRate": VAT_PERCENT / 100 if header.customer.taxable else None,
            "taxAccountNumber": VAT_OUTPUT, "stateTaxXref": xref, "countyTaxXref": "",
            "taxAgencyXref": "",
            "taxLevels": [{"taxLevel": 1, "taxCodeXref": xref, "taxableAmount": taxable,
                           "taxAmount": vat}],
            "piggyBackFlag": False, "taxDpAppliedFlag": False, "useAvalaraFlag": False,
            "sendAvalaraTaxFlag": False, "emailDeliveryFlag": True, "printDeliveryFlag": False,
            "agreementPrePaymentFlag": False}


def unposted_row(book: InvoiceBook, index: int, company: CompanyLookup, tier: str) -> dict:
    """The ``UnpostedInvoice`` summary of invoice ``index``; ``tier`` is id|header|full."""
    if tier == "id":
        return {"id": book.doc_id(index)}
    header = book.header(index)
    record = company(header.customer.id)
    row = _summary_header(book, header, record)
    if tier == "full":
        totals = book.totals(index)
        sign = -1 if header.credit else 1
        vat = money(sign * totals.vat)
        row.update({"subTotal": money(sign * totals.net),
                    "total": money(sign * (totals.net + totals.vat)), "salesTaxAmount": vat,
                    "stateTaxAmount": vat, "hasTime": totals.has_time, "hasExpenses": False,
                    "hasProducts": totals.has_products})
    return row


def _summary_header(book: InvoiceBook, header: Header, record: dict) -> dict:
    doc_date, due = _dates(header, zone=True)
    closed = stamp(day(header.offset), hour=9 + header.index % 8, minute=header.index * 7 % 60)
    customer, ref = header.customer, company_ref(record)
    row = {"id": book.doc_id(header.index), "billingLogId": BILLING_LOG_BASE + header.index,
           "locationId": header.location,
           "location": {"id": header.location, "name": LOCATIONS[header.location]},
           "departmentId": 1, "department": {"id": 1, "name": "Service Delivery"},
           "company": ref, "accountNumber": record["accountNumber"], "billToCompany": ref,
           "billToSite": {"id": record["id"], "name": "Main"}, "shipToCompany": ref,
           "invoiceNumber": document_number(header.index), "invoiceDate": doc_date,
           "invoiceType": header.billing_type, "description": _memo(header),
           "billingTerms": dict(NET_30), "dueDays": "30", "dueDate": due,
           "currency": currency(customer.currency), "invoiceTaxableFlag": customer.taxable,
           "taxCode": record["taxCode"], "avalaraTaxFlag": False, "itemTaxableFlag": False,
           "stateTaxFlag": customer.taxable, "stateTaxXref": customer.tax_xref}
    for level in NO_TAX_LEVELS:
        row.update({f"{level}TaxFlag": False, f"{level}TaxXref": "", f"{level}TaxAmount": 0.0})
    row.update({"createdBy": _rep(header)[0], "dateClosed": closed,
                "_info": {"lastUpdated": closed, "updatedBy": _rep(header)[0]}})
    return row


def customer_entry(customer: Customer, record: dict) -> dict:
    """The ``GLExportCustomer`` of a client referenced by exported transactions."""
    return client_entry(record, customer.taxable)


def client_entry(record: dict, taxable: bool) -> dict:
    """The ``GLExportCustomer`` of the company ``record``, VAT-registered (T1) or not (T9)."""
    rate = VAT_PERCENT if taxable else 0
    xref = "T1" if taxable else "T9"
    entry = {"company": company_ref(record), "companyType": {"id": 1, "name": "Client"},
             "site": {"id": record["id"], "name": "Main"},
             "accountNumber": record["accountNumber"], "billingTerms": dict(NET_30),
             "billingTermsXref": "Net 30", "dueDays": 30, "taxable": taxable,
             "taxCode": record["taxCode"], "currency": record["currency"],
             "stateTaxXref": xref, "stateTaxRate": rate, "taxGroupRate": None,
             "taxAgencyXref": "", "stateTaxAgencyXref": ""}
    for level in ("county", "city", "country", "composite"):
        entry.update({f"{level}TaxXref": "", f"{level}TaxRate": 0,
                      f"{level}TaxAgencyXref": ""})
    entry["taxLevels"] = [{"taxLevel": 1, "taxCodeXref": xref, "taxRate": rate,
                           "agencyXref": ""}]
    return entry
