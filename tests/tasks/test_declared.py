"""A kind declared in pipelines.yaml: its spec (every mistake with its message), its resolve
step (money exactly as ConnectWise states it, holds with a fix), its view and its flags."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from flows.spec import load_spec
from tasks.config.kind import DeclaredKind
from tasks.config.mappings import MappingsConfig
from tasks.declared import DeclaredEntity
from tasks.declared_paths import value_at, values_at
from tasks.entities import ENTITIES, ListEntity, entity_for, resolve_documents
from tasks.errors import ConfigError
from tasks.resolved import ResolveContext
from tasks.sage50.protocol import SageFacts
from tasks.sage50.rules import UK_TAX_RATES
from tasks.suites import check_columns, load_suite
from tasks.views import DOCUMENT_COLUMNS, document_view, view_for

ROOT = Path(__file__).resolve().parents[2]
FACTS = SageFacts(UK_TAX_RATES, {"EUR": Decimal("1.15")}, "GBP")
MAPPINGS = MappingsConfig(tax_codes={"T1": 1, "T0": 0}, nominal_codes={"4000": "4000",
                                                                       "4010": "4010"},
                          currencies=["GBP", "EUR"])
# a journal-style record with a lines array: ConnectWise's shape for a document with lines
KIND = {
    "source": {"endpoint": "/finance/example/bills", "conditions": "closedFlag=true"},
    "key": {"prefix": "CW-EX-", "id": "id"},
    "has_money": True, "post_back": True, "gl_ids": ["glEntryIds", "detail/id"],
    "batch_flag": "exportInvoicesFlag",
    "header": {"account": "company/accountNumber", "date": "date", "number": "number",
               "currency": "currency/currencyCode",
               "type": {"positive": "SI", "negative": "SC"}},
    "totals": {"net": "subtotal", "tax": "tax", "gross": "total"},
    "lines": {"path": "detail", "id": "id", "gl_account": "account", "tax_code": "taxCode",
              "net": "amount", "tax": "vat", "description": "memo", "quantity": "qty"},
}


def record(**changes) -> dict:
    doc = {"id": 71, "number": "EX-0071", "date": "2026-03-02T00:00:00Z",
           "company": {"accountNumber": "acme01"}, "currency": {"currencyCode": "GBP"},
           "glEntryIds": "900,901", "subtotal": 130.10, "tax": 26.02, "total": 156.12,
           "detail": [
               {"id": 801, "account": "4000", "taxCode": "T1", "amount": 120.10, "vat": 24.02,
                "memo": "Firewall support", "qty": 1},
               {"id": 802, "account": "4010", "taxCode": "T1", "amount": 10.00, "vat": 2.00,
                "memo": "Licence", "qty": 4}]}
    doc.update(changes)
    return doc


def resolve(doc: dict, kind: dict | None = None):
    entity = DeclaredEntity(DeclaredKind.model_validate(kind or KIND))
    ctx = ResolveContext(MAPPINGS, "pipelines.bills.mappings", FACTS)
    return resolve_documents(entity, {"records": [doc]}, ctx)[entity.key(doc)]


def test_money_is_connectwise_s_exactly_with_lines_mapped():
    doc = resolve(record())
    assert (doc.key, doc.doc_type, doc.account, doc.reference) == \
        ("CW-EX-71", "SI", "ACME01", "EX-0071")
    assert (doc.cw_net, doc.cw_tax, doc.cw_gross) == \
        (Decimal("130.1"), Decimal("26.02"), Decimal("156.12"))
    assert [(ln.line_id, ln.nominal, ln.tax_code, ln.net, ln.tax, ln.negative, ln.split_id)
            for ln in doc.lines] == [
        ("801", "4000", 1, Decimal("120.1"), Decimal("24.02"), False, "801"),
        ("802", "4010", 1, Decimal("10.0"), Decimal("2.0"), False, "802")]
    assert doc.lines[1].qty == 4 and doc.lines[1].unit_price == Decimal("2.50")
    assert doc.cw_tax_by_code == {1: Decimal("26.02")} and doc.holds == []
    assert doc.header["lines_difference"] == 0


def test_a_credit_flips_every_amount_and_a_line_against_it_is_negative():
    doc = resolve(record(subtotal=-110.0, tax=-22.0, total=-132.0, detail=[
        {"id": 801, "account": "4000", "taxCode": "T1", "amount": -120.0, "vat": -24.0},
        {"id": 802, "account": "4000", "taxCode": "T1", "amount": 10.0, "vat": 2.0}]))
    assert doc.doc_type == "SC" and (doc.cw_net, doc.cw_tax, doc.cw_gross) == \
        (Decimal("110.0"), Decimal("22.0"), Decimal("132.0"))
    assert [(ln.net, ln.negative) for ln in doc.lines] == [(Decimal("120.0"), False),
                                                           (Decimal("10.0"), True)]
    assert doc.header["lines_difference"] == 0 and doc.holds == []


@pytest.mark.parametrize("changes, reason, fix", [
    ({"total": None}, "the document has no value at total (its gross total)",
     "correct the path under pipelines.bills.extract.kind in pipelines.yaml"),
    ({"tax": "twenty"}, "has 'twenty' at tax, which is not an amount", "(/finance/example/bills)"),
    ({"detail": {"id": 1}}, "the document has no array of lines at detail",
     "pipelines.bills.extract.kind.lines"),
    ({"detail": [{"id": 5, "amount": 10.0, "memo": "Cabling"}]},
     "line 5 (Cabling) has no value at vat", "check the record in ConnectWise"),
    ({"detail": [7]}, "line 1 is not a JSON object", "pipelines.bills.extract.kind.lines"),
    ({"glEntryIds": "900,x9"}, "GL entry ids ['x9'] at glEntryIds, detail/id are not whole "
     "numbers", "pipelines.bills.extract.kind.gl_ids"),
    ({"detail": [{"id": 9, "amount": 10.0, "vat": -2.0, "taxCode": "T1"}]},
     "line 9 states VAT -2.0 against a net of 10.0", "correct the line's VAT in ConnectWise"),
])
def test_what_cannot_be_read_holds_the_document_with_a_fix(changes, reason, fix):
    doc = resolve(record(**changes))
    assert any(reason in h.reason and fix in h.fix for h in doc.holds), doc.holds


def test_a_credit_on_a_kind_with_one_type_is_held():
    kind = copy.deepcopy(KIND)
    kind["header"]["type"] = "PI"
    doc = resolve(record(subtotal=-10.0, tax=-2.0, total=-12.0, detail=[]), kind)
    [hold] = doc.holds
    assert "gross of -12.0, a credit, but the kind declares type PI" in hold.reason
    assert "pipelines.bills.extract.kind.header" in hold.fix


def test_unmapped_codes_leave_the_line_unmapped_with_the_fix_the_suite_quotes():
    doc = resolve(record(detail=[{"id": 1, "account": "4999", "taxCode": "RC20",
                                  "amount": 130.1, "vat": 26.02}]))
    [line] = doc.lines
    assert line.nominal is None and line.tax_code is None and doc.cw_tax_by_code is None
    assert "add 'RC20: <Sage tax code number>' under pipelines.bills.mappings.tax_codes" \
        in line.tax_code_fix


def test_the_record_is_its_own_line_without_a_lines_path():
    kind = copy.deepcopy(KIND)
    kind["lines"] = {"net": "subtotal", "tax": "tax", "tax_code": "taxCode/name"}
    doc = resolve(record(taxCode={"name": "T1"}, total=156.12), kind)
    [line] = doc.lines
    assert (line.line_id, line.net, line.tax, line.tax_code, line.nominal) == \
        ("71", Decimal("130.1"), Decimal("26.02"), 1, None)


def test_gl_ids_read_through_arrays_and_comma_text():
    entity = DeclaredEntity(DeclaredKind.model_validate(KIND))
    assert entity.gl_ids(record()) == [801, 802, 900, 901]
    assert values_at(record(), "detail/memo") == ["Firewall support", "Licence"]
    assert value_at(record(), "detail/1/id") == 802 and value_at(record(), "detail/id") is None


def test_has_money_and_post_back_are_separate_facts():
    assert all(e.has_money and e.post_back for e in ENTITIES.values())
    listed = ListEntity("companies", "/company/companies", "CW-CO-")
    assert not listed.has_money and not listed.post_back
    spec = load_spec(ROOT / "pipelines.yaml", need_connection=False)
    kind = spec.pipeline("agreement_invoices")
    entity = entity_for(kind.extract)
    assert entity.has_money and not entity.post_back and kind.post.enabled is False
    assert DeclaredEntity(DeclaredKind.model_validate(KIND)).post_back


def test_any_kind_gets_the_mapping_aware_view():
    assert view_for(DeclaredEntity(DeclaredKind.model_validate(KIND))) == \
        (document_view, DOCUMENT_COLUMNS)
    assert view_for(ENTITIES["invoices"])[0] is not document_view
    view = document_view({"k": resolve(record(detail=[{"id": 1, "account": "4999",
                                                       "amount": 130.1, "vat": 26.02}]))},
                         MAPPINGS, {"1100"})
    assert list(view.columns) == DOCUMENT_COLUMNS
    row = view.iloc[0]
    assert row["nominal_code"] is None and row["tax_code"] is None
    assert "default_tax_code" in row["tax_code_fix"] and row["currency_supported"]
    check_columns(load_suite(ROOT / "expectations" / "agreement_invoices.json"),
                  DOCUMENT_COLUMNS)


# -- the spec: every mistake in a declared kind, with its message -------------------------------
def _spec_with(tmp_path, edit) -> list[str]:
    raw = yaml.safe_load((ROOT / "pipelines.yaml").read_text())
    edit(raw["pipelines"]["agreement_invoices"])
    path = tmp_path / "pipelines.yaml"
    path.write_text(json.dumps(raw))
    with pytest.raises(ConfigError) as caught:
        load_spec(path, need_connection=False, check_files=False)
    return caught.value.problems


WHERE = "pipelines.yaml: pipelines.agreement_invoices"
BAD_KINDS = {
    "unknown key": (lambda p: p["extract"]["kind"]["header"].update(acount="x"),
                    f"{WHERE}.extract.kind.header.acount: unknown key 'acount' — did you mean "
                    "'account'?"),
    "bad path": (lambda p: p["extract"]["kind"]["totals"].update(net="sub total"),
                 f"{WHERE}.extract.kind.totals.net: got 'sub total' — a path into the "
                 "ConnectWise record is field names joined by '/', e.g. company/identifier or "
                 "currency/currencyCode"),
    "bad type": (lambda p: p["extract"]["kind"]["header"].update(type="SO"),
                 f"{WHERE}.extract.kind.header.type: got 'SO' — valid values: SI, SC, PI or "
                 "PC, or by the gross's sign: {positive: SI, negative: SC}"),
    "mixed ledgers": (lambda p: p["extract"]["kind"]["header"].update(
        type={"positive": "SI", "negative": "PC"}),
        f"{WHERE}.extract.kind.header.type: positive SI and negative PC are not an "
        "invoice and its credit — use SI and SC, or PI and PC"),
    "money missing": (lambda p: p["extract"]["kind"].pop("totals"),
                      f"{WHERE}.extract.kind: totals: required with has_money: true — declare "
                      "where ConnectWise states the document's header, totals and lines"),
    "money without has_money": (lambda p: p["extract"]["kind"].update(has_money=False),
                                f"{WHERE}.extract.kind: header, totals, lines: does not apply "
                                "with has_money: false — remove it, or set has_money: true"),
    "post_back facts missing": (lambda p: p["extract"]["kind"].update(post_back=True),
                                f"{WHERE}.extract.kind: gl_ids: required with post_back: true"),
    "gl_ids without post_back": (lambda p: p["extract"]["kind"].update(gl_ids=["id"]),
                                 f"{WHERE}.extract.kind: gl_ids: does not apply with "
                                 "post_back: false — remove it, or set post_back: true"),
    "has_money not said": (lambda p: p["extract"]["kind"].pop("has_money"),
                           f"{WHERE}.extract.kind.has_money: required key is missing — add it"),
    "endpoint beside kind": (lambda p: p["extract"].update(endpoint="/finance/invoices"),
                             f"{WHERE}.extract: give exactly one of entity"),
    "conditions beside kind": (lambda p: p["extract"].update(conditions="id > 1"),
                               f"{WHERE}.extract: conditions: does not apply with kind — give "
                               "it as kind.source.conditions"),
    "post enabled": (lambda p: p.update(post={"enabled": True}),
                     f"{WHERE}: pipelines.agreement_invoices.post.enabled: does not apply — "
                     "the kind declares post_back: false; remove it"),
    "key prefix": (lambda p: p["extract"]["kind"]["key"].update(prefix="agr"),
                   f"{WHERE}.extract.kind.key.prefix: got 'agr' — must match"),
}


@pytest.mark.parametrize("case", BAD_KINDS)
def test_a_mistake_in_a_declared_kind_names_the_key_and_the_fix(tmp_path, case):
    edit, message = BAD_KINDS[case]
    problems = _spec_with(tmp_path, edit)
    assert any(p.startswith(message) for p in problems), problems
