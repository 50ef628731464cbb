"""Batches are settled from ConnectWise's own answer; the target is asked before every batch;
one target takes one writer. Each case ends with nothing twice, nothing lost, nothing stuck."""

from __future__ import annotations

import json
import sqlite3
import time

import pytest

from sandbox.server import SandboxServer
from tasks.errors import ConfigError
from tests.flows.helpers import CW, replica, run, point_env_at

pytestmark = pytest.mark.slow
DOCS = 12


@pytest.fixture
def server(monkeypatch):
    srv = SandboxServer(host="127.0.0.1", port=0, seed=21, invoices=DOCS, expenses=0,
                        procurement=0, broken_share=0.0).start()
    point_env_at(monkeypatch, srv)
    yield srv
    srv.stop()


def tuned(spec, **replacements) -> None:
    text = spec.read_text()
    for old, new in replacements.items():
        assert old in text, old
        text = text.replace(old, new)
    spec.write_text(text)


def exactly_once(server, home) -> None:
    cw = CW(server)
    ids = [r[0] for r in replica(home).execute("SELECT EXTERNAL_ID FROM INVOICE")]
    assert len(ids) == len(set(ids)) == DOCS
    entries = [e["id"] for b in cw.batches() for e in cw.get(
        f"/finance/accounting/batches/{b['id']}/entries", pageSize=1000)]
    assert len(entries) == len(set(entries))
    assert cw.unposted() == 0
    states = dict(sqlite3.connect(home / "journal.db").execute(
        "SELECT state, COUNT(*) FROM documents GROUP BY state").fetchall())
    assert states == {"posted": DOCS}


def test_a_batch_created_after_the_client_gave_up_is_found_on_the_next_run(
        prefect_harness, server, spec, home):
    tuned(spec, **{"  timeout_seconds: 30": "  timeout_seconds: 2", "  retries: 3": "  retries: 0"})
    server.faults.add("timeout=4@POST:batches:1")   # answered (and created) after 4 s
    from flows.pipeline import run_pipeline
    first = run_pipeline(pipeline="invoices", spec_path=str(spec), return_state=True)
    assert first.is_failed()
    time.sleep(3)                                   # ConnectWise has created it by now
    second = run(spec)                              # settled first, never a 400 dead end
    assert second.reconciliation.agrees
    exactly_once(server, home)


def test_already_posted_is_evidence_the_journal_follows(prefect_harness, server, spec, home):
    run(spec)
    db = sqlite3.connect(home / "journal.db")       # a journal that missed its batch
    db.execute("UPDATE documents SET state='loaded', batch_id=NULL")
    db.execute("UPDATE batches SET state='not-created', cw_batch_id=NULL")
    db.commit()
    again = run(spec)
    assert again.reconciliation.agrees
    exactly_once(server, home)
    details = [r[0] for r in db.execute("SELECT detail FROM events WHERE to_state='posted' "
                                        "ORDER BY id DESC LIMIT 1")]
    assert "found posted in ConnectWise batch" in details[0]


def test_leftover_loaded_documents_the_target_lost_are_loaded_again_not_batched(
        prefect_harness, server, spec, home):
    tuned(spec, **{"  retries: 3": "  retries: 0"})
    server.faults.add("500@POST:batches:1")         # loaded, then the batch is refused
    from flows.pipeline import run_pipeline
    assert run_pipeline(pipeline="invoices", spec_path=str(spec), return_state=True).is_failed()
    for leftover in home.glob("sage50.db*"):        # the replica replaced by an empty one
        if not leftover.name.endswith("cwsage-claim"):
            leftover.unlink()
    result = run(spec)
    assert result.reconciliation.agrees
    exactly_once(server, home)


def test_a_second_home_against_the_same_target_is_refused(prefect_harness, server, spec, home,
                                                          tmp_path, monkeypatch):
    target = tmp_path / "shared" / "sage50.db"
    tuned(spec, **{"  sage50_replica: {currency_rates:":
                   f"  sage50_replica: {{path: {target}, currency_rates:"})
    run(spec)
    monkeypatch.setenv("CWSAGE_HOME", str(tmp_path / "other-home"))
    from flows.pipeline import run_pipeline
    state = run_pipeline(pipeline="invoices", spec_path=str(spec), return_state=True)
    assert state.is_failed()
    with pytest.raises(ConfigError, match="is written by another cwsage home"):
        state.result()
    claim = json.loads((target.parent / "sage50.db.cwsage-claim").read_text())
    assert claim["home"] == str(home)
    assert CW(server).unposted() == 0               # the first home's work stands
