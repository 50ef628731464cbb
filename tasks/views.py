"""DataFrame views of a chunk, for validation only — built from the resolved documents.

A view is a flat table the expectation suite reads: one row per resolved line (one row for a
document without lines), each carrying its document's key, so a failing row quarantines its
document. Every value comes from the resolve step (``tasks.resolved``): the tax code a line
takes, its nominal, its SKU, the supplier account — so a rule is written once, and the suite
only says which resolved values are acceptable. ``tax_code_fix`` is the fix that gives a line
without a Sage tax code one (a mapping to add, or a default to set), for suites to quote.

The mapping-aware columns (``DOCUMENT_COLUMNS``: the mapped nominal and whether it is a control
account, the mapped Sage tax code and its fix, whether the currency is set up) come with every
kind that has money: the built-in kinds add their own columns to them, and any other kind — one
declared in pipelines.yaml — gets them as they are (``document_view``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Callable

import pandas as pd

from tasks.resolved import Resolved
from tasks.sage50.money import ZERO

_DOC = ["doc_key", "document_number", "document_date", "currency", "currency_supported",
        "account_ref", "item_line_count", "lines_difference"]
_LINE = ["line_id", "line_description", "gl_account", "nominal_code", "nominal_is_control",
         "tax_xref", "tax_code", "tax_code_fix"]
INVOICE_COLUMNS = _DOC + ["company_id", "company_name"] + _LINE + ["item_id", "sku"]
EXPENSE_COLUMNS = _DOC + ["member_name"] + _LINE + ["non_reimbursable_held"]
PURCHASE_COLUMNS = _DOC + ["reference", "vendor_name"] + _LINE
DOCUMENT_COLUMNS = _DOC + ["reference", "document_type", "net", "tax", "gross"] + _LINE + [
    "line_net", "line_tax", "line_negative"]


def _difference(doc: Resolved) -> float:
    diff = doc.header.get("lines_difference", ZERO)
    return float(diff) if isinstance(diff, Decimal) and diff.is_finite() else 1e9


def _doc_row(doc: Resolved, mappings) -> dict:
    return {"doc_key": doc.key, "document_number": doc.number, "document_date": doc.date,
            "currency": doc.currency, "currency_supported": doc.currency in mappings.currencies,
            "account_ref": doc.account, "item_line_count": len(doc.lines),
            "lines_difference": _difference(doc)}


def _line_row(line, control: set[str]) -> dict:
    return {"line_id": line.line_id, "line_description": line.text or None,
            "gl_account": line.gl_account, "nominal_code": line.nominal,
            "nominal_is_control": bool(line.nominal and line.nominal in control),
            "tax_xref": line.tax_xref, "tax_code": line.tax_code,
            "tax_code_fix": line.tax_code_fix}


def _rows(resolved: dict[str, Resolved], mappings, control: set[str], header, line_extra,
          columns: list[str]) -> pd.DataFrame:
    rows: list[dict] = []
    for doc in resolved.values():
        base = dict(_doc_row(doc, mappings), **header(doc))
        rows += [dict(base, **_line_row(ln, control), **line_extra(ln, mappings))
                 for ln in doc.lines] or [base]
    return pd.DataFrame(rows, columns=columns).reset_index(drop=True)


def invoice_view(resolved: dict[str, Resolved], mappings, control: set[str]) -> pd.DataFrame:
    return _rows(resolved, mappings, control,
                 lambda d: {"company_id": d.header.get("company_id"),
                            "company_name": d.header.get("company_name")},
                 lambda ln, m: {"item_id": ln.extra.get("item_id"), "sku": ln.sku},
                 INVOICE_COLUMNS)


def expense_view(resolved: dict[str, Resolved], mappings, control: set[str]) -> pd.DataFrame:
    return _rows(resolved, mappings, control,
                 lambda d: {"member_name": d.header.get("member_name")},
                 lambda ln, m: {"non_reimbursable_held": m.non_reimbursable == "hold"
                                and ln.extra.get("reimbursable") is False},
                 EXPENSE_COLUMNS)


def purchase_view(resolved: dict[str, Resolved], mappings, control: set[str]) -> pd.DataFrame:
    return _rows(resolved, mappings, control,
                 lambda d: {"reference": d.full_reference,
                            "vendor_name": d.header.get("vendor_name")},
                 lambda ln, m: {}, PURCHASE_COLUMNS)


def document_view(resolved: dict[str, Resolved], mappings, control: set[str]) -> pd.DataFrame:
    """The view of any kind with money: the resolved header and ConnectWise's totals, and per
    line its mapped codes and its money (floats: a suite compares, it never adds up)."""
    return _rows(resolved, mappings, control,
                 lambda d: {"reference": d.full_reference, "document_type": d.doc_type,
                            "net": _number(d.cw_net), "tax": _number(d.cw_tax),
                            "gross": _number(d.cw_gross)},
                 lambda ln, m: {"line_net": _number(ln.net), "line_tax": _number(ln.tax),
                                "line_negative": ln.negative},
                 DOCUMENT_COLUMNS)


def _number(value: Decimal | None) -> float | None:
    return float(value) if isinstance(value, Decimal) and value.is_finite() else None


# -- list endpoints -----------------------------------------------------------------------
def record_view(export: dict, entity) -> pd.DataFrame:
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


View = tuple[Callable[..., pd.DataFrame], list[str]]
# the built-in accounting kinds' own views; any other kind with money gets the document view
VIEWS: dict[str, View] = {
    "invoices": (invoice_view, INVOICE_COLUMNS),
    "expenses": (expense_view, EXPENSE_COLUMNS),
    "procurement": (purchase_view, PURCHASE_COLUMNS),
}


def view_for(entity) -> View:
    """The view a kind with money is validated on, and its columns."""
    return VIEWS.get(entity.name, (document_view, DOCUMENT_COLUMNS))


def view_columns(entity, fields: str | None) -> list[str] | None:
    """The columns a kind's suite may name, known before any record is read: a kind with
    money, its view's; a list endpoint with ``fields``, those fields (a nested one also as its
    flattened ``field_sub`` columns, matched by prefix in ``suite_columns_missing``) and
    ``doc_key``; a list endpoint without ``fields`` returns every field: None, not known."""
    if entity.kind != "list":
        return view_for(entity)[1]
    if not fields:
        return None
    return ["doc_key", *(f.strip().replace("/", "_") for f in fields.split(",") if f.strip())]

