"""Shared state: the journal in PostgreSQL and the run lock as an advisory lock, against the
test session's real PostgreSQL server (tests/postgres.py)."""

from __future__ import annotations

import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest

from tasks.errors import ConfigError, RetriableError
from tasks.journal import DocRecord, Journal
from tasks.state import AdvisoryLock, FileLock, SharedState, open_journal, throwaway_journal

ROOT = Path(__file__).resolve().parents[2]


def record(key: str) -> DocRecord:
    return DocRecord(key=key, cw_id=key[-1], doc_number="100", doc_type="SI",
                     account_ref="ACME01", currency="GBP", net=Decimal("100.00"),
                     tax=Decimal("20.00"), gross=Decimal("120.00"), gl_ids=(1, 2),
                     content_hash="abc")


@pytest.fixture
def shared(postgres) -> SharedState:
    return SharedState(postgres.url, postgres.password, postgres.schema())


def test_two_connections_see_one_journal_and_its_marker(shared, tmp_path):
    first, second = open_journal(tmp_path / "a", shared), open_journal(tmp_path / "b", shared)
    try:
        run = first.begin_run("invoices")
        first.record_extracted("invoices", run, [record("A"), record("B")])
        first.mark("invoices", run, ["A"], "loading")
        assert second.keys_in("invoices", "loading") == ["A"]
        assert second.home_marker() == first.home_marker()   # one journal: one batch marker
        assert not (tmp_path / "a" / "journal.db").exists()
        assert "schema t_" in second.where and shared.password not in second.where
    finally:
        first.close()
        second.close()


def test_companies_in_one_database_never_share_documents(postgres, tmp_path):
    uk = open_journal(tmp_path, SharedState(postgres.url, postgres.password, postgres.schema()))
    ie = open_journal(tmp_path, SharedState(postgres.url, postgres.password, postgres.schema()))
    try:
        uk.record_extracted("invoices", uk.begin_run("invoices"), [record("A")])
        assert ie.counts("invoices")["extracted"] == 0 and ie.pipelines() == []
    finally:
        uk.close()
        ie.close()


def test_a_second_run_of_a_pipeline_is_refused_on_any_worker_and_names_the_holder(shared):
    lock = AdvisoryLock(shared, "invoices")
    lock.acquire()
    try:
        with pytest.raises(ConfigError, match=r"another run of this pipeline is in progress "
                                              r"\(cwsage .+ pid \d+ from 127\.0\.0\.1\)"):
            AdvisoryLock(shared, "invoices").acquire()
        other = AdvisoryLock(shared, "expenses")             # other pipelines are not blocked
        other.acquire()
        other.release()
        company = AdvisoryLock(SharedState(shared.url, shared.password, "cwsage_other"),
                               "invoices")
        company.acquire()                                    # nor another company's
        company.release()
    finally:
        lock.release()
    again = AdvisoryLock(shared, "invoices")                 # free once the first ends
    again.acquire()
    again.release()


def test_a_killed_worker_never_keeps_the_lock(shared, postgres):
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys; from tasks.state import AdvisoryLock, SharedState; "
         "lock = AdvisoryLock(SharedState(sys.argv[1], sys.argv[2], sys.argv[3]), 'invoices'); "
         "lock.acquire(); print('held', flush=True); sys.stdin.read()",
         shared.url, shared.password, shared.schema],
        cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(ConfigError, match="in progress"):
            AdvisoryLock(shared, "invoices").acquire()
        holder.kill()
        holder.wait(timeout=10)
        lock = AdvisoryLock(shared, "invoices")
        for _ in range(50):         # the server ends the dead worker's session at once
            try:
                lock.acquire()
                break
            except ConfigError:
                time.sleep(0.1)
        else:
            pytest.fail("the killed worker's lock was never released")
        lock.release()
    finally:
        holder.kill()


def test_the_embedded_default_is_a_file_lock_per_home(tmp_path):
    lock = FileLock(tmp_path, "invoices")
    lock.acquire()
    with pytest.raises(ConfigError, match=r"in progress \(pid \d+\)"):
        FileLock(tmp_path, "invoices").acquire()
    lock.release()


def test_an_unreachable_server_or_a_wrong_password_is_one_line_without_secrets(postgres):
    closed = postgres.url.rsplit(":", 1)[0] + ":9/cwsage"
    with pytest.raises(RetriableError) as refused:
        Journal.shared(closed, "s3cret-value", "t_any")
    assert "cannot be reached" in str(refused.value) and "s3cret" not in str(refused.value)
    with pytest.raises(RetriableError) as wrong:
        Journal.shared(postgres.url, "not-the-password", "t_any")
    text = str(wrong.value)
    assert "password authentication failed" in text and "not-the-password" not in text
    assert "\n" not in text
    with pytest.raises(RetriableError, match="cannot be reached"):
        AdvisoryLock(SharedState(closed, None, "t_any"), "invoices").acquire()


def test_a_dry_run_works_on_a_copy_and_never_writes_the_shared_journal(shared, tmp_path):
    journal = open_journal(tmp_path, shared)
    run = journal.begin_run("invoices")
    journal.record_extracted("invoices", run, [record("A"), record("B")])
    journal.record_extracted("expenses", run, [record("E")])
    marker = journal.home_marker()
    copy = throwaway_journal(tmp_path, shared, "invoices")
    try:
        assert copy.keys_in("invoices", "extracted") == ["A", "B"]
        assert copy.pipelines() == ["invoices"] and copy.home_marker() == marker
        copy.mark("invoices", run, ["A"], "loading")
        assert journal.keys_in("invoices", "loading") == []
        assert copy.path == tmp_path / "dry-runs" / "invoices" / "journal.db"
    finally:
        copy.close()
        journal.close()


def test_the_tables_are_made_once_when_workers_open_a_new_journal_together(postgres):
    schema = postgres.schema()
    script = ("import sys; from tasks.journal import Journal; "
              "Journal.shared(sys.argv[1], sys.argv[2], sys.argv[3]).home_marker()")
    workers = [subprocess.Popen([sys.executable, "-c", script, postgres.url, postgres.password,
                                 schema], cwd=ROOT, stderr=subprocess.PIPE, text=True)
               for _ in range(4)]
    errors = [w.communicate(timeout=60)[1] for w in workers]
    assert [w.returncode for w in workers] == [0, 0, 0, 0], errors
    with psycopg.connect(postgres.url, password=postgres.password) as db:
        markers = db.execute(f"SELECT value FROM {schema}.meta WHERE name='home'").fetchall()
    assert len(markers) == 1


def test_a_homes_journal_moves_into_shared_state_once(postgres, tmp_path, monkeypatch, capsys):
    """``cwsage state import``: documents, history, batches and the batch marker move; the
    home's file is then refused, and a second import into a journal that holds them is too."""
    from flows.cli import main
    home = tmp_path / "home"
    old = Journal(home / "journal.db")
    run = old.begin_run("invoices")
    old.record_extracted("invoices", run, [record("A"), record("B")])
    old.mark("invoices", run, ["A"], "loading")
    old.mark_loaded("invoices", run, {"A": "SI 1"})
    old.begin_batch("invoices", run, "B1", ["A"], [1, 2])
    old.settle_batch("B1", 77, run)
    marker, history = old.home_marker(), len(old.history("invoices", "A"))
    old.close()
    schema = postgres.schema()
    spec = tmp_path / "pipelines.yaml"
    spec.write_text((ROOT / "pipelines.yaml").read_text() + f"\nstate:\n  url: {postgres.url}\n"
                    f"  password: ${{PGPW}}\n  schema: {schema}\n")
    monkeypatch.setenv("PGPW", postgres.password)
    monkeypatch.setenv("CWSAGE_HOME", str(home))
    assert main(["--spec", str(spec), "state", "import"]) == 0
    out = capsys.readouterr().out
    assert f"invoices: 2 documents, {history + 1} history events and 1 batch imported" in out
    shared = open_journal(tmp_path, SharedState(postgres.url, postgres.password, schema))
    try:
        assert shared.keys_in("invoices", "posted") == ["A"]
        assert shared.keys_in("invoices", "extracted") == ["B"]
        assert shared.home_marker() == marker and shared.batch("B1").cw_batch_id == 77
        assert len(shared.history("invoices", "A")) == history
        shared.record_extracted("invoices", "next", [record("C")])   # the history numbers on
    finally:
        shared.close()
    with pytest.raises(ConfigError, match="this journal was moved into the shared state"):
        Journal(home / "journal.db")
    copy = tmp_path / "copy.db"
    again = Journal(copy)
    again.record_extracted("invoices", "r", [record("A")])
    again.close()
    assert main(["--spec", str(spec), "state", "import", "--from", str(copy)]) == 2
    assert "already holds documents of invoices — nothing was imported" in capsys.readouterr().err
