"""Suites: strict loading (every mistake named, with the file) and running one on a small
DataFrame view with Great Expectations — quarantine by document, reasons and fixes filled in
from the failing row."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from tasks.errors import ConfigError
from tasks.suites import check_columns, load_suite, run_suite


def expectation(kind: str, reason: str = "bad {value}", fix: str = "fix {doc_key}",
                **kwargs) -> dict:
    return {"type": kind, "kwargs": kwargs, "meta": {"reason": reason, "fix": fix}}


def write_suite(tmp_path, *expectations: dict, name: str = "t") -> object:
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps({"name": name, "expectations": list(expectations)}))
    return path


def problems(path) -> list[str]:
    with pytest.raises(ConfigError) as raised:
        load_suite(path)
    return raised.value.problems


def test_a_missing_file_names_the_setting(tmp_path):
    assert problems(tmp_path / "none.json") == [
        f"{tmp_path / 'none.json'}: expectation suite not found — create it or set "
        "validate.suite"]


def test_shape_mistakes_are_all_reported_at_once(tmp_path):
    path = tmp_path / "s.json"
    path.write_text(json.dumps({"expectations": [
        {"type": "expect_column_values_to_not_be_null"},
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "a"},
         "meta": {"reason": "r"}}]}))
    assert problems(path) == [
        f"{path}: name: required — add a suite name",
        f"{path}: expectations[0]: each expectation needs 'type' and 'kwargs'",
        f"{path}: expectations[1] (expect_column_values_to_not_be_null): meta.reason and "
        "meta.fix are required — they are what a finance user reads in the quarantine"]


def test_not_json_and_unknown_types_are_refused(tmp_path):
    path = tmp_path / "s.json"
    path.write_text("{nope")
    assert problems(path)[0].startswith(f"{path}: not valid JSON: ")
    unknown = write_suite(tmp_path, expectation("expect_column_values_to_not_be_null",
                                                column="a"),
                          expectation("expect_column_values_to_be_lovely", column="a"))
    assert problems(unknown) == [f"{unknown}: 1 expectation has an unknown type — check the "
                                 "'type' names"]


def test_columns_a_view_lacks_are_named_with_the_valid_ones(tmp_path):
    suite = load_suite(write_suite(tmp_path, expectation(
        "expect_column_values_to_not_be_null", column="tax_cod")))
    with pytest.raises(ConfigError) as raised:
        check_columns(suite, ["doc_key", "tax_code"])
    assert raised.value.problems == [f"{suite.path}: expectations[0]: column 'tax_cod' is not "
                                     "in the view — valid columns: doc_key, tax_code"]
    check_columns(suite, ["doc_key", "tax_cod"])           # no error


def test_failing_rows_quarantine_their_documents_with_filled_in_words(tmp_path):
    suite = load_suite(write_suite(
        tmp_path,
        expectation("expect_column_values_to_not_be_null", column="tax_code",
                    reason="line {line_id} of {document_number} has no tax code ({tax_xref})",
                    fix="map {tax_xref} in tax_codes"),
        dict(expectation("expect_column_values_to_be_in_set", column="ok", value_set=[True],
                         reason="{currency} is not set up", fix="add {currency}"),
             meta={"reason": "{currency} is not set up", "fix": "add {currency}",
                   "value_column": "currency"})))
    view = pd.DataFrame([
        {"doc_key": "K1", "document_number": "1", "line_id": "a", "tax_code": 1.0,
         "tax_xref": "T1", "ok": True, "currency": "GBP"},
        {"doc_key": "K2", "document_number": "2", "line_id": "b", "tax_code": None,
         "tax_xref": None, "ok": False, "currency": "EUR"},
        {"doc_key": "K2", "document_number": "2", "line_id": "c", "tax_code": None,
         "tax_xref": None, "ok": False, "currency": "EUR"},
        {"doc_key": "K3", "document_number": "3", "line_id": "d", "tax_code": 2.0,
         "tax_xref": "T2", "ok": True, "currency": "GBP"}])
    outcome = run_suite(suite, view)
    assert outcome.valid == ["K1", "K3"] and outcome.quarantined == ["K2"]
    # two failing rows of one document with the same value: one finding each expectation
    euro, untaxed = sorted(outcome.findings, key=lambda f: f.column)
    assert (euro.key, euro.column, euro.value, euro.reason, euro.fix) == \
        ("K2", "ok", "EUR", "EUR is not set up", "add EUR")
    assert (untaxed.key, untaxed.document, untaxed.column) == ("K2", "2", "tax_code")
    assert untaxed.reason in {f"line {n} of 2 has no tax code ((empty))" for n in "bc"}
    assert untaxed.fix == "map (empty) in tax_codes"
    assert [(r["expectation"], r["failures"], r["documents"]) for r in outcome.table] == [
        ("expect_column_values_to_be_in_set(ok)", 2, 1),
        ("expect_column_values_to_not_be_null(tax_code)", 2, 1)]


def test_an_empty_view_holds_nothing_and_passes_nothing(tmp_path):
    suite = load_suite(write_suite(tmp_path, expectation("expect_column_values_to_not_be_null",
                                                         column="a")))
    outcome = run_suite(suite, pd.DataFrame(columns=["doc_key", "a"]))
    assert (outcome.valid, outcome.findings, outcome.table) == ([], [], [])


def test_an_expectation_that_names_no_rows_is_refused(tmp_path):
    suite = load_suite(write_suite(tmp_path, expectation(
        "expect_table_row_count_to_equal", value=5)))
    with pytest.raises(ConfigError, match="expect_table_row_count_to_equal failed but names "
                                          "no rows — use column-level expectations"):
        run_suite(suite, pd.DataFrame([{"doc_key": "K1"}]))
