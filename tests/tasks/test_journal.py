"""The journal: the state machine, intents, batches and history."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tasks.journal import DocRecord, IllegalTransition, Journal


def record(key: str, ids=(1, 2)) -> DocRecord:
    return DocRecord(key=key, cw_id=key[-1], doc_number="100", doc_type="SI",
                     account_ref="ACME01", currency="GBP", net=Decimal("100.00"),
                     tax=Decimal("20.00"), gross=Decimal("120.00"), gl_ids=tuple(ids),
                     content_hash="abc")


def batch_a(journal: Journal, run: str, cw_batch_id: int | None) -> None:
    """Document A extracted, loaded and batched as B1; the batch settled with ``cw_batch_id``
    (None: ConnectWise did not create it)."""
    journal.record_extracted("invoices", run, [record("A")])
    journal.mark("invoices", run, ["A"], "loading")
    journal.mark_loaded("invoices", run, {"A": None})
    journal.begin_batch("invoices", run, "B1", ["A"], [1, 2])
    journal.settle_batch("B1", cw_batch_id, run)


@pytest.fixture(params=["sqlite", "postgresql"])
def journal(request, tmp_path):
    """Every journal test runs on both stores: the SQLite file and a shared PostgreSQL schema."""
    if request.param == "sqlite":
        j = Journal(tmp_path / "journal.db")
    else:
        server = request.getfixturevalue("postgres")
        j = Journal.shared(server.url, server.password, server.schema())
    yield j
    j.close()


def test_happy_path_through_every_state(journal):
    run = journal.begin_run("invoices")
    journal.record_extracted("invoices", run, [record("A"), record("B", (3,))])
    journal.mark("invoices", run, ["A", "B"], "loading")
    journal.mark_loaded("invoices", run, {"A": "SI 1", "B": "SI 2"})
    journal.begin_batch("invoices", run, "CWSAGE-INV-1", ["A", "B"], [1, 2, 3])
    assert journal.counts("invoices")["posting"] == 2
    assert [b.batch_identifier for b in journal.open_batches("invoices")] == ["CWSAGE-INV-1"]
    journal.settle_batch("CWSAGE-INV-1", 44, run)
    assert journal.counts("invoices")["posted"] == 2
    assert journal.open_batches("invoices") == []
    doc = journal.documents("invoices", ["A"])[0]
    assert doc.batch_id == 44 and doc.sage_ref == "SI 1" and doc.gl_ids == (1, 2)
    assert doc.net == Decimal("100.00") and doc.reasons == ()
    assert [h.to_state for h in journal.history("invoices", "A")] == [
        "extracted", "loading", "loaded", "posting", "posted"]


def test_batch_not_created_returns_documents_to_loaded(journal):
    run = journal.begin_run("invoices")
    batch_a(journal, run, None)
    assert journal.keys_in("invoices", "loaded") == ["A"]


def test_quarantine_keeps_reasons_and_a_fixed_document_flows_again(journal):
    run = journal.begin_run("invoices")
    journal.record_extracted("invoices", run, [record("A")])
    journal.quarantine("invoices", run, {"A": [{"reason": "no account", "fix": "set it"}]},
                       stage="validate")
    doc = journal.documents("invoices", ["A"])[0]
    assert doc.state == "quarantined" and [(r.reason, r.fix, r.stage) for r in doc.reasons] \
        == [("no account", "set it", "validate")]
    run2 = journal.begin_run("invoices")
    journal.record_extracted("invoices", run2, [record("A")])   # seen again on the next run
    assert journal.documents("invoices", ["A"])[0].reasons == ()
    journal.mark("invoices", run2, ["A"], "loading")


@pytest.mark.parametrize("path", [["loaded"], ["posting"], ["posted"],
                                  ["loading", "posting"], ["loading", "loaded", "posted"]])
def test_illegal_transitions_are_refused(journal, path):
    run = journal.begin_run("invoices")
    journal.record_extracted("invoices", run, [record("A")])
    with pytest.raises(IllegalTransition):
        for state in path:
            journal.mark("invoices", run, ["A"], state)


def test_a_posted_document_re_exposed_by_connectwise_is_recorded(journal):
    run = journal.begin_run("invoices")
    batch_a(journal, run, 7)
    journal.record_extracted("invoices", journal.begin_run("invoices"), [record("A")])
    history = journal.history("invoices", "A")
    assert history[-1].detail == "re-exposed by ConnectWise after posting"


def test_a_failed_transaction_changes_nothing(journal):
    run = journal.begin_run("invoices")
    journal.record_extracted("invoices", run, [record("A"), record("B")])
    journal.mark("invoices", run, ["B"], "loading")
    with pytest.raises(IllegalTransition):
        journal.mark("invoices", run, ["A", "B"], "loading")   # B: loading -> loading
    assert journal.keys_in("invoices", "extracted") == ["A"]


def test_per_chunk_lookups_use_the_state_index_and_stay_sorted(tmp_path):
    """What runs once per chunk must not walk every document the pipeline ever had: the
    lookups by state go through the state index (the query plans, not a timing)."""
    journal = Journal(tmp_path / "journal.db")
    journal.record_extracted("p", "r", [record(f"K{i}", (i,)) for i in (3, 11, 2)])
    executed: list[str] = []
    journal.db.conn.set_trace_callback(executed.append)
    assert journal.keys_in("p", "extracted") == ["K11", "K2", "K3"]
    assert [r.key for r in journal.documents("p", states=["extracted"])] == \
        ["K11", "K2", "K3"]
    journal.db.conn.set_trace_callback(None)
    assert len(executed) == 2
    for sql in executed:
        plan = " ".join(row[-1] for row in journal.db.execute("EXPLAIN QUERY PLAN " + sql))
        assert "USING INDEX documents_state" in plan and "TEMP B-TREE" not in plan, plan


def test_a_document_the_target_holds_with_other_money_is_never_offered_for_a_batch(journal):
    run = journal.begin_run("invoices")
    journal.record_extracted("invoices", run, [record("A"), record("B", (3,))])
    journal.mark("invoices", run, ["A", "B"], "loading")
    journal.mark_loaded("invoices", run, {"B": "SI 2"})
    journal.hold_unreconciled("invoices", run, {"A": [{"reason": "net 100.00 → 90.00",
                                                       "fix": "correct Sage by hand"}]})
    assert journal.keys_in("invoices", "loaded") == ["B"]          # what the post stage batches
    assert journal.keys_in("invoices", "unreconciled") == ["A"]
    [row] = journal.documents("invoices", keys=["A"])
    assert [r.stage for r in row.reasons] == ["load"]
    with pytest.raises(IllegalTransition):
        journal.begin_batch("invoices", run, "B9", ["A"], [1, 2])   # never posting from here
    journal.record_extracted("invoices", run, [record("A")])        # exported again: re-checked
    assert journal.keys_in("invoices", "extracted") == ["A"]


def test_held_documents_say_since_when_their_current_hold_began(journal):
    """Held twice in a row: since the first; loaded and posted in between: since the last."""
    for run in ("r1", "r2"):
        journal.record_extracted("invoices", run, [record("A"), record("B")])
        journal.quarantine("invoices", run, {"A": [{"reason": "no account", "fix": "set it"}]},
                           stage="validate")
    journal.mark("invoices", "r2", ["B"], "loading")
    journal.hold_unreconciled("invoices", "r2", {"B": [{"reason": "money", "fix": "look"}]})
    at = {key: [e.at for e in journal.history("invoices", key)
                if e.to_state in ("quarantined", "unreconciled")] for key in ("A", "B")}
    held = journal.held("invoices")
    assert [(h.document.key, h.document.state, h.since) for h in held] == [
        ("A", "quarantined", at["A"][0]), ("B", "unreconciled", at["B"][0])]
    assert [d.key for d in journal.quarantined("invoices")] == ["A"]


def test_runs_and_batches_are_typed_records(journal):
    run = journal.begin_run("invoices")
    assert journal.last_run("invoices").run_id == run and journal.last_run("other") is None
    journal.finish_run(run, "completed", {"posted": 1})
    last = journal.last_run("invoices")
    assert (last.status, dict(last.counts), last.at) == ("completed", {"posted": 1},
                                                         last.finished_at)
    batch_a(journal, run, 7)
    batch = journal.batch("B1")
    assert (batch.state, batch.cw_batch_id, batch.keys, batch.record_ids) == (
        "created", 7, ("A",), (1, 2))
    assert journal.batch("nope") is None
