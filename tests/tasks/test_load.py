"""Load: the journal's intent, the money gate inside the writer, the outcome per document, the
check of documents already in the target, the quarantine of earlier stages and the receipt —
against a real journal and a real replica in tmp_path."""

from __future__ import annotations

import shutil
from decimal import Decimal as D
from pathlib import Path

import pytest

from flows.spec import load_spec
from tasks.context import RunContext
from tasks.errors import LoadError
from tasks.chunks import ChunkRef, read_chunk
from tasks.extract import doc_records
from tasks.gate import MoneyCheck
from tasks.journal import DocRecord
from tasks.load import (LoadSummary, changed_gate, load_documents, load_task, receipt_rows,
                        record_quarantine)
from tasks.resolved import Line, Resolved
from tasks.stylesheets import document_keys
from tasks.transform import SageChunk, transform_task
from tasks.validate import CheckedChunk, validate_task
from tests.tasks.sage50.conftest import company, customer, invoice, item

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "invoices-export.json"


def run_context(home: Path, pipeline: str = "invoices", spec: Path = ROOT / "pipelines.yaml",
                run_id: str = "r1") -> RunContext:
    """A run's context on the real spec, its journal and replica under ``home`` (the spec's
    stylesheets and suites are checked where a stage uses them, not here)."""
    loaded = load_spec(spec, need_connection=False, check_files=False)
    return RunContext(loaded, loaded.pipeline(pipeline), home, run_id=run_id)


@pytest.fixture
def ctx(tmp_path):
    context = run_context(tmp_path)
    yield context
    context.close()


def record(key: str, net: str = "100.00", tax: str = "20.00", gl_ids=(1,)) -> DocRecord:
    return DocRecord(key=key, cw_id=key.rsplit("-", 1)[1], doc_number=key[-4:], doc_type="SI",
                     account_ref="SMITHJ01", currency="GBP", net=D(net), tax=D(tax),
                     gross=D(net) + D(tax), gl_ids=tuple(gl_ids), content_hash=key)


def stated(key: str, net: str = "100.00", tax: str = "20.00") -> Resolved:
    """ConnectWise's side of a one-line T1 invoice, as the resolve step states it."""
    return Resolved(key, key[-4:], "SI", "SMITHJ01", "2026-10-20", None, key[-4:], key[-4:],
                    "GBP", None, [Line("1", "item", "x", None, "4000", "4000", "T1", 1, D(net),
                                       False)],
                    D(net), D(tax), D(net) + D(tax), {1: D(tax)})


def sage_xml(*invoices: dict) -> bytes:
    return company(customers=[customer()], invoices=list(invoices))


def load(ctx, xml: bytes, keys: tuple, source: str, number: int = 0, check=None):
    """The load of ``keys``, with the run's own journal and writer."""
    return load_documents(ctx.run, ctx.journal, ctx.writer, xml, keys, source, number, check)


def gate(ctx, xml: bytes, keys: tuple):
    return changed_gate(ctx.run, ctx.journal, ctx.writer, ctx.resolver.facts, xml, keys)


def state(ctx, key: str) -> str:
    return ctx.journal.documents("invoices", [key])[0].state


def reasons(ctx, key: str) -> list[dict]:
    return [r.as_dict() for r in ctx.journal.documents("invoices", [key])[0].reasons]


def test_the_gate_holds_what_differs_and_the_rest_is_loaded(ctx):
    ctx.journal.record_extracted("invoices", "r1", [record("CW-INV-1001"),
                                                    record("CW-INV-1002", "90.00", "18.00")])
    check = MoneyCheck({"CW-INV-1001": stated("CW-INV-1001"),
                        "CW-INV-1002": stated("CW-INV-1002", "90.00", "18.00")}, ctx.resolver.facts)
    keys = ("CW-INV-1001", "CW-INV-1002")
    summary = load(ctx, sage_xml(invoice("CW-INV-1001"), invoice("CW-INV-1002")),
                             keys, "invoices chunk 1", 1, check)

    assert (summary.loaded, summary.gate_held, summary.priced) == \
        (("CW-INV-1001",), ("CW-INV-1002",), 2)
    assert ctx.writer.present(keys) == {"CW-INV-1001"}
    assert [h.to_state for h in ctx.journal.history("invoices", "CW-INV-1001")] == \
        ["extracted", "loading", "loaded"]
    assert ctx.journal.documents("invoices", ["CW-INV-1001"])[0].sage_ref.startswith("SI ")
    assert summary.confirmed == {"CW-INV-1001"}        # checked on load: post asks no more
    assert state(ctx, "CW-INV-1002") == "quarantined"
    net, vat = reasons(ctx, "CW-INV-1002")
    assert {(h["expectation"], h["stage"]) for h in (net, vat)} == {("money gate", "gate")}
    assert net["reason"] == ("net differs: ConnectWise 90.00, Sage 100.00 "
                             "(line 1 4000 T1 net 100.00 VAT 20.00)")
    assert vat["reason"].startswith("VAT for T1 differs: ConnectWise 18.00, Sage 20.00 — "
                                    "more than Sage's per-line rounding allows (at most 0.005 "
                                    "over 1 lines)")
    assert net["fix"].startswith("correct the document in ConnectWise")


def test_a_document_the_target_refuses_is_quarantined_with_its_fix(ctx):
    ctx.journal.record_extracted("invoices", "r1", [record("CW-INV-1001")])
    summary = load(ctx, sage_xml(invoice("CW-INV-1001", items=[item(tax=77)])),
                             ("CW-INV-1001",), "invoices chunk 1")
    assert summary.rejected == ("CW-INV-1001",) and summary.loaded == ()
    assert ctx.writer.present(["CW-INV-1001"]) == set()
    [held] = reasons(ctx, "CW-INV-1001")
    assert (held["expectation"], held["stage"]) == ("sage import", "load")
    assert "Item 1 TaxCode" in held["reason"] and "77" in held["reason"]
    assert held["fix"] and held["fix"] in held["reason"]      # the fix the reason carries
    assert summary.confirmed == frozenset()


def test_a_document_the_writer_is_silent_about_stays_loading(ctx):
    ctx.journal.record_extracted("invoices", "r1", [record("CW-INV-1001"),
                                                    record("CW-INV-1009")])
    with pytest.raises(LoadError) as raised:
        load(ctx, sage_xml(invoice("CW-INV-1001")), ("CW-INV-1001", "CW-INV-1009"),
                       "invoices chunk 1")
    assert str(raised.value) == ("[invoices] load: the writer did not report on 1 documents "
                                 "(CW-INV-1009); they stay 'loading' and are checked on the "
                                 "next run")
    assert ctx.journal.keys_in("invoices", "loading") == ["CW-INV-1001", "CW-INV-1009"]
    assert ctx.writer.present(["CW-INV-1001"]) == {"CW-INV-1001"}   # recover finds it


def test_loading_again_finds_it_in_sage_and_writes_nothing(ctx):
    ctx.journal.record_extracted("invoices", "r1", [record("CW-INV-1001")])
    first = load(ctx, sage_xml(invoice("CW-INV-1001")), ("CW-INV-1001",), "chunk 1")
    ref = ctx.journal.documents("invoices", ["CW-INV-1001"])[0].sage_ref
    ctx.journal.record_extracted("invoices", "r2", [record("CW-INV-1001")])   # re-exposed
    again = load(ctx, sage_xml(invoice("CW-INV-1001")), ("CW-INV-1001",), "chunk 1",
                 check=MoneyCheck({"CW-INV-1001": stated("CW-INV-1001")}, ctx.resolver.facts))
    assert first.loaded == ("CW-INV-1001",)
    assert (again.loaded, again.already_present) == ((), ("CW-INV-1001",))
    row = ctx.journal.documents("invoices", ["CW-INV-1001"])[0]
    assert (row.state, row.sage_ref) == ("loaded", f"already in Sage: {ref}")
    assert len(ctx.writer.totals(["CW-INV-1001"])) == 1


def test_a_document_changed_since_it_was_loaded_is_held_and_taken_out(ctx):
    ctx.journal.record_extracted("invoices", "r1", [record("CW-INV-1001")])
    load(ctx, sage_xml(invoice("CW-INV-1001")), ("CW-INV-1001",), "chunk 1")
    ctx.journal.record_extracted("invoices", "r2", [record("CW-INV-1001", "110.00", "22.00")])
    xml, keys = gate(ctx, sage_xml(invoice("CW-INV-1001", items=[item(price="110.00")])),
                             ("CW-INV-1001",))
    assert keys == ()
    assert document_keys(xml) == ["CW-CO-SMITHJ01"]           # the customer stays
    assert state(ctx, "CW-INV-1001") == "quarantined"
    [held] = reasons(ctx, "CW-INV-1001")
    assert held["reason"] == ("changed in ConnectWise after it was loaded into Sage: "
                              "net 100.00 → 110.00; VAT 20.00 → 22.00; gross 120.00 → 132.00")
    assert ctx.writer.totals(["CW-INV-1001"])["CW-INV-1001"].net == D("100.00")


def test_an_unchanged_document_in_the_target_passes_the_gate_untouched(ctx):
    ctx.journal.record_extracted("invoices", "r1", [record("CW-INV-1001")])
    load(ctx, sage_xml(invoice("CW-INV-1001")), ("CW-INV-1001",), "chunk 1")
    xml = sage_xml(invoice("CW-INV-1001"))
    assert gate(ctx, xml, ("CW-INV-1001",)) == (xml, ("CW-INV-1001",))


def test_earlier_stages_findings_are_recorded_only_for_open_documents(ctx):
    ctx.journal.record_extracted("invoices", "r1", [record(f"CW-INV-100{n}") for n in (1, 2, 3)])
    finding = {"key": "CW-INV-1001", "document": "1001", "expectation": "expect_x",
               "column": "tax_code", "value": None, "reason": "no tax code", "fix": "map it"}
    checked = CheckedChunk(1, ("CW-INV-1003",), (finding, dict(finding, key="CW-INV-1002")))
    failed = SageChunk(1, None, (), (("CW-INV-1003", "invoices.xsl: boom"),))
    record_quarantine(ctx.run, ctx.journal, checked, failed, {"CW-INV-1001", "CW-INV-1003"})
    assert ctx.journal.keys_in("invoices", "quarantined") == ["CW-INV-1001", "CW-INV-1003"]
    assert state(ctx, "CW-INV-1002") == "extracted"           # not open: left alone
    assert reasons(ctx, "CW-INV-1001") == [dict(finding, stage="validate")]
    assert reasons(ctx, "CW-INV-1003") == [{
        "expectation": "stylesheet", "reason": "invoices.xsl: boom", "stage": "transform",
        "fix": "correct the stylesheet (or the document in ConnectWise) and run again"}]


def test_the_receipt_names_ranges_and_every_exception():
    summary = LoadSummary(3, ("A", "B"), ("C",), ("D",), ("SMITHJ01",), 4, ("E",), ("F", "G"))
    assert receipt_rows(summary, ("A", "G")) == [
        {"documents": "A … G", "outcome": "loaded", "count": 2},
        {"documents": "F … G", "outcome": "handed off to the Sage-side importer, waiting for "
                                          "Sage", "count": 2},
        {"documents": "C", "outcome": "already in Sage", "count": 1},
        {"documents": "D", "outcome": "rejected by Sage", "count": 1},
        {"documents": "E", "outcome": "held by the money gate", "count": 1},
        {"documents": "SMITHJ01", "outcome": "account created", "count": 1}]


def test_the_stage_on_a_saved_chunk_loads_once_and_a_retry_loads_nothing(ctx, tmp_path):
    path = tmp_path / "runs" / "chunk-0001.json"
    path.parent.mkdir()
    shutil.copy(FIXTURE, path)
    export = read_chunk(path)
    records = doc_records(ctx.entity, export, ctx.resolver.resolve(export))
    ctx.journal.record_extracted("invoices", "r1", records)
    chunk = ChunkRef(1, path, tuple(r.key for r in records))
    checked = validate_task.fn(ctx.run, ctx.resolver, chunk)
    sage_chunk = transform_task.fn(ctx.run, ctx.resolver, chunk, checked)

    first = load_task.fn(ctx.run, ctx.journal, ctx.writer, ctx.resolver, chunk, checked,
                          sage_chunk)
    counts = ctx.journal.counts("invoices")
    again = load_task.fn(ctx.run, ctx.journal, ctx.writer, ctx.resolver, chunk, checked,
                          sage_chunk)

    assert first.loaded == checked.valid and first.priced == len(checked.valid)
    assert counts["loaded"] == len(checked.valid)
    assert counts["quarantined"] == len(checked.quarantined) == len(records) - len(checked.valid)
    assert again == LoadSummary(1, (), (), (), ())
    assert ctx.journal.counts("invoices") == counts
    assert set(ctx.writer.totals(first.loaded)) == set(first.loaded)
