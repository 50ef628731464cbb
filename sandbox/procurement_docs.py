"""Purchase transactions as ConnectWise writes them, and the procurement document kind.

See ``sandbox.procurement`` for the conventions (text ``id``, signs, carriage, input VAT).
"""

from __future__ import annotations

from datetime import date
from typing import Any, Callable

from sandbox import catalogue as cat
from sandbox.companies import company_ref
from sandbox.conventions import (AP_CONTROL, CARRIAGE, NET_30, NO_TAX_LEVELS, OUTSIDE_SCOPE,
                                 PROCUREMENT_ROW_BASE, PURCHASE_ORDER_BASE, STANDARD_VAT,
                                 VAT_INPUT, VAT_PERCENT, ZONELESS_EVERY, BrokenDocument,
                                 currency, day, money, stamp)
from sandbox.entries import purchase_entries
from sandbox.procurement import ProcurementBook, Purchase, PurchaseLine

Lookup = Callable[[int], dict]
_DETAIL = {"missing_vendor_account": "vendor {name} has no Vendor ID / account number",
           "unmapped_gl_account": "a purchase line posts to GL account 5999"}


def po_number(index: int) -> int:
    return PURCHASE_ORDER_BASE + index


def label(index: int) -> str:
    return f"PO #{po_number(index)}, Packing Slip: {po_number(index)}"


def _common(purchase: Purchase, vendor: dict, ctx: dict) -> dict:
    return {"documentDate": ctx["date"], "glClass": "", "vendorNumber": "",
            "vendorAccountNumber": vendor["vendorIdentifier"], "currency": ctx["currency"],
            "taxCode": ctx["taxCode"], "taxAgencyXref": "", "purchaseHeaderTaxGroup":
            ctx["taxCode"]["name"], "serializedFlag": False, "serialNumbers": "",
            "dropShippedFlag": False}


def _detail(line: PurchaseLine, gl_id: int, sign: int, number: int, ctx: dict) -> dict:
    sku, item_id, short, long, price, _ = cat.PRODUCTS[line.product]
    return {"id": gl_id, **ctx["common"], "glTypeId": "RP", "glItemId": sku, "salesCode": "",
            "description": short, "memo": short, "taxNote": "", "accountNumber": line.account,
            "costAccountNumber": line.account, "inventoryAccountNumber": "",
            "item": {"id": item_id, "identifier": sku, "serializedFlag": False},
            "itemDescription": short, "salesDescription": long, "taxable": ctx["taxable"],
            "itemPrice": money(price), "itemCost": money(line.cost),
            "cost": money(line.net), "unitOfMeasure": {"id": 1, "name": "Each"},
            "quantity": sign * line.qty, "total": money(sign * line.net), "lineNumber": number,
            "taxCodeXref": ctx["xref"], "taxRate": 0}


def _freight(purchase: Purchase, gl_id: int, sign: int, number: int, ctx: dict) -> dict:
    return {"id": gl_id, **ctx["common"], "glTypeId": "RP", "glItemId": "", "salesCode": "",
            "description": "Freight", "memo": "Freight", "taxNote": "",
            "accountNumber": CARRIAGE, "costAccountNumber": CARRIAGE,
            "inventoryAccountNumber": "", "itemDescription": "Freight",
            "salesDescription": "Carriage and delivery", "taxable": ctx["taxable"],
            "itemPrice": 0.0, "itemCost": money(purchase.freight),
            "cost": money(purchase.freight), "quantity": sign, "lineNumber": number,
            "total": money(sign * purchase.freight), "taxCodeXref": ctx["xref"], "taxRate": 0}


def _tax(purchase: Purchase, gl_id: int, sign: int, ctx: dict) -> dict:
    return {"id": gl_id, **ctx["common"], "glTypeId": "ST", "glItemId": "",
            "description": "Level 1 Sales Tax", "memo": "Sales Tax", "taxNote": "AUTOSTAX",
            "accountNumber": VAT_INPUT, "itemDescription": "Sales Tax", "quantity": 0,
            "total": money(sign * purchase.vat), "taxableFlag": True,
            "taxRate": VAT_PERCENT / 100, "taxRatePercent": VAT_PERCENT}


def purchase_transaction(book: ProcurementBook, index: int, company: Lookup) -> dict:
    """The ``GLExportPurchaseTransaction`` of purchase ``index``."""
    purchase = book.purchase(index)
    vendor = company(purchase.vendor["id"])
    sign = 1 if purchase.is_return else -1
    ctx = {"date": stamp(day(purchase.offset), index % ZONELESS_EVERY != ZONELESS_EVERY - 1),
           "currency": currency(purchase.vendor["currency"]["currencyCode"]),
           "taxCode": dict(STANDARD_VAT if purchase.taxable else OUTSIDE_SCOPE),
           "taxable": purchase.taxable, "xref": "T1" if purchase.taxable else "T9"}
    ctx["common"] = _common(purchase, vendor, ctx)
    ids = iter(range(book.gl_base(index), book.gl_base(index) + 10))
    details = [_detail(line, next(ids), sign, n, ctx)
               for n, line in enumerate(purchase.lines, start=1)]
    if purchase.freight:
        details.append(_freight(purchase, next(ids), sign, len(details) + 1, ctx))
    taxes = [_tax(purchase, next(ids), sign, ctx)] if purchase.vat else []
    return {"id": label(index), **_header(purchase, vendor, ctx, -sign), "purchaseDetail":
            details, "purchaseDetailTax": taxes}


def _header(purchase: Purchase, vendor: dict, ctx: dict, sign: int) -> dict:
    number = po_number(purchase.index)
    return {"documentNumber": str(number), "documentDate": ctx["date"],
            "purchaseDate": ctx["date"], "vendorInvoiceNumber": purchase.vendor_invoice,
            "vendorInvoiceDate": ctx["date"], "vendorNumber": "",
            "vendorAccountNumber": vendor["vendorIdentifier"], "company": company_ref(vendor),
            "companyType": {"id": 5, "name": "Vendor"},
            "site": {"id": vendor["id"], "name": "Main"}, "apAccountNumber": AP_CONTROL,
            "total": money(sign * (purchase.net + purchase.vat)),
            "freightAmount": money(purchase.freight), "currency": ctx["currency"],
            "taxCode": ctx["taxCode"], "taxGroupRate": VAT_PERCENT / 100 if ctx["taxable"]
            else None, "purchaseHeaderTaxGroup": ctx["taxCode"]["name"],
            "stateTaxXref": ctx["xref"], "countyTaxXref": "", "cityTaxXref": "",
            "taxAgencyXref": "", "purchaseHeaderTaxableFlag": ctx["taxable"],
            "purchaseHeaderFreightTaxableFlag": ctx["taxable"], "useAvalaraTaxFlag": False,
            "dropshipFlag": False, "taxLevels": [{"taxCodeXref": ctx["xref"], "taxLevel": 1}],
            "billingTerms": dict(NET_30), "billingTermsXref": "Net 30", "dueDays": 30,
            "description": f"Purchase order {number}" + (" (return)" if purchase.is_return
                                                          else ""),
            "memo": f"PO {number} received", "purchaseClass": "", "packingSlip": str(number),
            "freightPackingSlip": str(number) if purchase.freight else ""}


def row_id(index: int) -> int:
    return PROCUREMENT_ROW_BASE + index


def location(index: int) -> int:
    return 2 if index % 4 == 3 else 1


def unposted_row(book: ProcurementBook, index: int, company: Lookup) -> dict:
    """The ``UnpostedProcurement`` summary (one row per purchase transaction)."""
    purchase = book.purchase(index)
    vendor, number = company(purchase.vendor["id"]), po_number(index)
    sign, xref = (-1 if purchase.is_return else 1), ("T1" if purchase.taxable else "")
    closed = stamp(day(purchase.offset), hour=11, minute=index * 11 % 60)
    row = {"id": row_id(index), "unpostedProductId": str(row_id(index)),
           "description": f"Purchase order {number}", "locationId": location(index),
           "departmentId": 1, "procurementType": "Purchase",
           "purchaseOrder": {"id": number, "name": str(number)},
           "purchaseDate": stamp(day(purchase.offset)), "trackingNumber": "",
           "billingTerms": dict(NET_30), "currency": dict(vendor["currency"]),
           "total": money(sign * (purchase.net + purchase.vat)),
           "taxCode": dict(STANDARD_VAT if purchase.taxable else OUTSIDE_SCOPE),
           "avalaraTaxFlag": False, "itemTaxableFlag": False,
           "purchaseOrderTaxableFlag": purchase.taxable, "stateTaxFlag": purchase.taxable,
           "stateTaxXref": xref, "stateTaxAmount": money(sign * purchase.vat)}
    for level in NO_TAX_LEVELS:
        row.update({f"{level}TaxFlag": False, f"{level}TaxXref": "", f"{level}TaxAmount": 0.0})
    row.update({"taxTotal": money(sign * purchase.vat), "vendor": company_ref(vendor),
                "vendorAccountNumber": vendor["vendorIdentifier"],
                "vendorInvoiceNumber": purchase.vendor_invoice,
                "vendorInvoiceDate": stamp(day(purchase.offset)),
                "taxFreightFlag": purchase.taxable, "freightCost": money(purchase.freight),
                "dateClosed": closed, "_info": {"lastUpdated": closed, "updatedBy": "jbarker"}})
    return row


def vendor_entry(vendor: dict) -> dict:
    """The ``GLExportVendor`` of a supplier company (``vendorNumber`` is "" as observed)."""
    ref = company_ref(vendor)
    return {"vendor": ref, "company": ref, "vendorNumber": "",
            "accountNumber": vendor["vendorIdentifier"], "billingTerms": dict(NET_30),
            "dueDays": 30, "site": {"id": vendor["id"], "name": "Main"},
            "taxCode": dict(vendor["taxCode"])}


def row_index(list_id: Any, first: int, count: int) -> int | None:
    """The purchase a row id names (``includedProductIds`` carry it as text), when it is one
    of the ``count`` purchases from ``first``."""
    if not isinstance(list_id, str) or not list_id.isdigit():
        return None
    index = int(list_id) - PROCUREMENT_ROW_BASE
    return index if first <= index < first + count else None


class ProcurementKind:
    """Purchase transactions: ``purchaseTransactions`` + ``vendors`` of the GLExport."""

    kind, flag, section = "procurement", "exportProductsFlag", "purchaseTransactions"
    included, excluded, id_type = "includedProductIds", "excludedProductIds", str

    def __init__(self, book: ProcurementBook, company: Lookup):
        self.book, self.company = book, company
        self.count = book.count
        sample = self.unposted_row(0, "full") if self.count else {}
        self.fields = frozenset(sample) | {"_info"} if sample else frozenset()

    def index_of(self, list_id: Any) -> int | None:
        return row_index(list_id, 0, self.count)

    def row_index(self, row: int) -> int | None:
        return row_index(str(row), 0, self.count)

    def gl_block(self, gl_id: int) -> int | None:
        return self.book.gl_block(gl_id)

    def gl_ids(self, index: int) -> list[int]:
        return self.book.gl_ids(index)

    def document(self, index: int) -> dict:
        return purchase_transaction(self.book, index, self.company)

    def unposted_row(self, index: int, tier: str) -> dict:
        return unposted_row(self.book, index, self.company)

    def tier(self, needed: frozenset[str] | None) -> str:
        return "full"

    def document_date(self, index: int) -> date:
        return day(self.book.purchase(index).offset)

    def location(self, index: int) -> int:
        return location(index)

    def parties(self, indexes: list[int]) -> dict[str, list[dict]]:
        ids = sorted({self.book.purchase(i).vendor["id"] for i in indexes})
        return {"vendors": [vendor_entry(self.company(i)) for i in ids]}

    def describe(self, index: int) -> str:
        return f"purchase transaction '{label(index)}'"

    def entries(self, index: int) -> list[dict]:
        return purchase_entries(self.document(index), po_number(index))

    def broken(self) -> list[BrokenDocument]:
        return [BrokenDocument("purchase_transaction", label(index), reason,
                               _DETAIL[reason].format(name=self.book.purchase(index)
                                                      .vendor["name"]))
                for index, reason in sorted(self.book.broken.items())]
