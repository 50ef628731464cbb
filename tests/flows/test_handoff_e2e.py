"""Two-phase handoff, end to end: a file writer hands documents off, nothing is batched in
ConnectWise until the Sage side confirms them — Zynk's success and fail files, Sage's tables
read through ODBC, or the person who imported the file."""

from __future__ import annotations

import json
import sqlite3

import pytest

from flows.cli import main as cli
from tasks.journal import Journal
from tasks.sage50.sage_import import ImportOptions, import_csv_sets, import_outbox
from tests.flows.helpers import CW, batched_gl_ids, replica, run, with_writer
from tests.writer_settings import make_writer

pytestmark = pytest.mark.slow


def posted_gl_ids(home) -> list[int]:
    journal = Journal(home / "journal.db")
    try:
        return sorted(i for d in journal.documents("invoices", states=["posted"])
                      for i in d.gl_ids)
    finally:
        journal.close()


def states(home) -> dict[str, int]:
    journal = Journal(home / "journal.db")
    try:
        return {k: v for k, v in journal.counts("invoices").items() if v}
    finally:
        journal.close()


def zynk(outbox, home, **faults):
    with make_writer("sage50_replica", {"currency_rates": {"EUR": 1.15, "USD": 1.27}}, home) as sage:
        return import_outbox(outbox, outbox / "success", outbox / "fail", sage,
                             ImportOptions(**faults))


def test_zynk_confirms_before_anything_is_batched(prefect_harness, sandbox, spec, home,
                                                  tmp_path):
    outbox = tmp_path / "zynk-inbox"
    spec.write_text(with_writer(spec.read_text(), "zynk_xml_outbox", folder=str(outbox)))
    cw = CW(sandbox)
    first = run(spec)
    handed = first.counts.handed_off
    assert handed > 0 and first.counts.loaded == 0 and first.counts.batches == ()
    assert cw.batches() == [] and cw.unposted() == 40
    assert first.reconciliation.waiting and not first.reconciliation.overdue
    again = run(spec)                                 # the importer has not run: still nothing
    assert again.counts.batches == () and again.counts.handed_off == 0 and cw.batches() == []
    assert states(home)["handed_off"] == handed

    report = zynk(outbox, home, fail_share=0.25)
    assert report.failed > 0 and report.imported > 0
    third = run(spec)
    assert third.counts.confirmed == handed - third.counts.import_failed
    assert third.counts.import_failed > 0
    journal = Journal(home / "journal.db")
    failed = [d for d in journal.quarantined("invoices")
              if any(r.stage == "sage import" for r in d.reasons)]
    assert len(failed) == third.counts.import_failed
    reason = failed[0].reasons[0]
    assert "Zynk did not import it" in reason.reason and reason.fix
    journal.close()
    assert sorted(batched_gl_ids(cw)) == posted_gl_ids(home)      # each once, only confirmed

    assert "cwsage resend" in reason.fix
    fourth = run(spec)                        # refused and unchanged: held for a person
    assert fourth.counts.handed_off == 0 and states(home)["quarantined"] >= len(failed)
    assert cli(["resend", "--spec", str(spec)]) == 0           # the cause is fixed in Sage
    fourth = run(spec)                        # the refused ones are written to the outbox again
    assert fourth.counts.handed_off == third.counts.import_failed
    zynk(outbox, home)
    fifth = run(spec)
    assert fifth.counts.confirmed == fourth.counts.handed_off
    assert sorted(batched_gl_ids(cw)) == posted_gl_ids(home)
    assert len(set(batched_gl_ids(cw))) == len(batched_gl_ids(cw))
    assert states(home).get("handed_off", 0) == 0
    db = replica(home)
    assert db.execute("SELECT COUNT(*) FROM INVOICE").fetchone()[0] == handed


def test_a_repeated_import_is_a_duplicate_skip_and_changes_nothing(prefect_harness, sandbox,
                                                                   spec, home, tmp_path):
    outbox = tmp_path / "zynk-inbox"
    spec.write_text(with_writer(spec.read_text(), "zynk_xml_outbox", folder=str(outbox)))
    handed = run(spec).counts.handed_off
    zynk(outbox, home)
    assert zynk(outbox, home, again=True).duplicates > 0          # run twice: all skipped
    second = run(spec)
    assert second.counts.confirmed == handed and second.counts.import_failed == 0
    assert replica(home).execute("SELECT COUNT(*) FROM INVOICE").fetchone()[0] == handed
    assert sorted(batched_gl_ids(CW(sandbox))) == posted_gl_ids(home)


def test_half_written_success_file_is_read_again_once_whole(prefect_harness, sandbox, spec,
                                                            home, tmp_path):
    outbox = tmp_path / "zynk-inbox"
    spec.write_text(with_writer(spec.read_text(), "zynk_xml_outbox", folder=str(outbox)))
    handed = run(spec).counts.handed_off
    zynk(outbox, home, half_written=True)
    second = run(spec)
    assert second.counts.confirmed == 0 and CW(sandbox).batches() == []
    for path in (outbox / "success").glob("*.xml"):       # the importer finishes the file
        path.unlink()
    zynk(outbox, home, again=True)                           # duplicates: same content
    third = run(spec)
    assert third.counts.confirmed == handed
    assert sorted(batched_gl_ids(CW(sandbox))) == posted_gl_ids(home)


def test_import_files_confirmed_through_odbc(prefect_harness, sandbox, spec, home, tmp_path):
    folder = tmp_path / "sage-import"
    spec.write_text(with_writer(spec.read_text(), "sage50_import_csv", folder=str(folder),
                                odbc_dsn=f"sqlite:{home / 'sage50.db'}"))
    home.mkdir(parents=True, exist_ok=True)
    make_writer("sage50_replica", {}, home).close()                  # the Sage company exists before the run
    first = run(spec)
    assert first.counts.handed_off > 0 and first.counts.batches == ()
    [set_dir] = [p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")]
    names = sorted(p.name for p in set_dir.iterdir())
    assert "IMPORT.txt" in names and any(n.endswith("-transactions.csv") for n in names)
    second = run(spec)
    assert second.counts.confirmed == 0 and CW(sandbox).batches() == []
    with make_writer("sage50_replica", {"currency_rates": {"EUR": 1.15, "USD": 1.27}}, home) as sage:
        report = import_csv_sets(folder, sage)
    foreign = {d["totals"]["account_ref"]: d["totals"]["currency"] for d in json.loads(
        (set_dir / "manifest.json").read_text())["documents"]
        if d["totals"]["currency"] != "GBP"}
    assert foreign and "set each account below to its currency" in \
        (set_dir / "IMPORT.txt").read_text()
    refused = [m for m in report.lines() if "refused" in m]
    assert len(refused) == len(foreign), report.lines()     # Sage made them sterling accounts
    third = run(spec)
    assert third.counts.confirmed == first.counts.handed_off - len(foreign)
    assert states(home)["handed_off"] == len(foreign)       # never batched: Sage lacks them
    db = replica(home)                                      # as IMPORT.txt says: set currency
    for account, code in foreign.items():
        db.execute("UPDATE SALES_LEDGER SET CURRENCY = (SELECT NUMBER FROM CURRENCY WHERE "
                   "CODE = ?) WHERE ACCOUNT_REF = ?", (code, account))
    db.commit()
    with make_writer("sage50_replica", {"currency_rates": {"EUR": 1.15, "USD": 1.27}}, home) as sage:
        import_csv_sets(folder, sage, ImportOptions(again=True))
    fourth = run(spec)
    assert fourth.counts.confirmed == len(foreign)
    assert sorted(batched_gl_ids(CW(sandbox))) == posted_gl_ids(home)
    assert states(home).get("handed_off", 0) == 0


def test_import_files_confirmed_by_the_person_who_imported_them(prefect_harness, sandbox, spec,
                                                                home, tmp_path, capsys):
    folder = tmp_path / "sage-import"
    spec.write_text(with_writer(spec.read_text(), "sage50_import_csv", folder=str(folder)))
    first = run(spec)
    [transactions] = folder.glob("*/*-transactions.csv")
    assert cli(["confirm", "no-such-file.csv", "--spec", str(spec)]) == 2
    assert "is not a file this writer handed off" in capsys.readouterr().err
    assert cli(["confirm", transactions.name, "--spec", str(spec)]) == 0
    assert f"{first.counts.handed_off} documents of" in capsys.readouterr().out
    journal = Journal(home / "journal.db")
    [event] = [e for e in journal.history("invoices", journal.keys_in("invoices", "loaded")[0])
               if e.to_state == "loaded"]
    assert "confirmed by" in event.detail and transactions.name.split("-transactions")[0] \
        in event.detail
    journal.close()
    second = run(spec)
    assert sum(b.documents for b in second.counts.batches) == first.counts.handed_off
    assert sorted(batched_gl_ids(CW(sandbox))) == posted_gl_ids(home)


def test_an_importer_that_never_runs_turns_the_run_red_after_confirm_within(
        prefect_harness, sandbox, spec, home, tmp_path):
    outbox = tmp_path / "zynk-inbox"
    text = with_writer(spec.read_text(), "zynk_xml_outbox", folder=str(outbox))
    spec.write_text(text.replace("  control_accounts:", "  confirm_within: 2h\n"
                                 "  control_accounts:"))
    handed = run(spec).counts.handed_off
    zynk(outbox, home, move_away=True)                      # the files go, nothing imported
    assert list(outbox.glob("*.xml")) == []
    with sqlite3.connect(home / "journal.db") as db:        # three hours later
        db.execute("UPDATE documents SET updated_at = '2020-01-01T00:00:00.000000Z' "
                   "WHERE state = 'handed_off'")
    db.close()
    late = run(spec)
    rec = late.reconciliation
    assert len(rec.overdue) == handed and not rec.agrees and late.counts.batches == ()
    assert {w.file for w in rec.overdue} == {f"outbox {p.name}" for p in
                                             (outbox / "moved-away").glob("*.xml")}
    assert cli(["status", "--spec", str(spec)]) == 0
