"""Every fix that names a pipelines.yaml edit works when applied literally.

For each case a document is held; the test reads the printed fix, makes exactly the edit it
names in a copy of the spec (the one placeholder, ``<…>``, filled with a real value), previews
the same export again, and the document is no longer held for that reason.
"""

from __future__ import annotations

import copy
import json
import re
import shutil
from pathlib import Path

import pytest
import yaml

from flows.preview import preview_json

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"

ADD = re.compile(r"add '(?P<key>[^']+): \"?<[^>]+>\"?' under (?P<path>[a-z0-9_.]+) in "
                 r"pipelines\.yaml")
SET = re.compile(r"set (?P<path>[a-z0-9_.]+) in pipelines\.yaml to")


def _spec_copy(tmp_path: Path) -> Path:
    for folder in ("xslt", "expectations"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    shutil.copy(ROOT / "pipelines.yaml", tmp_path / "pipelines.yaml")
    return tmp_path / "pipelines.yaml"


def _apply(spec: Path, fix: str, value) -> None:
    """Make the edit the fix names, literally: add a key under a table, or set a value."""
    body = yaml.safe_load(spec.read_text())
    if (found := ADD.search(fix)) is not None:
        *parents, table = found["path"].split(".")
        node = body
        for part in parents:
            node = node.setdefault(part, {})
        node.setdefault(table, {})[found["key"].strip('"')] = value
    elif (found := SET.search(fix)) is not None:
        *parents, leaf = found["path"].split(".")
        node = body
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    else:
        raise AssertionError(f"the fix names no pipelines.yaml edit: {fix}")
    spec.write_text(yaml.safe_dump(body, sort_keys=False))


def _reasons(report: dict, key: str) -> list[dict]:
    return next(d for d in report["documents"] if d["key"] == key)["reasons"]


def _invoice(*lines: dict, state_xref: str = "T1", currency: str = "GBP") -> dict:
    """A consistent ConnectWise invoice: revenue lines as credits, one ST line holding the VAT
    ConnectWise charges (20 % on the lines it taxes under T1), header total positive."""
    export = json.loads((FIXTURES / "invoices-export.json").read_text())
    doc = copy.deepcopy(next(d for d in export["transactions"] if d["id"] == 5001))
    template = next(d for d in doc["detail"] if d.get("glTypeId") == "RP")
    detail, vat = [], 0.0
    for n, changes in enumerate(lines):
        line = dict(copy.deepcopy(template), id=90001 + n, quantity=-1, itemPrice=100.0,
                    total=-100.0, accountNumber="4000", taxCodeXref="T1", taxableFlag=True,
                    item=None, glItemId="")
        line.update(changes)
        taxed = line["taxableFlag"] and (line["taxCodeXref"] or state_xref) == "T1"
        vat += round(-line["total"] * 0.2, 2) if taxed else 0
        detail.append(line)
    if vat:
        detail.append(dict(copy.deepcopy(template), id=90100, glTypeId="ST", total=-vat,
                           taxCodeXref="T1", accountNumber="2200", quantity=0))
    net = -sum(line["total"] for line in detail if line.get("glTypeId") != "ST")
    doc.update(id=7001, detail=detail, total=round(net + vat, 2), salesTax=vat,
               stateTax=vat, stateTaxXref=state_xref, currency={"currencyCode": currency})
    doc.pop("taxLevels", None)
    export["transactions"] = [doc]
    return export


CASES = {
    # a line without a tax code of its own, on an invoice without one either
    "no tax code": (lambda: _invoice({"taxCodeXref": "", "taxableFlag": False},
                                     state_xref=""), "T9"),
    # a line ConnectWise does not tax, whose code would carry VAT
    "not taxable": (lambda: _invoice({}, {"taxCodeXref": "", "taxableFlag": False}), "T0"),
    # a ConnectWise tax code the mappings do not know (reverse charge: no VAT charged)
    "unmapped tax code": (lambda: _invoice({}, {"taxCodeXref": "RC20"}), 20),
    # a ConnectWise GL account the mappings do not know
    "unmapped nominal": (lambda: _invoice({}, {"accountNumber": "4070"}), "4000"),
    # a currency with no exchange rate configured for the Sage company
    "no exchange rate": (lambda: _fixture_invoice(5003), 1.15),
}


def _fixture_invoice(number: int) -> dict:
    export = json.loads((FIXTURES / "invoices-export.json").read_text())
    export["transactions"] = [d for d in export["transactions"] if d["id"] == number]
    return export


@pytest.mark.parametrize("case", list(CASES))
def test_the_printed_fix_applied_literally_lets_the_document_through(tmp_path, case):
    build, value = CASES[case]
    spec, pipeline, export = _spec_copy(tmp_path), "invoices", build()
    key = f"CW-INV-{export['transactions'][0]['id']}"
    before = _reasons(preview_json(spec, pipeline, export), key)
    assert before, f"{case}: the document should be held"
    for reason in before:
        _apply(spec, reason["fix"], value)
    after = preview_json(spec, pipeline, export)
    doc = next(d for d in after["documents"] if d["key"] == key)
    assert doc["status"] in ("ready", "warning"), (case, doc["reasons"])
    assert doc["sage"]["net"] == doc["connectwise"]["net"]
    assert abs(float(doc["sage"]["tax"]) - float(doc["connectwise"]["tax"])) <= 0.005 * len(
        doc["sage"]["splits"])


def test_a_non_taxable_line_no_longer_takes_the_documents_vat(tmp_path):
    """Before: the untaxed line took the header's T1 and Sage charged VAT on it."""
    spec = _spec_copy(tmp_path)
    _apply(spec, "set pipelines.invoices.mappings.non_taxable_tax_code in pipelines.yaml to",
           "T0")
    doc = preview_json(spec, "invoices", CASES["not taxable"][0]())["documents"][0]
    assert doc["status"] in ("ready", "warning"), doc["reasons"]
    assert doc["sage"]["tax"] == doc["connectwise"]["tax"]
    assert [s["tax_code"] for s in doc["sage"]["splits"]].count("T0") == 1
