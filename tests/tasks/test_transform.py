"""Transform: the canonical XML against its golden file, the invoices mapping rules, and the
stylesheet sandbox (no document(), no file writes, no entity expansion). Every pipeline's
stylesheet against its golden Sage XML: tests/contract/test_pipeline_contract.py."""

from __future__ import annotations

import json
import os
from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree

from flows.spec import load_spec
from tasks.canonical import canonical_xml
from tasks.entities import ENTITIES, resolve_offline
from tasks.errors import ConfigError, TransformError
from tasks.chunks import read_chunk
from tasks.sage50.protocol import SageFacts
from tasks.sage50.rules import UK_TAX_RATES
from tasks.stylesheets import compile_stylesheet, run_stylesheet
from tasks.transform import transform_export
from tasks.validate import validate_export

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "invoices-export.json"
GOLDEN = ROOT / "tests" / "golden"
REGENERATE = os.environ.get("CWSAGE_REGENERATE_GOLDEN") == "1"


def golden(name: str, data: bytes) -> None:
    """Compare with tests/golden/<name>; CWSAGE_REGENERATE_GOLDEN=1 rewrites it."""
    path = GOLDEN / name
    if REGENERATE:
        path.write_bytes(data)
    assert data.decode() == path.read_text(encoding="utf-8"), f"{name} differs from golden"


@pytest.fixture(scope="module")
def invoices():
    return load_spec(ROOT / "pipelines.yaml", need_connection=False).pipeline("invoices")


EURO = SageFacts(UK_TAX_RATES, {"EUR": Decimal("1.15")}, "GBP")


@pytest.fixture(scope="module")
def outcome(invoices):
    export = read_chunk(FIXTURE)
    resolved = resolve_offline(export, invoices, EURO)
    checked = validate_export(export, invoices, ["1100", "2100", "2200", "2201", "2202"],
                              resolved)
    result = transform_export(export, invoices, checked.valid, 1, resolved)
    return checked, result, etree.fromstring(result.xml)


def test_a_foreign_document_without_a_configured_rate_is_held_with_the_fix(invoices):
    checked = validate_export(read_chunk(FIXTURE), invoices, ["1100"])
    held = [f for f in checked.findings if f.key == "CW-INV-5003"]
    assert [f.expectation for f in held] == ["resolve"]
    assert "EUR has no exchange rate" in held[0].reason
    assert "sage.sage50_replica.currency_rates" in held[0].fix


def test_canonical_xml_golden(invoices):
    export = read_chunk(FIXTURE)
    entity = ENTITIES["invoices"]
    tree = canonical_xml("invoices", "invoices", 1, export,
                         mappings=invoices.mappings.model_dump(), documents="transactions",
                         key=entity.key, include=["CW-INV-5001", "CW-INV-5002"])
    golden("invoices.canonical.xml", etree.tostring(tree, pretty_print=True, encoding="utf-8"))


def test_canonical_numbers_are_exact_and_text_is_never_parsed():
    export = {"transactions": [{"id": 1, "total": Decimal("12345678901234.5678"),
                                "big": Decimal("1E+3"), "name": "A &amp; <B> \x07 😀",
                                "x y": None, "ok": True}]}
    tree = canonical_xml("p", "invoices", 1, export, mappings={}, documents="transactions",
                         key=lambda d: f"K{d['id']}")
    item = tree.find("export/transactions/item")
    assert item.get("key") == "K1"
    assert item.findtext("total") == "12345678901234.5678"
    assert item.findtext("big") == "1000"
    assert item.findtext("name") == "A &amp; <B>  😀"        # kept literally, control char gone
    assert item.find("field[@name='x y']").get("nil") == "true"
    assert item.findtext("ok") == "true"


def test_broken_documents_are_quarantined_and_the_rest_go_on(outcome):
    checked, result, _ = outcome
    assert sorted(checked.quarantined) == ["CW-INV-5004", "CW-INV-5005", "CW-INV-5006"]
    assert list(result.keys) == ["CW-INV-5001", "CW-INV-5002", "CW-INV-5003", "CW-INV-5007"]
    reasons = {f.key: f for f in checked.findings}
    assert reasons["CW-INV-5004"].fix.startswith(
        "set an Account Number on company Angry Fox Cycles Ltd in ConnectWise")
    assert reasons["CW-INV-5005"].value == "4070"
    assert reasons["CW-INV-5006"].value == "RC20"


def test_mapping_rules(outcome):
    _, _, doc = outcome
    first = doc.find("Invoices/Invoice[Id='CW-INV-5001']")
    items = first.findall("InvoiceItems/Item")
    # agreement and labour lines take S1
    assert [i.findtext("Sku") for i in items] == ["FW-TZ270", "S1", "S1", "S1"]
    assert len(items) == 4                                     # the sales-tax line is not an item
    assert [i.findtext("QtyOrdered") for i in items] == ["1", "1", "3.5", "1"]    # GL sign undone
    assert [i.findtext("NominalCode") for i in items] == ["4000", "4001", "4002", "4000"]
    assert items[3].findtext("IsNegativeLine") == "true"      # the discount runs against the sign
    assert all(i.find("IsNegativeLine") is None for i in items[:3])
    for text in doc.xpath("//Name/text() | //Description/text()"):
        assert len(text) <= 60 and "\n" not in text and "\r" not in text
    assert doc.findtext("Customers/Customer[Id='CW-CO-17']/CompanyName") == \
        "Smith & Jones Solicitors LLP"
    credit = doc.find("Invoices/Invoice[Id='CW-INV-5002']")
    assert credit.findtext("InvoiceType") == "ProductCredit"
    assert credit.findtext("InvoiceItems/Item/UnitPrice") == "100.00"
    euro = doc.find("Invoices/Invoice[Id='CW-INV-5003']")
    assert euro.findtext("Currency") == "EUR"
    assert euro.findtext("ForeignRate") == "1.15"             # the configured rate travels
    assert euro.findtext("DueDate") == "2026-11-05T00:00:00"  # US-locale date in the export
    assert [i.findtext("TaxCode") for i in euro.findall("InvoiceItems/Item")] == ["0", "9"]
    assert b"&amp;" in etree.tostring(doc)


def _sheet(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "evil.xsl"
    path.write_text('<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/'
                    'Transform" xmlns:exsl="http://exslt.org/common" '
                    f'extension-element-prefixes="exsl">{body}</xsl:stylesheet>')
    return path


def test_stylesheet_reading_a_document_is_refused(tmp_path):
    (tmp_path / "secret.xml").write_text("<secret>pay me</secret>")
    path = _sheet(tmp_path, '<xsl:template match="/"><x><xsl:value-of '
                            'select="document(\'secret.xml\')"/></x></xsl:template>')
    with pytest.raises(ConfigError, match=r"evil.xsl:1: the stylesheet calls document\(\)"):
        compile_stylesheet(path)


def test_stylesheet_writing_files_is_refused_and_writes_nothing(tmp_path):
    target = tmp_path / "pwned.txt"
    path = _sheet(tmp_path, f'<xsl:template match="/"><exsl:document href="{target}">'
                            'x</exsl:document></xsl:template>')
    with pytest.raises(ConfigError, match=r"writes files \(<exsl:document>\)"):
        compile_stylesheet(path)
    assert not target.exists()


def test_stylesheet_runtime_error_names_the_stylesheet(tmp_path):
    path = _sheet(tmp_path, '<xsl:template match="/"><xsl:message terminate="yes">'
                            'FATAL: no</xsl:message></xsl:template>')
    with pytest.raises(TransformError, match="evil.xsl: .*FATAL: no"):
        run_stylesheet(compile_stylesheet(path), etree.Element("cwsage"))


def test_entities_in_input_are_never_expanded(invoices):
    export = json.loads(FIXTURE.read_text())
    export["transactions"][0]["salesRepName"] = '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>&e;'
    result = transform_export(export, invoices, ["CW-INV-5001"], 1)
    taken = etree.fromstring(result.xml).findtext("Invoices/Invoice/TakenBy")
    assert "root:" not in taken and taken.startswith("<!DOCTYPE")


def test_canonical_holds_only_the_fields_a_stylesheet_names(tmp_path):
    from tasks.stylesheets import referenced_names
    (tmp_path / "lib.xsl").write_text(
        '<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">'
        '<xsl:template name="t"><xsl:value-of select="currency/code"/></xsl:template>'
        '</xsl:stylesheet>')
    sheet = _plain_sheet(tmp_path / "p.xsl", '<xsl:import href="lib.xsl"/>'
                         '<xsl:template match="/"><out total="{item/total}">'
                         '<xsl:value-of select="export/docs/item/name"/></out></xsl:template>')
    names = referenced_names(sheet)
    assert {"export", "docs", "item", "name", "total", "currency", "code"} <= names
    export = {"docs": [{"id": 1, "name": "A", "total": Decimal("2.50"), "noise": {"x": 1},
                        "currency": {"code": "GBP", "symbol": "£"}, "odd key": "y"}],
              "other": {"name": "a named field inside an unnamed one"}, "unused": [1, 2]}
    tree = canonical_xml("p", "invoices", 1, export, mappings={"m": {"a": 1}},
                         documents="docs", key=lambda d: f"K{d['id']}", names=names)
    item = tree.find("export/docs/item")
    assert [c.tag for c in item] == ["name", "total", "currency"]
    assert [c.tag for c in item.find("currency")] == ["code"]
    assert tree.find("export/unused") is None and tree.find("export/other") is None
    assert tree.find("mappings/map[@name='m']/entry").text == "1"     # mappings always whole
    everything = canonical_xml("p", "invoices", 1, export, mappings={}, documents="docs",
                               key=lambda d: f"K{d['id']}")
    assert everything.find("export/docs/item/field[@name='odd key']").text == "y"
    assert everything.findtext("export/docs/item/noise/x") == "1"


@pytest.mark.parametrize("body", [
    '<xsl:template match="/"><xsl:copy-of select="export"/></xsl:template>',
    '<xsl:template match="/"><xsl:value-of select="count(export/*)"/></xsl:template>',
    '<xsl:template match="/"><xsl:value-of select="local-name(export)"/></xsl:template>',
    '<xsl:template match="/"><xsl:apply-templates/></xsl:template>',
])
def test_wildcards_and_copies_get_every_field(tmp_path, body):
    from tasks.stylesheets import referenced_names
    assert referenced_names(_plain_sheet(tmp_path / "w.xsl", body)) is None


def test_canonical_text_survives_escaping_exactly():
    text = 'a & b < c > d "q" \'s\' \r\n\ttab ]]> &amp; é'
    export = {"docs": [{"id": 1, "t": text, "x\r\ny": "k"}]}
    tree = canonical_xml("p", "e", 1, export, mappings={"v": "x\r\n\"&"}, documents="docs",
                         key=lambda d: 'K"<&>\r\n')
    item = tree.find("export/docs/item")
    assert item.get("key") == 'K"<&>\r\n'
    assert item.findtext("t") == text
    assert item.find("field").get("name") == "x\r\ny"
    assert tree.findtext("mappings/value") == "x\r\n\"&"


def _plain_sheet(path: Path, body: str) -> Path:
    path.write_text('<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/'
                    f'Transform">{body}</xsl:stylesheet>')
    return path
