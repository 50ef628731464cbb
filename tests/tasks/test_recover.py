"""Recover: what an interrupted run left behind is settled before anything new is extracted —
open batches looked up in ConnectWise (the sandbox over loopback HTTP), documents left
``loading`` looked for in the target (a real replica, a real Zynk outbox), and what the Sage
side confirmed since."""

from __future__ import annotations

import shutil
from decimal import Decimal as D
from pathlib import Path

import pytest

from sandbox.testing import SandboxClient
from tasks.context import RunContext
from tasks.journal import DocRecord
from tasks.recover import recover, recover_task
from tasks.sage50 import get_writer
from tasks.sage50.sage_import import import_outbox
from tests.flows.helpers import with_writer
from tests.tasks.sage50.conftest import company, customer, invoice
from tests.tasks.test_load import ROOT, run_context
from tests.tasks.test_post import loaded

NOTHING = {"open_batches": 0, "loading_found": 0, "loading_absent": 0, "confirmed": 0,
           "import_failed": 0, "import_differs": 0, "strays": [], "unreadable": []}


@pytest.fixture
def ctx(sandbox, tmp_path):
    context = run_context(tmp_path)
    yield context
    context.close()


def record(key: str) -> DocRecord:
    return DocRecord(key, key[-4:], key[-4:], "SI", "SMITHJ01", "GBP", D("100.00"),
                     D("20.00"), D("120.00"), (1,), key)


def left_loading(ctx, *keys: str) -> None:
    ctx.journal.record_extracted("invoices", "r0", [record(k) for k in keys])
    ctx.journal.mark("invoices", "r0", keys, "loading", "invoices chunk 1")


def settle(ctx) -> dict:
    """The recover stage, with the run's own journal, client and writer."""
    return recover(ctx.run, ctx.journal, ctx.client, ctx.writer)


def states(ctx) -> dict[str, str]:
    return {r.key: r.state for r in ctx.journal.documents("invoices")}


def test_open_batches_are_settled_by_what_connectwise_holds(ctx, sandbox):
    cw = SandboxClient(sandbox)
    docs = loaded(ctx, cw, 5001, 5002)
    ctx.journal.begin_batch("invoices", "r0", "CWSAGE-INV-made", ["CW-INV-5001"],
                            docs["CW-INV-5001"])
    ctx.journal.begin_batch("invoices", "r0", "CWSAGE-INV-never", ["CW-INV-5002"],
                            docs["CW-INV-5002"])
    made = cw.post("/finance/accounting/batches", {
        "batchIdentifier": "CWSAGE-INV-made", "exportInvoicesFlag": True,
        "processedRecordIds": docs["CW-INV-5001"]}).json()    # the call the crash cut short

    summary = settle(ctx)

    assert summary == dict(NOTHING, open_batches=2)
    assert states(ctx) == {"CW-INV-5001": "posted", "CW-INV-5002": "loaded"}
    assert ctx.journal.documents("invoices", ["CW-INV-5001"])[0].batch_id == made["id"]
    assert ctx.journal.batch("CWSAGE-INV-made").state == "created"
    assert ctx.journal.batch("CWSAGE-INV-never").state == "not-created"
    assert ctx.journal.open_batches("invoices") == []


def test_documents_left_loading_are_found_in_the_replica_or_flow_again(ctx):
    left_loading(ctx, "CW-INV-5001", "CW-INV-5002")
    ctx.writer.load(company(customers=[customer()], invoices=[invoice("CW-INV-5001")]),
                    source="invoices chunk 1")          # the load that finished before the crash

    assert settle(ctx) == dict(NOTHING, loading_found=1, loading_absent=1)

    assert states(ctx) == {"CW-INV-5001": "loaded", "CW-INV-5002": "extracted"}
    assert ctx.journal.documents("invoices", ["CW-INV-5001"])[0].sage_ref == \
        "found in Sage on recovery"
    assert ctx.journal.history("invoices", "CW-INV-5002")[-1].detail == \
        "not in Sage on recovery"
    assert settle(ctx) == NOTHING                      # settled: nothing left to do


def test_a_dry_run_works_on_throwaway_copies_and_settles_nothing_real(ctx, tmp_path):
    """A dry run's resources are copies: whatever a stage does to them, the real journal and
    the real replica are as they were (the flow also leaves recover and post out of a dry
    run: it changes nothing in ConnectWise)."""
    left_loading(ctx, "CW-INV-5001")
    ctx.close()
    loaded = ctx.spec
    dry = RunContext(loaded, loaded.pipeline("invoices"), tmp_path, run_id="dry", dry_run=True)
    try:
        assert dry.journal.path == tmp_path / "dry-runs" / "invoices" / "journal.db"
        settled = recover_task.fn(dry.run, dry.journal, dry.client, dry.writer)
        assert settled["loading_absent"] == 1                 # settled in the copy
        assert dry.journal.keys_in("invoices", "loading") == []
    finally:
        dry.close()
    again = run_context(tmp_path)
    try:
        assert again.journal.keys_in("invoices", "loading") == ["CW-INV-5001"]
        assert not (tmp_path / "sage50.db").exists()        # the real replica never made
    finally:
        again.close()


@pytest.fixture
def outbox_ctx(sandbox, tmp_path):
    """A run whose writer is the Zynk outbox, the importer's folders beside it."""
    project = tmp_path / "project"
    for folder in ("xslt", "expectations"):
        shutil.copytree(ROOT / folder, project / folder)
    spec = project / "pipelines.yaml"
    spec.write_text(with_writer((ROOT / "pipelines.yaml").read_text(), "zynk_xml_outbox",
                                folder=str(tmp_path / "outbox"),
                                success_folder=str(tmp_path / "success"),
                                fail_folder=str(tmp_path / "fail")))
    context = run_context(tmp_path / "home", spec=spec)
    yield context
    context.close()


def test_through_the_outbox_found_means_handed_off_until_sage_confirms(outbox_ctx,
                                                                       tmp_path: Path):
    ctx = outbox_ctx
    left_loading(ctx, "CW-INV-5001", "CW-INV-5002")
    ctx.writer.load(company(customers=[customer()], invoices=[invoice("CW-INV-5001")]),
                    source="invoices chunk 1")

    assert settle(ctx) == dict(NOTHING, loading_found=1, loading_absent=1)
    assert states(ctx) == {"CW-INV-5001": "handed_off", "CW-INV-5002": "extracted"}
    assert ctx.journal.documents("invoices", ["CW-INV-5001"])[0].sage_ref == \
        "found handed off on recovery"

    sage = get_writer("sage50_replica", None, tmp_path / "sage")    # the Sage company
    try:                                                            # Zynk imports it
        report = import_outbox(tmp_path / "outbox", tmp_path / "success", tmp_path / "fail",
                               sage)
        assert sage.present(["CW-INV-5001"]) == {"CW-INV-5001"}
    finally:
        sage.close()
    assert (len(report.files), report.imported, report.failed) == (1, 2, 0)  # it and its customer

    assert settle(ctx) == dict(NOTHING, confirmed=1)
    assert states(ctx) == {"CW-INV-5001": "loaded", "CW-INV-5002": "extracted"}
