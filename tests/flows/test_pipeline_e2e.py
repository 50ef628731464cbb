"""The real flow, end to end: the sandbox over loopback HTTP, GX, XSLT, the SQLite replica,
ConnectWise batches — and the guarantees: nothing twice, nothing lost, totals reconcile."""

from __future__ import annotations

import sqlite3

import pytest

from tests.flows.helpers import CW, replica, run
from tests.writer_settings import make_writer

pytestmark = pytest.mark.slow


def broken_invoices(server) -> dict[str, str]:
    return {f"CW-INV-{b.id}": b.reason for b in server.data.broken_documents()
            if b.kind == "invoice"}


def test_invoices_end_to_end_twice(prefect_harness, sandbox, spec, home):
    cw = CW(sandbox)
    broken = broken_invoices(sandbox)
    first = run(spec)
    assert first.counts.unposted == 40
    assert first.counts.loaded + first.counts.quarantined + first.counts.rejected == 40
    assert len(broken) >= 3 and first.counts.quarantined == len(broken)
    assert first.counts.rejected == 0
    from tasks.journal import Journal
    journal = Journal(home / "journal.db")
    assert set(journal.keys_in("invoices", "quarantined")) == set(broken)
    assert first.reconciliation.agrees
    assert cw.unposted() == first.counts.quarantined + first.counts.rejected
    db = replica(home)
    assert db.execute("SELECT COUNT(*) FROM INVOICE").fetchone()[0] == first.counts.loaded
    debit, credit = db.execute("SELECT SUM(DEBIT), SUM(CREDIT) FROM AUDIT_JOURNAL").fetchone()
    assert round(debit, 2) == round(credit, 2)
    batches_after_first = cw.batches()

    second = run(spec)
    assert second.counts.loaded == 0 and second.counts.batches == ()
    assert second.counts.unposted == first.counts.quarantined + first.counts.rejected
    assert db.execute("SELECT COUNT(*) FROM INVOICE").fetchone()[0] == first.counts.loaded
    assert cw.batches() == batches_after_first


def test_every_gl_entry_of_a_loaded_document_is_in_exactly_one_batch(prefect_harness, sandbox,
                                                                     spec, home):
    run(spec)
    from tasks.journal import Journal
    journal = Journal(home / "journal.db")
    posted = journal.documents("invoices", states=["posted"])
    expected = sorted(i for d in posted for i in d.gl_ids)
    batched = []
    cw = CW(sandbox)
    for batch in cw.batches():
        batched += [e["id"] for e in cw.get(f"/finance/accounting/batches/{batch['id']}/entries",
                                            pageSize=1000)]
    assert sorted(batched) == expected and len(set(batched)) == len(batched)
    quarantined = {d.key for d in journal.quarantined("invoices")}
    unposted = {f"CW-INV-{r['id']}" for r in cw.get(
        "/finance/accounting/unpostedinvoices", pageSize=1000)}
    assert unposted == quarantined


def test_fixed_in_connectwise_or_in_the_mapping_then_it_flows(prefect_harness, sandbox, spec,
                                                              home):
    broken = broken_invoices(sandbox)
    run(spec)
    cw = CW(sandbox)
    fox = cw.get("/company/companies", conditions='name="Angry Fox Cycles Ltd"')[0]
    patched = cw.session.patch(f"{cw.base}/company/companies/{fox['id']}", json=[
        {"op": "replace", "path": "accountNumber", "value": "FOX01"}])
    assert patched.status_code == 200
    second = run(spec)
    missing_account = [k for k, why in broken.items() if why == "missing_account_number"]
    assert second.counts.loaded == len(missing_account)
    text = spec.read_text().replace('"4900": "4900"', '"4900": "4900"\n        "4070": "4000"')
    text = text.replace("T9: 9", "T9: 9\n        RC20: 20")
    spec.write_text(text)
    third = run(spec)
    assert third.counts.loaded == len(broken) - len(missing_account)
    assert cw.unposted() == 0 and third.reconciliation.agrees
    db = replica(home)
    assert db.execute("SELECT COUNT(*) FROM INVOICE").fetchone()[0] == 40
    assert db.execute("SELECT COUNT(*) FROM SALES_LEDGER WHERE ACCOUNT_REF='FOX01'"
                      ).fetchone()[0] == 1


def test_a_deleted_batch_re_exposes_documents_that_are_not_loaded_twice(prefect_harness,
                                                                         sandbox, spec, home):
    first = run(spec)
    cw = CW(sandbox)
    [batch] = cw.batches()
    assert cw.session.delete(f"{cw.base}/finance/accounting/batches/{batch['id']}"
                             ).status_code == 204
    assert cw.unposted() == 40
    second = run(spec)
    assert second.counts.loaded == 0
    assert second.counts.already_present == first.counts.loaded
    assert len(second.counts.batches) == 1                       # batched again, not loaded again
    assert replica(home).execute("SELECT COUNT(*) FROM INVOICE").fetchone()[0] == \
        first.counts.loaded
    assert cw.unposted() == first.counts.quarantined


def test_loaded_but_not_posted_is_batched_without_loading_again(prefect_harness, sandbox, spec,
                                                                home):
    text = spec.read_text()
    spec.write_text(text.replace("    batch_prefix: CWSAGE", "    batch_prefix: CWSAGE\n"
                                 "    enabled: false"))
    first = run(spec)
    assert first.counts.batches == () and first.counts.loaded > 0
    from tasks.journal import Journal
    journal = Journal(home / "journal.db")
    assert len(journal.keys_in("invoices", "loaded")) == first.counts.loaded
    # a crash between the writer's commit and the journal's: some documents left 'loading'
    stuck = journal.keys_in("invoices", "loaded")[:3]
    journal.close()
    with sqlite3.connect(home / "journal.db") as db:
        db.executemany("UPDATE documents SET state='loading' WHERE key=?", [(k,) for k in stuck])
    db.close()
    journal = Journal(home / "journal.db")
    spec.write_text(text)
    second = run(spec)
    assert second.counts.loaded == 0 and second.counts.already_present == 0
    assert sum(b.documents for b in second.counts.batches) == first.counts.loaded
    assert journal.keys_in("invoices", "loaded") == []
    assert len(journal.keys_in("invoices", "posted")) == first.counts.loaded
    assert replica(home).execute("SELECT COUNT(*) FROM INVOICE").fetchone()[0] == \
        first.counts.loaded


def test_outbox_writer_end_to_end(prefect_harness, sandbox, spec, home, tmp_path):
    """Through the Zynk outbox: handed off, confirmed by Zynk, batched; a batch deleted in
    ConnectWise re-exposes documents that are batched again, never written again."""
    from tasks.sage50.sage_import import import_outbox
    outbox = tmp_path / "zynk-inbox"
    spec.write_text(spec.read_text().replace(
        "  writer: sage50_replica", f"  writer: zynk_xml_outbox\n  zynk_xml_outbox:\n"
        f"    folder: {outbox}\n    currency_rates: {{EUR: 1.15, USD: 1.27}}"))
    first = run(spec)
    files = sorted(outbox.glob("*.xml"))
    assert files and first.counts.handed_off > 0 and first.counts.batches == ()
    from lxml import etree
    ids = [i for f in files for i in etree.parse(str(f)).xpath("//Invoice/Id/text()")]
    assert len(ids) == len(set(ids)) == first.counts.handed_off
    with make_writer("sage50_replica", {"currency_rates": {"EUR": 1.15, "USD": 1.27}}, home) as sage:
        import_outbox(outbox, outbox / "success", outbox / "fail", sage)
    second = run(spec)
    assert second.counts.confirmed == first.counts.handed_off and second.reconciliation.agrees
    assert sum(b.documents for b in second.counts.batches) == first.counts.handed_off
    CW(sandbox).session.delete(f"{CW(sandbox).base}/finance/accounting/batches/"
                               f"{CW(sandbox).batches()[0]['id']}")
    third = run(spec)
    assert third.counts.handed_off == 0 and list(outbox.glob("*.xml")) == []   # all imported
    assert sum(b.documents for b in third.counts.batches) == first.counts.handed_off