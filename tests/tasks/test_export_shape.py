"""The shape check of a saved export: every problem named by its JSON path, at once, capped."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from pathlib import Path

import pytest

from tasks.entities import ENTITIES, ListEntity
from tasks.errors import ConfigError
from tasks.export_shape import MAX_DEPTH, MAX_PROBLEMS, check_export, json_problem

ROOT = Path(__file__).resolve().parents[2]
INVOICES = ENTITIES["invoices"]


def fixture(kind: str) -> dict:
    path = ROOT / "tests" / "fixtures" / f"{kind}-export.json"
    return json.loads(path.read_bytes(), parse_float=Decimal)


def problems(export, entity=INVOICES) -> list[str]:
    with pytest.raises(ConfigError) as err:
        check_export(export, entity, "export.json")
    return err.value.problems


@pytest.mark.parametrize("kind", ["invoices", "expenses", "procurement", "customers"])
def test_every_shipped_export_passes(kind):
    entity = ListEntity("companies", "/company/companies", "CW-CO-") if kind == "customers" \
        else ENTITIES[kind]
    check_export(fixture(kind), entity, f"{kind}-export.json")


def broken(how: str) -> dict:
    export = fixture("invoices")
    doc = export["transactions"][3]
    if how == "detail":
        doc["detail"] = 5
    elif how == "company":
        doc["company"] = "x"
    elif how == "total":
        doc["total"] = {"value": 1}
    elif how == "line":
        doc["detail"][0] = None
    elif how == "line total":
        doc["detail"][0]["total"] = [1]
    elif how == "id":
        doc["id"] = True
    elif how == "no id":
        del doc["id"]
    elif how == "companies":
        export["companies"] = {"id": 1}
    return export


@pytest.mark.parametrize("how, message", [
    ("detail", "transactions[3].detail: expected a list of lines, got a number"),
    ("company", "transactions[3].company: expected an object (the company), got text"),
    ("total", "transactions[3].total: expected a number, got an object"),
    ("line", "transactions[3].detail[0]: expected a line (an object), got null"),
    ("line total", "transactions[3].detail[0].total: expected a number, got a list"),
    ("id", "transactions[3].id: expected an id (a number or text), got true"),
    ("no id", "transactions[3].id: missing — every document has one"),
    ("companies", "companies: expected a list of company records, got an object"),
])
def test_each_shape_problem_is_named_by_its_json_path(how, message):
    [problem] = problems(broken(how))
    assert problem.startswith(f"export.json: {message}")
    assert "cwsage export" in problem                          # the way out


@pytest.mark.parametrize("export, message", [
    ({"transactions": "x"}, "transactions: expected a list of documents, got text"),
    ({"transactions": [None]}, "transactions[0]: expected a document (an object), got null"),
    ({"transactions": None}, "transactions: expected a list of documents, got null"),
    ([1, 2], "(top level): expected an export object"),
    ({"expenseBills": []}, "transactions: missing — the file holds no invoices documents"),
])
def test_the_top_level(export, message):
    assert problems(export)[0].startswith(f"export.json: {message}")


def test_every_problem_at_once_and_capped():
    export = fixture("invoices")
    for doc in export["transactions"]:
        doc["detail"], doc["total"] = "x", {}
    found = problems(export)
    assert len(found) == 2 * len(export["transactions"])
    many = {"transactions": [{"id": n, "total": []} for n in range(100)]}
    found = problems(many)
    assert len(found) == MAX_PROBLEMS + 1
    assert found[-1].startswith(f"export.json: … and {100 - MAX_PROBLEMS} more problems")


def test_a_value_that_is_only_wrong_is_left_to_the_run():
    export = fixture("invoices")
    export["transactions"][0]["total"] = "not a number"        # held by resolve, with a reason
    export["transactions"][0]["detail"][0]["taxCodeXref"] = 7
    check_export(export, INVOICES, "export.json")


def test_nesting_deeper_than_any_export_is_refused_without_recursion():
    deep: list = []
    for _ in range(5000):
        deep = [deep]
    export = fixture("invoices")
    export["transactions"][0]["notes"] = deep
    [problem] = problems(export)
    assert problem.startswith("export.json: transactions[0].notes[0][0]")
    assert f"nested more than {MAX_DEPTH} levels deep" in problem


def test_json_too_deep_to_decode_is_named():
    with pytest.raises(RecursionError) as err:
        json.loads("[" * 100_000 + "]" * 100_000)
    assert "nested too deeply" in json_problem(err.value)


def test_expenses_and_procurement_lines():
    export = fixture("expenses")
    export["expenseBills"][1]["detail"][0]["id"] = {"x": 1}
    [problem] = problems(export, ENTITIES["expenses"])
    assert problem.startswith("export.json: expenseBills[1].detail[0].id: expected an id or a "
                              "list of ids, got an object")
    export = fixture("procurement")
    export["purchaseTransactions"][0]["purchaseDetailTax"] = copy.deepcopy({"a": 1})
    [problem] = problems(export, ENTITIES["procurement"])
    assert problem.startswith("export.json: purchaseTransactions[0].purchaseDetailTax: "
                              "expected a list of tax lines, got an object")
