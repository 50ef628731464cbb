"""Views: the flat tables a suite reads, built from resolved documents (one row per line, one
for a document without lines) and from list-endpoint records (nested fields flattened)."""

from __future__ import annotations

from decimal import Decimal as D

import pandas as pd

from tasks.entities import ListEntity
from tasks.config.mappings import MappingsConfig
from tasks.resolved import Line, Resolved
from tasks.views import (EXPENSE_COLUMNS, INVOICE_COLUMNS, PURCHASE_COLUMNS, VIEWS,
                         expense_view, invoice_view, purchase_view, record_view)

CONTROL = {"1100", "2200"}


def line(line_id: str, nominal: str | None = "4000", tax_code: int | None = 1,
         **extra) -> Line:
    return Line(line_id, "item", f"text {line_id}", None, "4000", nominal, "T1", tax_code,
                D("10.00"), False, sku="S1", tax_code_fix=None if tax_code is not None
                else "add T1 to pipelines.x.mappings.tax_codes", extra=extra)


def doc(key: str, lines: list[Line], currency: str = "GBP", **header) -> Resolved:
    return Resolved(key, key[-4:], "SI", "ACME01", "2026-10-20", None, key[-4:],
                    f"full {key}", currency, None, lines, D("0"), D("0"), D("0"), None,
                    header=header)


def test_one_row_per_line_each_carrying_its_documents_key():
    resolved = {"K-0001": doc("K-0001", [line("a"), line("b", nominal="1100", tax_code=None,
                                                      item_id="FW-1")],
                              company_id=17, company_name="Acme", lines_difference=D("0.00")),
                "K-0002": doc("K-0002", [], currency="EUR")}
    view = invoice_view(resolved, MappingsConfig(currencies=["GBP"]), CONTROL)
    assert list(view.columns) == INVOICE_COLUMNS
    assert list(view["doc_key"]) == ["K-0001", "K-0001", "K-0002"]
    assert list(view.index) == [0, 1, 2]                  # a failing row names its document
    first, second, empty = (view.loc[i] for i in range(3))
    assert (first["line_id"], first["nominal_is_control"], first["tax_code"]) == ("a", False, 1)
    assert (second["nominal_is_control"], second["item_id"], second["company_name"]) == \
        (True, "FW-1", "Acme")
    assert pd.isna(second["tax_code"])
    assert second["tax_code_fix"] == "add T1 to pipelines.x.mappings.tax_codes"
    assert (first["item_line_count"], first["lines_difference"]) == (2, 0.0)
    assert (empty["item_line_count"], empty["currency_supported"]) == (0, False)
    assert all(pd.isna(empty[c]) for c in ("line_id", "nominal_code", "tax_code", "sku"))


def test_a_lines_difference_that_is_not_a_number_fails_the_range_check():
    resolved = {"K-0001": doc("K-0001", [line("a")], lines_difference=D("NaN")),
                "K-0002": doc("K-0002", [line("a")], lines_difference=D("-0.02"))}
    view = invoice_view(resolved, MappingsConfig(), CONTROL)
    assert list(view["lines_difference"]) == [1e9, -0.02]


def test_expenses_hold_a_non_reimbursable_line_only_when_the_mapping_says_hold():
    resolved = {"E-0001": doc("E-0001", [line("a", reimbursable=False), line("b")],
                              member_name="Tom Reid")}
    held = expense_view(resolved, MappingsConfig(non_reimbursable="hold"), CONTROL)
    paid = expense_view(resolved, MappingsConfig(non_reimbursable="employee"), CONTROL)
    assert list(held.columns) == EXPENSE_COLUMNS
    assert list(held["non_reimbursable_held"]) == [True, False]
    assert list(paid["non_reimbursable_held"]) == [False, False]
    assert set(held["member_name"]) == {"Tom Reid"}


def test_purchases_carry_the_full_reference_and_the_vendor():
    resolved = {"P-0001": doc("P-0001", [line("a")], vendor_name="Dell")}
    view = purchase_view(resolved, MappingsConfig(), CONTROL)
    assert list(view.columns) == PURCHASE_COLUMNS
    assert (view.loc[0, "reference"], view.loc[0, "vendor_name"]) == ("full P-0001", "Dell")


def test_every_accounting_kind_has_a_view_with_the_columns_it_declares():
    from tasks.entities import ENTITIES
    for name in ENTITIES:
        build, columns = VIEWS[name]
        assert list(build({}, MappingsConfig(), CONTROL).columns) == columns


def test_records_are_flattened_and_blank_text_is_empty():
    entity = ListEntity(name="companies", unposted_path="/company/companies",
                        key_prefix="CW-CO-")
    view = record_view({"records": [
        {"id": 7, "name": "  ", "currency": {"currencyCode": "GBP", "id": 1},
         "types": [{"id": 1}], "accountNumber": " SMITH01 "}]}, entity)
    assert view.to_dict("records") == [{"id": 7, "name": None, "currency_currencyCode": "GBP",
                                        "currency_id": 1, "accountNumber": "SMITH01",
                                        "doc_key": "CW-CO-7"}]
