"""The conditions grammar: parsing, evaluation and syntax errors
(docs/connectwise-behaviour.md, "Conditions")."""

import pytest

from sandbox.conditions import ConditionError, parse

ROW = {
    "id": 5003, "total": 120.5, "dueDays": "30", "taxable": True, "memo": None,
    "name": "Smith & Jones Solicitors LLP", "accountNumber": "SMITHJ01",
    "company": {"id": 7, "identifier": "SmithJones"},
    "invoiceDate": "2026-10-20T00:00:00Z", "documentDate": "2026-10-20T00:00:00",
    "types": [{"name": "Client"}, {"name": "Vendor"}],
    "_info": {"lastUpdated": "2026-09-01T10:00:00Z"},
}


@pytest.mark.parametrize("text, expected", [
    ("id = 5003", True),
    ("id=5003", True),
    ("id != 5003", False),
    ("id > 5000 and id < 6000", True),
    ("id >= 5003 AND id <= 5003", True),
    ("total > 120.49", True),
    ("total < -1", False),
    ("company/id = 7", True),
    ('company/identifier = "smithjones"', True),
    ("id in (1, 2, 5003)", True),
    ("id not in (1, 2)", True),
    ('accountNumber in ("A","SMITHJ01")', True),
    ('accountNumber NOT IN ("A","SMITHJ01")', False),
    ('name like "Smith*"', True),
    ('name like "%LLP"', True),
    ('name like "*jones*"', True),
    ('name like "Jones*"', False),
    ('name not like "Jones*"', True),
    ('name contains "& Jones"', True),
    ('name not contains "Ltd"', True),
    ("dueDays = 30", True),
    ("dueDays > 29", True),
    ('dueDays = "30"', True),
    ("taxable = true", True),
    ("taxable = false", False),
    ("memo = null", True),
    ("memo != null", False),
    ("absent = null", True),
    ("accountNumber != null", True),
    ('memo = "x"', False),
    ('memo != "x"', False),
    ("invoiceDate > [2026-10-19T23:59:59Z]", True),
    ("invoiceDate >= [2026-10-20T00:00:00Z]", True),
    ("invoiceDate < [2026-10-20T00:00:00Z]", False),
    ("documentDate = [2026-10-20T00:00:00Z]", True),
    ("lastUpdated > [2026-08-31T00:00:00Z]", True),
    ("_info/lastUpdated < [2026-08-31T00:00:00Z]", False),
    ("types/name = \"Vendor\"", True),
    ("id = 1 or id = 5003", True),
    ("(id = 1 or id = 2) and taxable = true", False),
    ("id = 1 or id = 2 and taxable = true", False),
    ("id = 5003 or id = 2 and taxable = false", True),
    ("(id = 1 OR (company/id = 7 AnD taxable = TRUE))", True),
    ('name = "Smith & Jones Solicitors LLP"', True),
    ('name = "say \\"hi\\""', False),
])
def test_evaluates(text, expected):
    predicate = parse(text, aliases={"lastUpdated": "_info/lastUpdated"})
    assert predicate(ROW) is expected


@pytest.mark.parametrize("text, position, words", [
    ("", 1, "empty"),
    ("id =", 5, "expected a value"),
    ("id = 5 and", 11, "expected a field name"),
    ("(id = 5", 8, "expected ')'"),
    ("id 5", 4, "expected an operator"),
    ("id = 5 5", 8, "expected 'and', 'or'"),
    ("id in (1, 2", 12, "expected ',' or ')'"),
    ("= 5", 1, "expected a field name"),
    ("id ~ 5", 4, "unexpected character"),
    ("id = [yesterday]", 6, "invalid datetime"),
    ('name like 5', 11, "needs a \"text\" value"),
    ("id < null", 6, "null can only be compared"),
    ('name = "unterminated', 8, "unexpected character"),
    ("id not 5", 4, "expected an operator"),
])
def test_syntax_errors_name_the_position(text, position, words):
    with pytest.raises(ConditionError) as caught:
        parse(text)
    assert caught.value.position == position
    assert words in str(caught.value)
    assert f"at position {position}" in str(caught.value)


def test_unknown_fields_are_refused_when_the_fields_are_known():
    with pytest.raises(ConditionError, match="unknown field 'colour'"):
        parse("colour = 1", known={"id", "name"})
    assert parse("id = 1", known={"id"}).fields == {"id"}


def test_reports_the_top_level_fields_it_reads():
    predicate = parse("company/id = 1 and (total > 0 or lastUpdated > [2026-01-01T00:00:00Z])",
                      aliases={"lastUpdated": "_info/lastUpdated"})
    assert predicate.fields == {"company", "total", "_info"}


def test_large_in_lists_match_numbers_and_text():
    ids = ",".join(str(i) for i in range(4000, 6001))
    assert parse(f"id in ({ids})")(ROW)
    assert not parse(f"id in ({ids})")({"id": 7000})
    assert parse('id in ("5003")')(ROW)
