"""Held documents grouped by cause: one entry per thing a person must do, with a count."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace

import pytest

from tasks.entities import ENTITIES
from tasks.held import (HeldGroup, describe, documents_held, group_held, noun_for, numbers,
                        plural)
from tasks.journal import DocRecord, Journal

NOT_NULL = "expect_column_values_to_not_be_null"


def no_account(number: str, company: str = "Angry Fox Cycles Ltd") -> dict:
    """The invoices suite's finding for a customer without an Account Number."""
    return {"expectation": NOT_NULL, "column": "account_ref", "value": None,
            "reason": f"customer {company} has no Account Number, so Sage has no account to "
                      f"post invoice {number} to",
            "fix": f"set an Account Number on company {company} in ConnectWise"}


def unmapped_gl(number: str, line: str, gl: str = "4070") -> dict:
    return {"expectation": NOT_NULL, "column": "nominal_code", "value": gl,
            "reason": f"line '{line}' of invoice {number} posts to GL account '{gl}', which "
                      "has no Sage nominal code",
            "fix": f"add '\"{gl}\": \"<Sage nominal code>\"' under "
                   "pipelines.invoices.mappings.nominal_codes in pipelines.yaml"}


@pytest.fixture
def journal(tmp_path):
    j = Journal(tmp_path / "journal.db")
    yield j
    j.close()


def hold(journal: Journal, reasons: dict[str, list[dict]], stage: str = "validate") -> list:
    """Documents CW-INV-<n> (number <n>) extracted and quarantined with ``reasons``; the
    journal's rows of every quarantined document."""
    docs = [DocRecord(f"CW-INV-{n}", n, n, "SI", None, "GBP", Decimal(1), Decimal(0),
                      Decimal(1), (int(n),), "h") for n in reasons]
    journal.record_extracted("invoices", "r1", docs)
    journal.quarantine("invoices", "r1", {f"CW-INV-{n}": r for n, r in reasons.items()}, stage)
    return journal.documents("invoices", states=["quarantined"])


def test_an_entity_level_reason_groups_its_documents_titled_without_their_numbers(journal):
    rows = hold(journal, {n: [no_account(n)] for n in ("10051", "10012", "10044", "10032")})
    [group] = group_held(rows)
    assert group.cause == ("customer Angry Fox Cycles Ltd has no Account Number, so Sage has "
                           "no account to post invoice … to")
    assert group.fix == "set an Account Number on company Angry Fox Cycles Ltd in ConnectWise"
    assert group.count == 4 and group.stage == "validate"
    assert [number for _, number in group.documents] == ["10012", "10032", "10044", "10051"]
    assert describe(group, "invoice") == group.cause + " — 4 invoices: 10012, 10032, 10044, 10051"


def test_each_company_is_its_own_cause(journal):
    rows = hold(journal, {"101": [no_account("101")], "102": [no_account("102", "Owl Ltd")],
                          "103": [no_account("103")]})
    groups = group_held(rows)
    assert [(g.count, g.fix.split(" company ")[1]) for g in groups] == [
        (2, "Angry Fox Cycles Ltd in ConnectWise"), (1, "Owl Ltd in ConnectWise")]
    assert groups[1].cause.endswith("post invoice 102 to")     # one document: its own words


def test_a_line_level_reason_groups_by_what_is_wrong_not_by_the_line(journal):
    rows = hold(journal, {"201": [unmapped_gl("201", "Cat6 patch lead 3m")],
                          "202": [unmapped_gl("202", "APC Smart-UPS 1500VA")],
                          "203": [unmapped_gl("203", "Domain renewal", gl="4999")]})
    groups = group_held(rows)
    assert [(g.count, g.cause) for g in groups] == [
        (2, "line … of invoice … posts to GL account '4070', which has no Sage nominal code"),
        (1, "line 'Domain renewal' of invoice 203 posts to GL account '4999', which has no "
            "Sage nominal code")]


def test_a_title_keeps_no_stray_punctuation_or_half_quotes_from_what_differs(journal):
    spend = "expect_column_values_to_be_in_set"
    lines = {"301": "Hotel - Gosforth Park Ltd", "302": "Rail - Lettings Ltd",
             "303": "Mileage - York Minster Wine Merchants Ltd"}
    hold(journal, {n: [{"expectation": spend, "column": "non_reimbursable_held", "value": True,
                        "fix": "decide how company-paid spend reaches Sage",
                        "reason": f"expense bill {n} of Member {n} includes "
                                  f"non-reimbursable spend ({line}), which is not owed"}]
                   for n, line in lines.items()})
    rows = hold(journal, {n: [unmapped_gl(n, f"PO {n}: {line}", gl="5999")]
                          for n, line in (("401", "Cat6 lead"), ("402", "UPS"))})
    assert [g.cause for g in group_held(rows)] == [
        "expense bill … of Member … includes non-reimbursable spend … which is not owed",
        "line … of invoice … posts to GL account '5999', which has no Sage nominal code"]


def test_other_reasons_group_without_the_documents_own_key_and_number(journal):
    refused = {n: [{"expectation": "sage import", "reason": f"CW-INV-{n}: AccountReference "
                    "'A B' is not a valid Sage A/C (R-ACC-1) — fix the account number",
                    "fix": "fix the account number"}] for n in ("1", "2", "30")}
    held = hold(journal, refused, stage="load")
    [group] = group_held(held)
    assert group.count == 3 and group.stage == "load"
    assert group.cause == "AccountReference 'A B' is not a valid Sage A/C (R-ACC-1) — fix the " \
                          "account number"
    money = {n: [{"expectation": "resolve", "reason": f"invoice {n}: VAT {vat} differs",
                  "fix": "re-close it"}] for n, vat in (("40", "1.00"), ("41", "2.00"))}
    groups = group_held(hold(journal, money))
    assert sorted(g.count for g in groups) == [1, 1, 3]       # other money: other causes


def test_largest_first_then_by_cause_and_a_document_counts_once(journal):
    rows = hold(journal, {"1": [no_account("1"), unmapped_gl("1", "x")],
                          "2": [no_account("2"), unmapped_gl("2", "y"), unmapped_gl("2", "z")],
                          "3": [no_account("3", "Bee Ltd")], "4": [no_account("4", "Ant Ltd")]})
    groups = group_held(rows)
    assert [g.count for g in groups] == [2, 2, 1, 1]
    assert groups[0].cause.startswith("customer Angry") and groups[1].cause.startswith("line")
    assert groups[2].cause.startswith("customer Ant") and groups[3].cause.startswith("customer Bee")
    assert groups[1].documents == (("CW-INV-1", "1"), ("CW-INV-2", "2"))
    assert documents_held(groups) == 4


def test_a_document_held_without_reasons_still_shows(journal):
    journal.record_extracted("invoices", "r1", [DocRecord(
        "CW-INV-9", "9", None, "SI", None, "GBP", Decimal(1), Decimal(0), Decimal(1), (9,), "h")])
    journal.quarantine("invoices", "r1", {"CW-INV-9": []}, "validate")
    [group] = group_held(journal.documents("invoices", states=["quarantined"]))
    assert group.count == 1 and "no reason" in group.cause and "quarantine show" in group.fix
    assert numbers(group) == "CW-INV-9"                     # no number: the key


def test_describe_names_eight_numbers_then_how_many_more():
    group = HeldGroup("cause", "fix", tuple((f"K{n}", str(n)) for n in range(1, 12)))
    assert describe(group, "expense bill") == ("cause — 11 expense bills: 1, 2, 3, 4, 5, 6, 7, "
                                               "8 and 3 more")
    assert describe(HeldGroup("c", "f", (("K", "7"),)), "purchase") == "c — 1 purchase: 7"


@pytest.mark.parametrize("n, word, expected", [
    (0, "invoice", "0 invoices"), (1, "invoice", "1 invoice"), (2, "invoice", "2 invoices"),
    (1, "batch", "1 batch"), (3, "batch", "3 batches"), (2, "expense bill", "2 expense bills"),
    (2, "entry", "2 entries"), (2, "day", "2 days"), (1, "document", "1 document"),
    (5, "more cause", "5 more causes")])
def test_plural(n, word, expected):
    assert plural(n, word) == expected
    assert plural(2, "person", "people") == "2 people"


def test_noun_per_pipeline_kind():
    assert [noun_for(ENTITIES[name]) for name in ("invoices", "expenses", "procurement")] == [
        "invoice", "expense bill", "purchase"]
    assert noun_for(SimpleNamespace(name="customers", kind="list")) == "record"
