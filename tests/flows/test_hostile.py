"""Hostile and broken input: never a crash, never an expanded entity; and one run at a time."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree

from flows.spec import load_spec
from tasks.context import RunContext
from tasks.errors import ConfigError
from tasks.chunks import read_chunk
from tasks.transform import transform_export
from tasks.validate import validate_export

ROOT = Path(__file__).resolve().parents[2]
CONTROL = ["1100", "2100", "2200", "2201", "2202"]


@pytest.fixture(scope="module")
def invoices():
    return load_spec(ROOT / "pipelines.yaml", need_connection=False).pipeline("invoices")


def base() -> dict:
    return read_chunk(ROOT / "tests" / "fixtures" / "invoices-export.json")


def mutate(doc: dict, how: str) -> None:
    line = doc["detail"][0]
    if how == "control characters":
        line["itemDescription"] = "Fire\x00wall\x07 \x1b[31mred\x1b[0m"
    elif how == "markup":
        doc["company"]["name"] = line["itemDescription"] = "<b>A & B</b> \"quoted\" 'x' ]]>"
    elif how == "emoji":
        line["itemDescription"] = "Firewall 🔥🧯 with 中文 and ñ"
    elif how == "very long strings":
        line["itemDescription"] = "x" * 100_000
        doc["salesRepName"] = "y " * 50_000
    elif how == "huge numbers":
        line["quantity"] = Decimal("-1E+30")
        line["itemPrice"] = Decimal("99999999999999999999.99")
    elif how == "nulls":
        for key in ("documentNumber", "documentDate", "currency", "companyAccountNumber"):
            doc[key] = None
        line["quantity"] = line["total"] = line["item"] = None
    elif how == "wrong types":
        doc["detail"] = "not a list"
        doc["total"] = {"amount": 5}
    elif how == "entity references":
        line["itemDescription"] = "&xxe; &amp; &#x41; <!ENTITY x SYSTEM 'file:///etc/passwd'>"


@pytest.mark.parametrize("how", ["control characters", "markup", "emoji", "very long strings",
                                 "huge numbers", "nulls", "wrong types", "entity references"])
def test_hostile_exports_give_well_formed_xml_or_a_quarantine(invoices, how):
    export = base()
    target = export["transactions"][0]
    mutate(target, how)
    checked = validate_export(export, invoices, CONTROL)
    result = transform_export(export, invoices, checked.valid, 1)
    assert result.xml is not None
    doc = etree.fromstring(result.xml)                      # well-formed
    key = "CW-INV-5001"
    assert (key in checked.quarantined) or (key in result.failures) or (key in result.keys)
    if key in result.keys:
        invoice = doc.find(f"Invoices/Invoice[Id='{key}']")
        for text in invoice.xpath(".//Name/text() | .//Description/text()"):
            assert len(text) <= 60
    assert b"root:" not in result.xml                       # nothing was read from disk


def test_one_run_at_a_time_per_pipeline(home, cw_env):
    spec = load_spec(ROOT / "pipelines.yaml")
    first = RunContext(spec=spec, pipeline_spec=spec.pipeline("invoices"), home=home)
    second = RunContext(spec=spec, pipeline_spec=spec.pipeline("invoices"), home=home)
    other = RunContext(spec=spec, pipeline_spec=spec.pipeline("expenses"), home=home)
    first.acquire()
    try:
        with pytest.raises(ConfigError, match=r"\[invoices\] another run of this pipeline is in "
                                              r"progress \(pid \d+\) — wait for it to finish"):
            second.acquire()
        other.acquire()                                     # other pipelines are not blocked
        other.close()
    finally:
        first.close()
    second.acquire()                                        # free again once the first ends
    second.close()
