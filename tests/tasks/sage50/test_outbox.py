"""The Zynk XML outbox: atomic files, a manifest, never the same document twice."""

import os
import re
from decimal import Decimal

import pytest
from lxml import etree

from tasks.errors import ConfigError, LoadError
from tasks import files as files_module
from tasks.sage50.outbox import OutboxWriter
from tasks.sage50.outbox_manifest import Manifest
from tests.writer_settings import make_writer, writer_settings

NAME = re.compile(r"^invoices-chunk-3-\d{8}T\d{6}Z-[0-9a-f]{8}\.xml$")


@pytest.fixture
def outbox(tmp_path):
    w = make_writer("zynk_xml_outbox", {"folder": "outbox"}, tmp_path)
    yield w
    w.close()


def xml_files(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".xml"))


def ids_in(path):
    root = etree.parse(str(path)).getroot()
    return [el.text for el in root.iter("Id")]


def test_load_writes_one_file_atomically_and_records_it(outbox, tmp_path, sx):
    receipt = outbox.load(sx.company(customers=[sx.customer()], invoices=[sx.invoice()]),
                          source="Invoices chunk 3")
    folder = tmp_path / "outbox"
    [name] = xml_files(folder)
    assert NAME.match(name)
    assert sorted(os.listdir(folder)) == sorted([name, ".cwsage-manifest.sqlite",
                                                 ".cwsage-write.lock"])          # no temp
    assert ids_in(folder / name) == ["CW-CO-SMITHJ01", "CW-INV-5120"]
    assert [(r.key, r.status, r.sage_ref) for r in receipt.results] == [
        ("CW-CO-SMITHJ01", "handed_off", f"outbox {name}"), ("CW-INV-5120", "handed_off", f"outbox {name}")]
    assert outbox.present(["CW-INV-5120", "CW-CO-SMITHJ01", "x"]) == {"CW-INV-5120",
                                                                      "CW-CO-SMITHJ01"}


def test_a_document_id_is_never_written_twice(outbox, tmp_path, sx):
    folder = tmp_path / "outbox"
    outbox.load(sx.company(customers=[sx.customer()], invoices=[sx.invoice("CW-INV-1")]),
                source="chunk 1")
    again = outbox.load(sx.company(customers=[sx.customer()], invoices=[sx.invoice("CW-INV-1")]),
                        source="chunk 1")
    assert {r.status for r in again.results} == {"already_present"}
    assert len(xml_files(folder)) == 1                                # nothing new: no file
    more = outbox.load(sx.company(customers=[sx.customer()], invoices=[
        sx.invoice("CW-INV-1"), sx.invoice("CW-INV-2")]), source="chunk 2")
    assert [(r.key, r.status) for r in more.results] == [
        ("CW-CO-SMITHJ01", "already_present"), ("CW-INV-1", "already_present"),
        ("CW-INV-2", "handed_off")]
    newest = [n for n in xml_files(folder) if n.startswith("chunk-2")][0]
    assert ids_in(folder / newest) == ["CW-CO-SMITHJ01", "CW-INV-2"]  # its customer travels along


def test_invalid_documents_are_rejected_and_not_written(outbox, tmp_path, sx):
    receipt = outbox.load(sx.company(invoices=[
        sx.invoice("CW-INV-1", ref="smith j"),
        sx.invoice("CW-INV-2", items=[sx.item(price="-1.00")]),
        sx.invoice("CW-INV-3", items=[sx.item(nominal="2100")]),
        sx.invoice("CW-INV-4")]), source="chunk")
    assert [r.status for r in receipt.results] == ["rejected"] * 3 + ["handed_off"]
    assert "R-ACC-1" in receipt.results[0].reason
    assert "UnitPrice '-1.00' is negative" in receipt.results[1].reason
    assert "creditors control account" in receipt.results[2].reason
    [name] = xml_files(tmp_path / "outbox")
    assert ids_in(tmp_path / "outbox" / name) == ["CW-INV-4"]


def test_totals_match_what_the_replica_posts(outbox, replica, sx):
    xml = sx.company(suppliers=[sx.supplier()], invoices=[sx.invoice(items=[
        sx.item(price="0.14"), sx.item(price="0.14"), sx.item("FW-1", "3", "7.50", tax=5),
        sx.item(price="9.99", IsNegativeLine=True)])],
        transactions=[sx.split(1), sx.split(2, nominal="7402", net="110.00", tax_code=1,
                                             tax_amount="22.00")])
    outbox.load(xml, source="t")
    replica.load(xml, source="t")
    keys = ["CW-INV-5120", "CW-EXP-311"]
    assert outbox.totals(keys) == replica.totals(keys)
    assert outbox.totals(keys)["CW-INV-5120"].tax == Decimal("-0.81")  # .03 + .03 + 1.13 - 2.00


def test_split_id_written_before_for_another_document_is_rejected(outbox, sx):
    outbox.load(sx.company(transactions=[sx.split(7, key="CW-A")]), source="t")
    receipt = outbox.load(sx.company(transactions=[sx.split(7, key="CW-B", reference="B")]),
                          source="t")
    assert "split 7 Id was already written to the outbox for CW-A" in receipt.results[0].reason


def test_changed_customer_is_written_again_unchanged_one_is_not(outbox, tmp_path, sx):
    outbox.load(sx.company(customers=[sx.customer()]), source="c")
    same = outbox.load(sx.company(customers=[sx.customer()]), source="c")
    assert same.results[0].status == "already_present"
    changed = outbox.load(sx.company(customers=[sx.customer(CompanyName="New Name Ltd")]),
                          source="c")
    assert changed.results[0].status == "handed_off"
    assert len(xml_files(tmp_path / "outbox")) == 2


def test_repair_manifest_adds_keys_of_a_file_written_just_before_a_crash(tmp_path, sx, monkeypatch):
    xml = sx.company(customers=[sx.customer()], invoices=[sx.invoice()],
                     transactions=[sx.split(1)])
    w = make_writer("zynk_xml_outbox", {"folder": "outbox"}, tmp_path)

    def crash(*args, **kwargs):
        raise KeyboardInterrupt("power cut after the rename")
    monkeypatch.setattr(Manifest, "record", crash)
    with pytest.raises(KeyboardInterrupt):
        w.load(xml, source="chunk 3")
    w.close()
    monkeypatch.undo()
    folder = tmp_path / "outbox"
    assert len(xml_files(folder)) == 1
    (folder / ".stale-20260101T000000Z-00000000.xml.tmp").write_bytes(b"<Comp")
    restarted = make_writer("zynk_xml_outbox", {"folder": str(folder)}, tmp_path)
    try:
        assert restarted.present(["CW-INV-5120", "CW-EXP-311", "CW-CO-SMITHJ01"]) == {
            "CW-INV-5120", "CW-EXP-311", "CW-CO-SMITHJ01"}
        assert restarted.totals(["CW-INV-5120"])["CW-INV-5120"].gross == Decimal("120.00")
        receipt = restarted.load(xml, source="chunk 3")
        assert {r.status for r in receipt.results} == {"already_present"}
        assert len(xml_files(folder)) == 1
        assert not [p for p in os.listdir(folder) if p.endswith(".tmp")]
    finally:
        restarted.close()


def test_a_failed_write_leaves_neither_file_nor_manifest_entry(outbox, tmp_path, sx,
                                                               monkeypatch):
    def full_disk(fd):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(files_module.os, "fsync", full_disk)
    with pytest.raises(LoadError, match="chunk 9: could not write .* No space left"):
        outbox.load(sx.company(invoices=[sx.invoice()]), source="chunk 9")
    monkeypatch.undo()
    assert sorted(os.listdir(tmp_path / "outbox")) == [".cwsage-manifest.sqlite",
                                                       ".cwsage-write.lock"]
    assert outbox.present(["CW-INV-5120"]) == set()


def test_folder_is_required(tmp_path):
    with pytest.raises(ConfigError, match="zynk_xml_outbox settings: folder is required"):
        make_writer("zynk_xml_outbox", {}, tmp_path)


def test_tax_rates_setting_changes_the_rates_and_unknown_codes_are_rejected(tmp_path, sx):
    w = OutboxWriter(writer_settings("zynk_xml_outbox", {"folder": "o", "tax_rates": {"T1": 17.5}},
                                     tmp_path), tmp_path)
    try:
        receipt = w.load(sx.company(invoices=[sx.invoice("A", items=[sx.item(), sx.item(tax=5)]),
                                              sx.invoice("B", items=[sx.item(tax=14)])]),
                         source="t")
        assert receipt.results[0].status == "handed_off"
        assert w.totals(["A"])["A"].tax == Decimal("22.50")          # T1 at 17.5 %, T5 kept
        assert "TaxCode 14 (T14) is not set up" in receipt.results[1].reason
    finally:
        w.close()


def test_a_manifest_failure_is_recorded_from_the_file_on_the_next_load(outbox, tmp_path, sx,
                                                                       monkeypatch):
    import sqlite3

    def locked(*args, **kwargs):
        raise sqlite3.OperationalError("database is locked")
    monkeypatch.setattr(Manifest, "record", locked)
    xml = sx.company(invoices=[sx.invoice()])
    with pytest.raises(LoadError, match="was written to the outbox but the manifest could not"):
        outbox.load(xml, source="chunk 4")
    monkeypatch.undo()
    receipt = outbox.load(xml, source="chunk 4")
    assert receipt.results[0].status == "already_present"
    assert len(xml_files(tmp_path / "outbox")) == 1


def test_settings_as_the_spec_passes_them_keep_the_uk_defaults(tmp_path, sx):
    w = OutboxWriter(writer_settings("zynk_xml_outbox", {"folder": str(tmp_path / "o"), "tax_rates": {}},
                                     tmp_path), tmp_path)
    try:
        receipt = w.load(sx.company(invoices=[sx.invoice(items=[sx.item(tax=1),
                                                                 sx.item(tax=9)])]), source="t")
        assert receipt.results[0].status == "handed_off"
        assert w.totals(["CW-INV-5120"])["CW-INV-5120"].tax == Decimal("20.00")
    finally:
        w.close()
    w = make_writer("zynk_xml_outbox", {"folder": "o2", "tax_rates": {"1": 17.5}, "lock_date": None}, tmp_path)
    w.close()


def test_a_document_the_callers_check_holds_is_not_written(outbox, tmp_path, sx):
    """The money gate runs inside the writer, on Sage's own pricing: a held document is
    reported ``held`` and is neither written nor remembered; the others are written."""
    seen = {}

    def check(priced):
        seen[priced.key] = priced.gross
        return priced.key == "CW-INV-2"

    receipt = outbox.load(sx.company(customers=[sx.customer()], invoices=[
        sx.invoice("CW-INV-1"), sx.invoice("CW-INV-2")]), source="chunk 1", check=check)
    status = {r.key: r.status for r in receipt.results}
    assert (status["CW-INV-1"], status["CW-INV-2"]) == ("handed_off", "held")
    assert set(seen) == {"CW-INV-1", "CW-INV-2"} and all(seen.values())
    [name] = xml_files(tmp_path / "outbox")
    assert "CW-INV-2" not in ids_in(tmp_path / "outbox" / name)
    assert outbox.present(["CW-INV-1", "CW-INV-2"]) == {"CW-INV-1"}


def test_the_replica_holds_what_the_callers_check_holds(replica, sx):
    receipt = replica.load(sx.company(customers=[sx.customer()], invoices=[
        sx.invoice("CW-INV-1"), sx.invoice("CW-INV-2")]), source="chunk 1",
        check=lambda priced: priced.key == "CW-INV-2")
    assert {r.key: r.status for r in receipt.results if r.key.startswith("CW-INV")} == {
        "CW-INV-1": "loaded", "CW-INV-2": "held"}
    assert replica.present(["CW-INV-1", "CW-INV-2"]) == {"CW-INV-1"}


def test_two_writers_on_one_folder_never_write_the_same_documents_twice(tmp_path, sx):
    """Two processes (here: two writers, each with its own lock file handle) loading the same
    chunk at once: the folder's write lock makes the second see what the first wrote."""
    import threading
    xml = sx.company(customers=[sx.customer()], invoices=[sx.invoice("CW-INV-1"),
                                                          sx.invoice("CW-INV-2")])
    writers = [make_writer("zynk_xml_outbox", {"folder": "outbox"}, tmp_path) for _ in range(2)]
    receipts = [None, None]

    def load(n):
        receipts[n] = writers[n].load(xml, source="chunk 1")
    threads = [threading.Thread(target=load, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for w in writers:
        w.close()
    statuses = sorted(r.status for receipt in receipts for r in receipt.results
                      if r.key.startswith("CW-INV"))
    assert statuses == ["already_present", "already_present", "handed_off", "handed_off"]
    assert len(xml_files(tmp_path / "outbox")) == 1


def test_a_target_claimed_by_another_home_is_refused_and_links_are_not_followed(tmp_path):
    from tasks.sage50.claim import claim, claim_path
    target = tmp_path / "sage50.db"
    claim(target, tmp_path / "home-a", "aaaaaa")
    claim(target, tmp_path / "home-a", "aaaaaa")                 # the same home: fine
    with pytest.raises(ConfigError, match="written by another cwsage home \\(haaaaaa"):
        claim(target, tmp_path / "home-b", "bbbbbb")
    precious = tmp_path / "precious.txt"
    precious.write_text("keep me")
    other = tmp_path / "other.db"
    claim_path(other).symlink_to(precious)
    with pytest.raises(ConfigError, match="not a link"):
        claim(other, tmp_path / "home-a", "aaaaaa")
    assert precious.read_text() == "keep me"
