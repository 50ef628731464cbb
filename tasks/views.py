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


# -- purchase side ------------------------------------------------------------------------
EXPENSE_COLUMNS = [
    "doc_key", "document_number", "document_date", "currency", "currency_supported",
    "member_name", "account_ref", "item_line_count", "lines_difference", "line_id",
    "line_description", "gl_account", "nominal_code", "nominal_is_control", "tax_xref",
    "tax_code", "tax_within_total", "non_reimbursable_held",
]


def _code(currency: Any) -> str | None:
    currency = currency if isinstance(currency, dict) else {}
    return _text(currency.get("currencyCode") or currency.get("isoCode"))


def expense_view(export: dict, entity: AccountingEntity, mappings: MappingsConfig,
                 control_accounts: list[str]) -> pd.DataFrame:
    rows: list[dict] = []
    control = set(control_accounts)
    for bill in export.get(entity.documents) or []:
        lines = [d for d in bill.get("detail") or [] if isinstance(d, dict)]
        member = bill.get("member") if isinstance(bill.get("member"), dict) else {}
        vendor = _text(bill.get("vendorNumber"))
        code = _code(bill.get("currency"))
        base = {"doc_key": entity.key(bill), "document_number": _text(bill.get("documentNumber")),
                "document_date": _text(bill.get("documentDate")), "currency": code,
                "currency_supported": code in mappings.currencies,
                "member_name": _text(member.get("name")) or _text(member.get("identifier")),
                "account_ref": vendor.upper() if vendor else None,
                "item_line_count": len(lines),
                "lines_difference": float(abs(sum((_dec(d.get("total")) for d in lines),
                                                  Decimal("0")) - _dec(bill.get("total"))))}
        rows += [dict(base, **_expense_line(d, mappings, control)) for d in lines] or [base]
    return pd.DataFrame(rows, columns=EXPENSE_COLUMNS).reset_index(drop=True)


def _expense_line(line: dict, mappings: MappingsConfig, control: set[str]) -> dict:
    gl, xref = _text(line.get("accountNumber")), _text(line.get("taxCodeXref"))
    nominal = mappings.nominal(gl)
    held = mappings.non_reimbursable == "hold" and line.get("reimbursable") is False
    return {"line_id": str(line.get("id")), "line_description": _text(line.get("memo")),
            "gl_account": gl, "nominal_code": nominal,
            "nominal_is_control": bool(nominal and nominal in control), "tax_xref": xref,
            "tax_code": mappings.tax_code(xref),
            "tax_within_total": 0 <= _dec(line.get("taxAmount")) <= _dec(line.get("total")),
            "non_reimbursable_held": held}


PURCHASE_COLUMNS = [
    "doc_key", "document_number", "reference", "document_date", "currency",
    "currency_supported", "vendor_name", "account_ref", "item_line_count", "lines_difference",
    "line_id", "line_description", "gl_account", "nominal_code", "nominal_is_control",
    "tax_xref", "tax_code",
]


def purchase_account(doc: dict, companies: dict) -> str | None:
    """The supplier A/C: vendor account number, else Vendor Nbr, else the company's Vendor ID."""
    company = doc.get("company") if isinstance(doc.get("company"), dict) else {}
    record = companies.get(company.get("id"), {})
    account = (_text(doc.get("vendorAccountNumber")) or _text(doc.get("vendorNumber"))
               or _text(record.get("vendorIdentifier")))
    return account.upper() if account else None


def purchase_view(export: dict, entity: AccountingEntity, mappings: MappingsConfig,
                  control_accounts: list[str]) -> pd.DataFrame:
    companies = {c.get("id"): c for c in export.get("companies") or [] if isinstance(c, dict)}
    rows: list[dict] = []
    control = set(control_accounts)
    for doc in export.get(entity.documents) or []:
        lines = [d for d in doc.get("purchaseDetail") or [] if isinstance(d, dict)]
        taxes = [d for d in doc.get("purchaseDetailTax") or [] if isinstance(d, dict)]
        company = doc.get("company") if isinstance(doc.get("company"), dict) else {}
        code = _code(doc.get("currency"))
        signed = sum((_dec(d.get("total")) for d in lines + taxes), Decimal("0"))
        base = {"doc_key": entity.key(doc), "document_number": _text(doc.get("documentNumber")),
                "reference": _text(doc.get("vendorInvoiceNumber"))
                or _text(doc.get("documentNumber")),
                "document_date": _text(doc.get("documentDate")), "currency": code,
                "currency_supported": code in mappings.currencies,
                "vendor_name": _text(company.get("name")),
                "account_ref": purchase_account(doc, companies),
                "item_line_count": len([d for d in lines if _dec(d.get("total")) != 0]),
                "lines_difference": float(abs(signed + _dec(doc.get("total"))))}
        rows += [dict(base, **_purchase_line(d, doc, mappings, control)) for d in lines] or [base]
    return pd.DataFrame(rows, columns=PURCHASE_COLUMNS).reset_index(drop=True)


def _purchase_line(line: dict, doc: dict, mappings: MappingsConfig, control: set[str]) -> dict:
    gl = _text(line.get("accountNumber"))
    xref = _text(line.get("taxCodeXref")) or _text(doc.get("stateTaxXref"))
    nominal = mappings.nominal(gl)
    return {"line_id": str(line.get("id")),
            "line_description": (_text(line.get("itemDescription"))
                                 or _text(line.get("description"))),
            "gl_account": gl, "nominal_code": nominal,
            "nominal_is_control": bool(nominal and nominal in control), "tax_xref": xref,
            "tax_code": mappings.tax_code(xref)}


# -- list endpoints -----------------------------------------------------------------------
def record_view(export: dict, entity, mappings: MappingsConfig,
                control_accounts: list[str]) -> pd.DataFrame:
    """One row per record, nested fields flattened with ``_`` (``currency_currencyCode``)."""
    rows = [dict(_flatten(r), doc_key=entity.key(r)) for r in export.get(entity.documents) or []]
    return pd.DataFrame(rows).reset_index(drop=True)


def _flatten(record: dict, prefix: str = "") -> dict:
    out: dict = {}
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flatten(value, f"{name}_"))
        elif not isinstance(value, list):
            out[name] = value.strip() or None if isinstance(value, str) else value
    return out


VIEWS.update({
    "expenses": (expense_view, EXPENSE_COLUMNS),
    "procurement": (purchase_view, PURCHASE_COLUMNS),
})


def view_for(entity) -> tuple[Callable[..., pd.DataFrame], list[str] | None]:
    """The view builder and its fixed columns (None: columns follow the records)."""
    if entity.kind == "list":
        return record_view, None
    return VIEWS[entity.name]
