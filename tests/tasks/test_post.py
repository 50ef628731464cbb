"""Post: what the journal holds as loaded becomes one ConnectWise accounting batch — with
exactly its GL entry ids, never twice, never empty — against the sandbox over loopback HTTP,
a real journal and a real replica."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from decimal import Decimal as D

import pytest

from sandbox.testing import SandboxClient, invoice_gl_ids
from tasks.errors import ConfigError, CwsageError, RetriableError
from tasks.config.stages import PostConfig
from tasks.context import RunContext
from tasks.extract import doc_records
from tasks.journal import DocRecord
from tasks.post import batch_identifier, money_disagreement, post_loaded
from tasks.sage50.protocol import DocumentTotals, LineTotals
from tests.tasks.sage50.conftest import company, customer, invoice, item
from tests.tasks.test_load import run_context

BATCHES = "/finance/accounting/batches"
UNPOSTED = "/finance/accounting/unpostedinvoices/count"


@pytest.fixture
def cw(sandbox):
    return SandboxClient(sandbox)


@pytest.fixture
def ctx(sandbox, tmp_path):
    context = run_context(tmp_path)
    yield context
    context.close()


def loaded(ctx, cw, *ids: int) -> dict[str, list[int]]:
    """Documents ``ids`` of the sandbox, recorded as a run records them and held as loaded.
    Key → GL ids; ``post(ctx, frozenset(docs))`` says the load just checked them in the
    target, as a load that priced them does."""
    export = cw.export(exportInvoicesFlag=True, includedInvoiceIds=list(ids))
    records = doc_records(ctx.entity, export, ctx.resolver.resolve(export))
    keys = [r.key for r in records]
    ctx.journal.record_extracted("invoices", ctx.run_id, records)
    ctx.journal.mark("invoices", ctx.run_id, keys, "loading")
    ctx.journal.mark_loaded("invoices", ctx.run_id, {k: "SI 1" for k in keys})
    return {r.key: list(r.gl_ids) for r in records}


def post(ctx, checked: frozenset = frozenset()):
    """The post stage's work, with the run's own journal, client and writer."""
    return post_loaded(ctx.run, ctx.journal, ctx.client, ctx.writer, checked)


def batches(cw) -> list[dict]:
    return cw.get(BATCHES, pageSize=1000).json()


def entries(cw, batch_id: int) -> list[int]:
    return sorted(e["id"] for e in cw.all_pages(f"{BATCHES}/{batch_id}/entries", pageSize=1000))


def states(ctx) -> dict[str, str]:
    return {r.key: r.state for r in ctx.journal.documents("invoices")}


def test_loaded_documents_are_batched_once_with_exactly_their_gl_ids(ctx, cw):
    docs = loaded(ctx, cw, 5001, 5002)
    sandbox_ids = sorted(i for d in cw.export(exportInvoicesFlag=True, includedInvoiceIds=[
        5001, 5002])["transactions"] for i in invoice_gl_ids(d))     # the sandbox's own count
    result = post(ctx, frozenset(docs))

    [batch] = batches(cw)
    gl_ids = sorted(i for ids in docs.values() for i in ids)
    assert gl_ids == sandbox_ids
    assert result == {"batch": batch["batchIdentifier"], "id": batch["id"], "documents": 2,
                      "gl_entries": len(gl_ids)}
    assert entries(cw, batch["id"]) == gl_ids
    assert cw.get(UNPOSTED).json() == {"count": 2}
    assert states(ctx) == {"CW-INV-5001": "posted", "CW-INV-5002": "posted"}
    assert {r.batch_id for r in ctx.journal.documents("invoices")} == {batch["id"]}
    assert ctx.journal.batch(batch["batchIdentifier"]).state == "created"
    assert post(ctx, frozenset(docs)) is None and len(batches(cw)) == 1  # nothing twice


def test_nothing_loaded_creates_no_batch(ctx, cw):
    assert post(ctx) is None
    assert batches(cw) == []


def test_documents_without_gl_ids_are_never_sent_as_an_empty_batch(ctx, cw):
    record = DocRecord("CW-INV-5001", "5001", "10001", "SI", "A", "GBP", D("1.00"), D("0.20"),
                       D("1.20"), (), "h")
    ctx.journal.record_extracted("invoices", "r1", [record])
    ctx.journal.mark("invoices", "r1", ["CW-INV-5001"], "loading")
    ctx.journal.mark_loaded("invoices", "r1", {"CW-INV-5001": "SI 1"})
    with pytest.raises(CwsageError) as raised:
        post(ctx, frozenset({"CW-INV-5001"}))
    assert str(raised.value) == ("[invoices] post: documents ['CW-INV-5001'] carry no GL entry "
                                 "ids; refusing to create an empty batch")
    assert batches(cw) == [] and states(ctx) == {"CW-INV-5001": "loaded"}


def test_a_lost_answer_is_settled_by_looking_the_batch_up(sandboxes, tmp_path):
    server = sandboxes(faults="lose@POST:batches:1")
    cw, ctx = SandboxClient(server), run_context(tmp_path)
    try:
        docs = loaded(ctx, cw, 5001)
        with pytest.raises(RetriableError):
            post(ctx, frozenset(docs))
        [batch] = batches(cw)                   # created, though its answer was lost
        assert states(ctx) == {"CW-INV-5001": "posted"}
        assert ctx.journal.batch(batch["batchIdentifier"]).cw_batch_id == batch["id"]
        assert post(ctx) is None and len(batches(cw)) == 1
    finally:
        ctx.close()


def test_a_document_loaded_earlier_and_missing_from_the_target_is_loaded_again(ctx, cw):
    loaded(ctx, cw, 5001)                      # an earlier run's: the target is asked
    assert post(ctx) is None
    assert batches(cw) == []
    assert states(ctx) == {"CW-INV-5001": "extracted"}
    assert ctx.journal.history("invoices", "CW-INV-5001")[-1].detail == \
        "not in the target when it was to be batched: loaded again"


def test_a_document_the_target_holds_with_other_money_is_never_batched(ctx, cw):
    loaded(ctx, cw, 5001)
    row = ctx.journal.documents("invoices", ["CW-INV-5001"])[0]
    account = row.account_ref
    ctx.writer.load(company(customers=[customer(account)], invoices=[invoice(
        "CW-INV-5001", account, items=[item(price="1.00")])]), source="by hand")
    assert post(ctx) is None
    assert batches(cw) == []
    assert states(ctx) == {"CW-INV-5001": "unreconciled"}
    [reason] = [r.as_dict() for r in ctx.journal.documents("invoices")[0].reasons]
    assert reason["reason"] == (f"the target holds SI net 1.00 VAT 0.20; ConnectWise states "
                                f"SI net {row.net} VAT {row.tax}")


def test_documents_found_posted_by_hand_are_adopted_and_the_rest_batched(ctx, cw):
    docs = loaded(ctx, cw, 5001, 5002)
    manual = cw.post(BATCHES, {"batchIdentifier": "MANUAL-1", "exportInvoicesFlag": True,
                               "processedRecordIds": docs["CW-INV-5001"]}).json()
    result = post(ctx, frozenset(docs))

    assert result["documents"] == 1 and result["id"] != manual["id"]
    assert entries(cw, result["id"]) == sorted(docs["CW-INV-5002"])
    by_key = {r.key: r for r in ctx.journal.documents("invoices")}
    assert (by_key["CW-INV-5001"].state, by_key["CW-INV-5001"].batch_id) == \
        ("posted", manual["id"])
    assert (by_key["CW-INV-5002"].state, by_key["CW-INV-5002"].batch_id) == \
        ("posted", result["id"])
    assert ctx.journal.history("invoices", "CW-INV-5001")[-1].detail == \
        f"found posted in ConnectWise batch {manual['id']} 'MANUAL-1' (not written by cwsage)"


def test_a_batch_another_cwsage_home_wrote_stops_the_pipeline(ctx, cw):
    docs = loaded(ctx, cw, 5001)
    other = "CWSAGE-INV-20260101T000000-abcdef-h000000-001"
    assert ctx.journal.home_marker() != "000000"
    cw.post(BATCHES, {"batchIdentifier": other, "exportInvoicesFlag": True,
                      "processedRecordIds": docs["CW-INV-5001"]})
    with pytest.raises(ConfigError, match=r"batch '" + re.escape(other) + r"' was written by "
                       r"another cwsage home \(h000000; this one is h[0-9a-f]{6}\)"):
        post(ctx, frozenset(docs))
    assert states(ctx) == {"CW-INV-5001": "loaded"} and len(batches(cw)) == 1


def test_batch_identifiers_name_the_run_and_the_home_and_never_repeat(ctx, cw):
    first = batch_identifier(ctx.run, ctx.journal)
    assert re.fullmatch(r"CWSAGE-INV-r1-h[0-9a-f]{6}-001", first)
    assert first.split("-h")[1][:6] == ctx.journal.home_marker()
    ctx.journal.begin_batch("invoices", "r1", first, [], [1])
    assert batch_identifier(ctx.run, ctx.journal) == first[:-3] + "002"
    spec = ctx.spec.model_copy(update={"pipelines": {"invoices": ctx.pipeline_spec.model_copy(
        update={"post": PostConfig(batch_prefix="ABCDEFGHIJKL")})}})
    other = RunContext(spec, spec.pipeline("invoices"), ctx.home,
                       run_id="20261125T171500-ab12cd")         # a run id as runs make them
    try:
        longest = batch_identifier(other.run, other.journal)
    finally:
        other.close()
    assert len(longest) == 50 and longest.startswith("ABCDEFGHIJKL-IN-20261125T171500-ab12cd-h")


@dataclass(frozen=True)
class Kept:
    net: D
    tax: D
    doc_type: str


def test_money_disagreement_allows_half_a_penny_a_line_and_no_more():
    lines = tuple(LineTotals("4000", 1, D("0.03"), D("0.01"), D(20), "x") for _ in range(3))
    held = DocumentTotals("K", "SI", "A", "GBP", D("0.09"), D("0.03"), D("0.12"), lines)
    row = Kept(D("0.09"), D("0.02"), "SI")             # what the journal keeps of it
    assert money_disagreement(row, held) is None                   # 0.01 apart, bound 0.015
    assert money_disagreement(replace(row, tax=D("0.01")), held) == \
        "the target holds SI net 0.09 VAT 0.03; ConnectWise states SI net 0.09 VAT 0.01"
    assert money_disagreement(replace(row, doc_type="SC"), held) is not None
    assert money_disagreement(replace(row, net=D("0.10")), held) is not None
