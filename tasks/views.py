"""DataFrame views of a chunk, for validation only.

A view is a flat table the expectation suite reads; the records themselves are never rebuilt
from it. Each row carries its document's key, so a failing row quarantines its document. The
view also resolves codes through the mapping tables with the same rules the stylesheet uses
(line tax code, else the document's; line GL account, else the default nominal), so "unmapped"
is judged once, before anything is transformed.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Callable

import pandas as pd

from tasks.entities import AccountingEntity
from tasks.mappings import MappingsConfig

INVOICE_COLUMNS = [
    "doc_key", "document_number", "document_date", "currency", "currency_supported",
    "account_ref", "company_id", "company_name", "item_line_count", "lines_difference",
    "line_id", "line_description", "item_id", "sku", "gl_account", "nominal_code",
    "nominal_is_control", "tax_xref", "tax_code",
]


def _text(value: Any) -> str | None:
    text = "" if value is None else str(value).strip()
    return text or None


def _dec(value: Any) -> Decimal:
    try:
        return Decimal(str(value)) if value not in (None, "") else Decimal("0")
    except ArithmeticError:
        return Decimal("NaN")


def is_item_line(line: dict) -> bool:
    """A detail line that becomes a Sage item: not the sales-tax line, not zero."""
    return (str(line.get("glTypeId") or "").upper() != "ST") and _dec(line.get("total")) != 0


def invoice_view(export: dict, entity: AccountingEntity, mappings: MappingsConfig,
                 control_accounts: list[str]) -> pd.DataFrame:
    rows: list[dict] = []
    for doc in export.get(entity.documents) or []:
        rows.extend(_invoice_rows(doc, entity, mappings, set(control_accounts)))
    frame = pd.DataFrame(rows, columns=INVOICE_COLUMNS)
    return frame.reset_index(drop=True)


def _invoice_rows(doc: dict, entity, mappings: MappingsConfig, control: set[str]) -> list[dict]:
    lines = [d for d in doc.get("detail") or [] if isinstance(d, dict)]
    items = [d for d in lines if is_item_line(d)]
    difference = abs(sum((_dec(d.get("total")) for d in lines), Decimal("0"))
                     + _dec(doc.get("total")))
    company = doc.get("company") if isinstance(doc.get("company"), dict) else {}
    currency = doc.get("currency") if isinstance(doc.get("currency"), dict) else {}
    code = _text(currency.get("currencyCode") or currency.get("isoCode"))
    account = _text(doc.get("companyAccountNumber"))
    base = {
        "doc_key": entity.key(doc), "document_number": _text(doc.get("documentNumber")),
        "document_date": _text(doc.get("documentDate")), "currency": code,
        "currency_supported": code in mappings.currencies,
        "account_ref": account.upper() if account else None,
        "company_id": company.get("id"), "company_name": _text(company.get("name")),
        "item_line_count": len(items),
        "lines_difference": float(difference) if difference.is_finite() else 1e9,
    }
    if not items:
        return [dict(base)]
    return [dict(base, **_line_columns(line, doc, mappings, control)) for line in items]


def _line_columns(line: dict, doc: dict, mappings: MappingsConfig, control: set[str]) -> dict:
    item = line.get("item") if isinstance(line.get("item"), dict) else {}
    item_id = _text(item.get("identifier")) or _text(line.get("glItemId"))
    xref = _text(line.get("taxCodeXref")) or _text(doc.get("stateTaxXref"))
    gl = _text(line.get("accountNumber"))
    nominal = mappings.nominal(gl)
    description = (_text(line.get("itemDescription")) or _text(line.get("salesDescription"))
                   or _text(line.get("description")) or _text(line.get("memo")))
    return {
        "line_id": line.get("id"), "line_description": description, "item_id": item_id,
        "sku": item_id.upper() if item_id else mappings.default_stock_code,
        "gl_account": gl, "nominal_code": nominal,
        "nominal_is_control": bool(nominal and nominal in control),
        "tax_xref": xref, "tax_code": mappings.tax_code(xref),
    }


VIEWS: dict[str, tuple[Callable[..., pd.DataFrame], list[str]]] = {
    "invoices": (invoice_view, INVOICE_COLUMNS),
}
