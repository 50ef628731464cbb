"""Validate: the suite on the view of a chunk plus the holds of the resolve step, a suite loaded
once per file version, and the findings grouped per document."""

from __future__ import annotations

import json
import os
from decimal import Decimal
from pathlib import Path

import pytest

from flows.spec import load_spec
from tasks.errors import ConfigError
from tasks.chunks import read_chunk
from tasks.sage50.protocol import SageFacts
from tasks.sage50.rules import UK_TAX_RATES
from tasks.validate import CheckedChunk, suite_for, validate_export

ROOT = Path(__file__).resolve().parents[2]
SPEC = load_spec(ROOT / "pipelines.yaml", need_connection=False, check_files=False)
CONTROL = list(SPEC.sage.control_accounts)


def invoices(*ids: int) -> dict:
    """The saved invoices export, only the transactions ``ids``."""
    export = read_chunk(ROOT / "tests" / "fixtures" / "invoices-export.json")
    export["transactions"] = [d for d in export["transactions"] if d["id"] in ids]
    return export


def test_resolve_holds_join_the_suites_findings_and_leave_the_valid_list():
    outcome = validate_export(invoices(5001, 5003, 5004), SPEC.pipeline("invoices"), CONTROL)
    assert outcome.valid == ["CW-INV-5001"]
    assert sorted(outcome.quarantined) == ["CW-INV-5003", "CW-INV-5004"]
    [euro] = [f for f in outcome.findings if f.key == "CW-INV-5003"]
    assert (euro.expectation, euro.column) == ("resolve", "line")
    assert "EUR has no exchange rate" in euro.reason
    [resolve_row] = [r for r in outcome.table if r["expectation"].startswith("resolve")]
    assert resolve_row == {"expectation": "resolve (money, tax, signs, currency)", "rows": 3,
                           "failures": 1, "documents": 1,
                           "examples": repr(euro.reason[:60])}
    [fox] = [f for f in outcome.findings if f.key == "CW-INV-5004"]
    assert fox.expectation.startswith("expect_") and fox.fix.startswith(
        "set an Account Number on company Angry Fox Cycles Ltd in ConnectWise")


def test_with_the_rate_configured_the_same_document_is_valid():
    from tasks.entities import resolve_offline
    pipeline, export = SPEC.pipeline("invoices"), invoices(5001, 5003)
    facts = SageFacts(UK_TAX_RATES, {"EUR": Decimal("1.15")})
    outcome = validate_export(export, pipeline, CONTROL, resolve_offline(export, pipeline,
                                                                         facts))
    assert outcome.valid == ["CW-INV-5001", "CW-INV-5003"] and outcome.findings == []
    assert not [r for r in outcome.table if r["expectation"].startswith("resolve")]


def test_a_list_pipeline_validates_its_records_as_they_are():
    export = read_chunk(ROOT / "tests" / "fixtures" / "customers-export.json")
    outcome = validate_export(export, SPEC.pipeline("customers"), CONTROL)
    assert outcome.quarantined == ["CW-CO-1013"]
    assert len(outcome.valid) == len(export["records"]) - 1
    assert {f.column for f in outcome.findings} == {"accountNumber"}


def test_a_suite_is_loaded_once_per_file_version(tmp_path):
    path = tmp_path / "s.json"
    body = {"name": "s", "expectations": [{"type": "expect_column_values_to_not_be_null",
                                           "kwargs": {"column": "a"},
                                           "meta": {"reason": "r", "fix": "f"}}]}
    path.write_text(json.dumps(body))
    first = suite_for(path)
    assert suite_for(path) is first
    body["expectations"][0]["kwargs"]["column"] = "b"
    path.write_text(json.dumps(body))
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000))
    second = suite_for(path)
    assert second is not first and second.body["expectations"][0]["kwargs"]["column"] == "b"
    with pytest.raises(ConfigError, match="expectation suite not found"):
        suite_for(tmp_path / "missing.json")


def test_a_checked_chunk_groups_findings_per_document_in_order():
    a1, b, a2 = ({"key": k, "reason": r} for k, r in (("A", "1"), ("B", "2"), ("A", "3")))
    checked = CheckedChunk(1, ("C",), (a1, b, a2))
    assert checked.quarantined == ("A", "B")
    assert checked.reasons() == {"A": [a1, a2], "B": [b]}
