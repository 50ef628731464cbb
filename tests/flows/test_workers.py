"""Chunks prepared ahead (``workers: 2``): the same result as one chunk at a time, and a chunk
that fails while the previous one loads stops the run with nothing lost or posted twice."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from sandbox.server import SandboxServer
from tasks.errors import RetriableError
from tests.flows.helpers import CW, point_env_at, replica, run

pytestmark = pytest.mark.slow


def start(monkeypatch) -> SandboxServer:
    server = SandboxServer(host="127.0.0.1", port=0, seed=5, invoices=30, expenses=0,
                           procurement=0, broken_share=0.1).start()
    point_env_at(monkeypatch, server)
    return server


def configure(spec: Path, workers: int, retries: int = 3) -> Path:
    text = spec.read_text().replace("  retries: 3", f"  retries: {retries}")
    text = text.replace("  workers: 2 ", f"  workers: {workers} ")
    assert f"  workers: {workers} " in text
    text = text.replace("  retry_delay_seconds: 10", "  retry_delay_seconds: 0")
    spec.write_text(text.replace("    chunk_size: 1000", "    chunk_size: 4"))
    return spec


def ledger(home: Path) -> list[tuple]:
    """What Sage holds, independent of the order documents were written in."""
    db = replica(home)
    try:
        invoices = db.execute("SELECT EXTERNAL_ID, ACCOUNT_REF, INVOICE_NET, INVOICE_TAX, "
                              "INVOICE_GROSS FROM INVOICE ORDER BY EXTERNAL_ID").fetchall()
        journal = db.execute("SELECT NOMINAL_CODE, ROUND(SUM(DEBIT), 2), ROUND(SUM(CREDIT), 2) "
                             "FROM AUDIT_JOURNAL GROUP BY NOMINAL_CODE ORDER BY 1").fetchall()
    finally:
        db.close()
    return invoices + journal


def batched_entries(server: SandboxServer) -> list[int]:
    cw = CW(server)
    entries = []
    for batch in cw.batches():
        entries += [e["id"] for e in cw.get(f"/finance/accounting/batches/{batch['id']}/entries",
                                            pageSize=1000)]
    return entries


def test_one_and_two_workers_give_the_same_sage_ledger(prefect_harness, monkeypatch, spec,
                                                       tmp_path):
    results = {}
    configure(spec, workers=1)
    for workers in (1, 2):
        spec.write_text(spec.read_text().replace("  workers: 1 ", f"  workers: {workers} "))
        home = tmp_path / f"home-{workers}"
        monkeypatch.setenv("CWSAGE_HOME", str(home))
        server = start(monkeypatch)
        try:
            summary = run(spec)
            entries = batched_entries(server)
            assert len(entries) == len(set(entries))
            results[workers] = (summary.counts.loaded, summary.counts.quarantined,
                                len(summary.counts.batches), ledger(home), sorted(entries),
                                CW(server).unposted())
        finally:
            server.stop()
    assert results[1][0] > 0 and results[1][2] == 8           # 30 invoices in chunks of 4
    assert results[1] == results[2]


def test_a_chunk_failing_while_the_previous_one_loads(prefect_harness, monkeypatch, spec, home):
    """Once the first batch exists, every export fails: the chunk being prepared ahead (or the
    next) fails the run; what was loaded is posted once; the next run finishes the rest."""
    server = start(monkeypatch)
    stop = threading.Event()

    def break_exports_after_first_batch() -> None:
        cw = CW(server)
        while not stop.is_set():
            if cw.batches():
                cw.session.post(server.base_url + "/admin/faults",
                                json={"spec": "500@export:1000"}).raise_for_status()
                return
            stop.wait(0.01)

    watcher = threading.Thread(target=break_exports_after_first_batch, daemon=True)
    watcher.start()
    try:
        configure(spec, workers=2, retries=0)
        spec.write_text(spec.read_text().replace("  max_attempts: 5", "  max_attempts: 1"))
        with pytest.raises(RetriableError) as failed:         # the export that failed, named
            run(spec)
        assert "/finance/accounting/export" in str(failed.value) and "500" in str(failed.value)
        stop.set()
        watcher.join()
        first_batches = CW(server).batches()
        assert first_batches, "the first chunk was posted before the failure"
        posted_once = replica(home).execute("SELECT COUNT(*) FROM INVOICE").fetchone()[0]
        assert 0 < posted_once < 30

        CW(server).session.delete(server.base_url + "/admin/faults").raise_for_status()
        second = run(spec)
        assert second.reconciliation.agrees
        ids = [r[0] for r in replica(home).execute("SELECT EXTERNAL_ID FROM INVOICE")]
        assert len(ids) == len(set(ids))
        entries = batched_entries(server)
        assert len(entries) == len(set(entries))
        from tasks.journal import Journal
        journal = Journal(home / "journal.db")
        counts = {state: n for state, n in journal.counts("invoices").items() if n}
        assert set(counts) <= {"posted", "quarantined"}
        assert counts["posted"] == len(ids)
        assert CW(server).unposted() == counts.get("quarantined", 0)
        journal.close()
    finally:
        stop.set()
        server.stop()


def test_workers_out_of_range_is_a_spec_error(spec, cw_env, tmp_path):
    from flows.spec import load_spec
    from tasks.errors import ConfigError
    spec.write_text(spec.read_text().replace("  workers: 2 ", "  workers: 9 "))
    with pytest.raises(ConfigError) as error:
        load_spec(spec)
    assert "workers" in str(error.value)
