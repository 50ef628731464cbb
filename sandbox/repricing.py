"""Invoice edits laid over the exported documents (what ``PATCH /finance/invoices/{id}`` does).

An edit records, per detail line (keyed by the line's GL entry id), the new unsigned
``quantity`` and ``itemPrice``. ``reprice`` rebuilds a ``GLExportTransaction`` from its
original and those edits, keeping every invariant of the sandbox's exports:

* a line's ``total`` is quantity × itemPrice with the document's sign (negative on an invoice,
  positive on a credit memo); ``cost`` follows the quantity;
* VAT is worked out again once per document — 20 % of the T1 lines, rounded half-up — on the
  one sales-tax (ST) line, which is there when VAT is due and gone when it is not;
* the header ``total``, ``taxableTotal``/``taxableAmount1``, ``salesTax``/``stateTax`` and
  ``taxLevels`` follow, so the detail totals plus the header total still sum to zero.

GL entry ids never change. An ST line that a zero-VAT invoice lacked takes the next id of the
document's own block of ids (every seeded invoice has room); a fixture invoice has no such
block, so an edit that would give it VAT without an ST line is refused.
"""

from __future__ import annotations

import copy
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Callable, Mapping

from sandbox.conventions import money, vat_half_up
from sandbox.entries import invoice_entries, invoice_gl_ids
from sandbox.invoice_docs import tax_line

TAXED = "T1"                       # the only tax code that carries VAT (20 %)
Edits = Mapping[str, Mapping[str, str]]   # GL id (text) -> {"quantity", "itemPrice"}


class RepriceError(ValueError):
    """An edit the document cannot take; ``field`` names the part of the request."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def pence(value: Any) -> int:
    """A JSON amount (or Decimal) as whole pence, half-up."""
    return int((Decimal(str(value)) * 100).quantize(Decimal(1), ROUND_HALF_UP))


def is_credit(doc: Mapping[str, Any]) -> bool:
    return str(doc.get("documentType", "")).casefold() == "creditmemo"


def _number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def reprice(doc: dict, lines: Edits, spare_id: int | None) -> dict:
    """A copy of ``doc`` with the edited lines, its VAT and header worked out again."""
    doc = copy.deepcopy(doc)
    sign = 1 if is_credit(doc) else -1
    for line in doc["detail"]:
        change = lines.get(str(line["id"]))
        if change:
            _set_line(line, Decimal(change["quantity"]), Decimal(change["itemPrice"]), sign)
    _set_tax(doc, spare_id)
    return doc


def _set_line(line: dict, quantity: Decimal, price: Decimal, sign: int) -> None:
    line["quantity"] = _number(sign * quantity)
    line["itemPrice"] = money(pence(price))
    line["total"] = money(sign * pence(quantity * price))
    if "itemCost" in line and "cost" in line:
        line["cost"] = money(pence(quantity * Decimal(str(line["itemCost"]))))


def _set_tax(doc: dict, spare_id: int | None) -> None:
    detail = doc["detail"]
    taxes = [d for d in detail if d.get("glTypeId") == "ST"]
    if len(taxes) > 1:
        raise RepriceError("lines", f"invoice {doc['id']} has {len(taxes)} sales-tax (ST) "
                           "lines; the sandbox reprices invoices with at most one")
    lines = [d for d in detail if d.get("glTypeId") != "ST"]
    taxable = -sum(pence(d["total"]) for d in lines if d.get("taxCodeXref") == TAXED)
    vat = vat_half_up(taxable)
    if vat and not taxes:
        if spare_id is None:
            raise RepriceError("lines", f"the edited lines of invoice {doc['id']} carry VAT "
                               f"({money(abs(vat)):.2f}) but it has no sales-tax (ST) line "
                               "to hold it; give it one in the documents file")
        taxes = [tax_line(spare_id, 0, {"currency": doc["currency"], "taxCode": doc["taxCode"],
                                        "date": doc["documentDate"],
                                        "type": doc["documentType"]})]
        detail.append(taxes[0])
    if taxes:
        taxes[0]["total"] = money(-vat)
        if not vat:
            detail.remove(taxes[0])
    _set_header(doc, -sum(pence(d["total"]) for d in lines), taxable, vat)


def _set_header(doc: dict, net: int, taxable: int, vat: int) -> None:
    doc["total"] = money(net + vat)
    for name in ("taxableTotal", "taxableAmount1"):
        if name in doc:
            doc[name] = money(taxable)
    for name in ("salesTax", "stateTax"):
        if name in doc:
            doc[name] = money(vat)
    levels = doc.get("taxLevels")
    if levels and isinstance(levels[0], dict):
        levels[0].update(taxableAmount=money(taxable), taxAmount=money(vat))


def summary_money(doc: Mapping[str, Any]) -> dict[str, float]:
    """The money of an ``UnpostedInvoice`` row, read from its ``GLExportTransaction``."""
    total = pence(doc["total"])
    vat = -sum(pence(d["total"]) for d in doc["detail"] if d.get("glTypeId") == "ST")
    return {"subTotal": money(total - vat), "total": money(total),
            "salesTaxAmount": money(vat), "stateTaxAmount": money(vat)}


class EditedInvoices:
    """An invoice kind with the edits of ``PATCH /finance/invoices/{id}`` laid over it.

    ``edits()`` is the live map invoice id -> ``{"lines": {...}, "_info": {...}}``; whatever
    this class does not override is the wrapped kind's, so an unedited invoice costs nothing.
    """

    def __init__(self, inner: Any, edits: Callable[[], Mapping[int, dict]]):
        self.inner, self._edits = inner, edits

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def edit_of(self, index: int) -> dict | None:
        edits = self._edits()
        return edits.get(self.inner.unposted_row(index, "id")["id"]) if edits else None

    def reprice(self, index: int, lines: Edits) -> dict:
        """The document as it would be with ``lines``; RepriceError if it cannot be."""
        doc = self.inner.document(index)
        spare = max(invoice_gl_ids(doc)) + 1
        return reprice(doc, lines, spare if self.inner.gl_block(spare) == index else None)

    def document(self, index: int) -> dict:
        edit = self.edit_of(index)
        return self.reprice(index, edit["lines"]) if edit else self.inner.document(index)

    def gl_ids(self, index: int) -> list[int]:
        edit = self.edit_of(index)
        return invoice_gl_ids(self.document(index)) if edit else self.inner.gl_ids(index)

    def unposted_row(self, index: int, tier: str) -> dict:
        row = self.inner.unposted_row(index, tier)
        edit = self.edit_of(index) if tier != "id" else None
        if not edit:
            return row
        row = dict(row)
        if "total" in row:
            row.update(summary_money(self.document(index)))
        row["_info"] = {**row.get("_info", {}), **edit.get("_info", {})}
        return row

    def entries(self, index: int) -> list[dict]:
        return invoice_entries(self.document(index))
