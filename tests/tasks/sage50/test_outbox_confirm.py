"""What Zynk says of the outbox's documents: its Success and Fail files, read once each, judged
against what the outbox handed off (tasks/sage50/outbox_confirm.py)."""

import copy
import sqlite3

import pytest
from lxml import etree

from tasks.sage50 import outbox_confirm
from tasks.sage50.outbox_manifest import MANIFEST_NAME
from tasks.sage50.sage_import import ImportOptions, import_outbox
from tasks.sage50.zynk_files import DUPLICATE_DESCRIPTION, ZynkError, outcome_document
from tests.writer_settings import make_writer

STAMP = "2026-10-21T09:14:03"
LOCKED = ZynkError(STAMP, "Import Error", "The period is locked")
SKIPPED = ZynkError(STAMP, "Duplicate", DUPLICATE_DESCRIPTION)


@pytest.fixture
def outbox(tmp_path):
    w = make_writer("zynk_xml_outbox", {"folder": "outbox"}, tmp_path)
    yield w
    w.close()


@pytest.fixture
def folder(tmp_path):
    return tmp_path / "outbox"


def zynk(folder, replica, **options):
    """Zynk's import task over the outbox, its result files in the outbox's default folders."""
    return import_outbox(folder, folder / "success", folder / "fail", replica,
                         ImportOptions(**options))


def written(folder) -> list:
    """The outbox files not yet imported (the importer moves the others to processed/)."""
    return sorted(folder.glob("*.xml"))


def records(path, tag: str, **changes) -> list:
    """The <tag> records of an outbox file, as Zynk copies them into its result files;
    ``changes`` sets child texts anywhere in each copy (e.g. UnitPrice)."""
    out = []
    for el in etree.parse(str(path)).getroot().iter(tag):
        el = copy.deepcopy(el)
        for child, text in changes.items():
            for found in el.iter(child):
                found.text = text
        out.append(el)
    return out


def result_file(folder, which: str, name: str, elements: list, error=None):
    """A Success (``which="success"``) or Fail file as Zynk writes it."""
    where = folder / which
    where.mkdir(exist_ok=True)
    path = where / name
    path.write_bytes(outcome_document([(el, [error] if error else []) for el in elements]))
    return path


def table(folder, sql: str) -> list:
    conn = sqlite3.connect(folder / MANIFEST_NAME)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def said(read) -> dict:
    return {k: c.outcome for k, c in read.confirmations.items()}


def test_a_success_file_confirms_what_it_names_with_the_file_as_evidence(outbox, folder,
                                                                         replica, sx):
    outbox.load(sx.company(customers=[sx.customer()], suppliers=[sx.supplier()],
                           invoices=[sx.invoice()],
                           transactions=[sx.split(1001), sx.split(1002, nominal="7402",
                                                                   net="110.00", tax_code=1,
                                                                   tax_amount="22.00")]),
                source="chunk 1")
    [name] = [p.name for p in written(folder)]
    assert outbox.confirmations(["CW-INV-5120"]).confirmations == {}    # not imported yet
    zynk(folder, replica)
    read = outbox.confirmations(["CW-INV-5120", "CW-EXP-311"])
    success = name.replace(".xml", "-success.xml")
    assert {k: (c.outcome, c.evidence, c.reason, c.fix)
            for k, c in read.confirmations.items()} == {
        key: ("imported", f"Zynk success file {success}", None, None)
        for key in ("CW-INV-5120", "CW-EXP-311")}                       # only the keys asked
    assert (read.strays, read.unreadable) == ([], [])


def test_customers_and_suppliers_in_a_success_file_confirm_the_accounts(outbox, folder,
                                                                        replica, sx):
    outbox.load(sx.company(customers=[sx.customer(), sx.customer("ACME01")],
                           suppliers=[sx.supplier()]), source="accounts")
    zynk(folder, replica)
    read = outbox.confirmations(["CW-CO-SMITHJ01", "CW-CO-ACME01", "CW-MEM-JSMITH"])
    assert said(read) == dict.fromkeys(["CW-CO-SMITHJ01", "CW-CO-ACME01", "CW-MEM-JSMITH"],
                                       "imported")


def test_an_account_zynk_refused_is_failed_and_travels_again(outbox, folder, sx):
    xml = sx.company(customers=[sx.customer()])
    outbox.load(xml, source="accounts")
    [path] = written(folder)
    result_file(folder, "fail", "accounts-fail.xml", records(path, "Customer"),
                ZynkError(STAMP, "Import Error", "Account is on hold"))
    read = outbox.confirmations(["CW-CO-SMITHJ01"])
    assert read.confirmations["CW-CO-SMITHJ01"].reason == ("Zynk did not import it: Account is "
                                                           "on hold")
    assert outbox.present(["CW-CO-SMITHJ01"]) == set()
    assert [r.status for r in outbox.load(xml, source="accounts").results] == ["handed_off"]


def test_a_fail_file_fails_the_document_which_the_next_load_writes_again(outbox, folder,
                                                                         replica, sx):
    xml = sx.company(customers=[sx.customer()], invoices=[
        sx.invoice("CW-INV-1"), sx.invoice("CW-INV-2", items=[sx.item(nominal="4999")])])
    outbox.load(xml, source="chunk 1")
    [first] = written(folder)
    zynk(folder, replica)
    read = outbox.confirmations(["CW-INV-1", "CW-INV-2"])
    failed = read.confirmations["CW-INV-2"]
    assert (failed.outcome, failed.evidence) == (
        "failed", f"Zynk fail file {first.stem}-fail.xml")
    assert failed.reason.startswith("Zynk did not import it: Item 1 NominalCode '4999' is not "
                                    "in the Sage nominal ledger")
    assert "`cwsage resend CW-INV-2`" in failed.fix
    assert read.confirmations["CW-INV-1"].outcome == "imported"
    assert outbox.present(["CW-INV-1", "CW-INV-2"]) == {"CW-INV-1"}     # failed: unwritten

    again = outbox.load(xml, source="chunk 1")
    assert {r.key: r.status for r in again.results} == {
        "CW-CO-SMITHJ01": "already_present", "CW-INV-1": "already_present",
        "CW-INV-2": "handed_off"}
    [second] = written(folder)
    assert second.name != first.name
    assert [el.findtext("Id") for el in records(second, "Invoice")] == ["CW-INV-2"]
    assert outbox.confirmations(["CW-INV-2"]).confirmations == {}       # waiting again
    assert outbox.present(["CW-INV-2"]) == {"CW-INV-2"}


def test_a_duplicate_skip_of_what_was_handed_off_is_imported(outbox, folder, replica, sx):
    """Zynk imported the file, then died writing its Success File; run again, it skips the
    documents as duplicates: they are in Sage, as they were handed off."""
    outbox.load(sx.company(customers=[sx.customer()], invoices=[sx.invoice()],
                           suppliers=[sx.supplier()], transactions=[sx.split(1001)]),
                source="chunk 1")
    [path] = written(folder)
    zynk(folder, replica, half_written=True)
    zynk(folder, replica)
    read = outbox.confirmations(["CW-INV-5120", "CW-EXP-311", "CW-CO-SMITHJ01"])
    assert said(read) == dict.fromkeys(["CW-INV-5120", "CW-EXP-311", "CW-CO-SMITHJ01"],
                                       "imported")
    evidence = read.confirmations["CW-INV-5120"].evidence
    assert evidence == (f"Zynk fail file {path.stem}-fail.xml (skipped as already imported, "
                        f"with the content handed off)")


def test_a_duplicate_skip_of_other_money_differs(outbox, folder, sx):
    outbox.load(sx.company(invoices=[sx.invoice()]), source="chunk 1")
    [path] = written(folder)
    result_file(folder, "fail", "again-fail.xml", records(path, "Invoice", UnitPrice="90.00"),
                SKIPPED)
    differs = outbox.confirmations(["CW-INV-5120"]).confirmations["CW-INV-5120"]
    assert differs.outcome == "differs"
    assert differs.reason == (
        "Zynk skipped it (Zynk fail file again-fail.xml), but it holds SI SMITHJ01 net 90.00 "
        "VAT 18.00, and the outbox handed off SI SMITHJ01 net 100.00 VAT 20.00")
    assert differs.fix == outbox_confirm.DIFFERS_FIX
    assert outbox.present(["CW-INV-5120"]) == {"CW-INV-5120"}           # never resent


def test_a_late_failure_or_skip_never_undoes_an_import(outbox, folder, replica, sx):
    outbox.load(sx.company(invoices=[sx.invoice()]), source="chunk 1")
    [path] = written(folder)
    zynk(folder, replica)
    imported = outbox.confirmations(["CW-INV-5120"]).confirmations["CW-INV-5120"]
    result_file(folder, "fail", "late-1-fail.xml", records(folder / "processed" / path.name,
                                                           "Invoice"), LOCKED)
    result_file(folder, "fail", "late-2-fail.xml", records(folder / "processed" / path.name,
                                                           "Invoice", UnitPrice="90.00"),
                SKIPPED)
    read = outbox.confirmations(["CW-INV-5120"])
    assert read.confirmations["CW-INV-5120"] == imported
    assert outbox.present(["CW-INV-5120"]) == {"CW-INV-5120"}
    assert {str(folder / "fail" / "late-1-fail.xml"), str(folder / "fail" / "late-2-fail.xml")
            } <= {n for (n,) in table(folder, "SELECT NAME FROM READ")}


def test_a_transaction_named_in_part_differs_and_its_failed_rest_does_not_resend_it(
        outbox, folder, sx):
    outbox.load(sx.company(suppliers=[sx.supplier()], transactions=[
        sx.split(1001), sx.split(1002, nominal="7402", net="110.00", tax_code=1,
                                 tax_amount="22.00")]), source="chunk 1")
    [path] = written(folder)
    first, rest = records(path, "Transaction")
    result_file(folder, "success", "run-success.xml", [first])
    result_file(folder, "fail", "run-fail.xml", [rest], LOCKED)
    differs = outbox.confirmations(["CW-EXP-311"]).confirmations["CW-EXP-311"]
    assert (differs.outcome, differs.evidence) == ("differs", "Zynk success file run-success.xml")
    assert "the file names 1 of its 2 splits: Sage holds part of the document" in differs.reason
    assert outbox.present(["CW-EXP-311"]) == {"CW-EXP-311"}             # not written again


def test_an_id_never_handed_off_is_reported_and_nothing_is_recorded(outbox, folder, sx):
    outbox.load(sx.company(invoices=[sx.invoice()]), source="chunk 1")
    other = sx.company(invoices=[sx.invoice("CW-INV-999")],
                       transactions=[sx.split(5555, key="CW-EXP-999")])
    root = etree.fromstring(other)
    result_file(folder, "success", "other-success.xml",
                list(root.iter("Invoice")) + list(root.iter("Transaction")))
    read = outbox.confirmations(["CW-INV-999", "CW-EXP-999", "CW-INV-5120"])
    assert read.strays == ["Invoice Id CW-INV-999 in other-success.xml",
                           "Transaction Id 5555 in other-success.xml"]
    assert read.confirmations == {}
    assert table(folder, "SELECT * FROM OUTCOMES") == []
    assert outbox.confirmations(["CW-INV-999"]).strays == []             # the file was read


@pytest.mark.parametrize("split_id", ["A1", "²"])
def test_a_split_id_that_is_no_number_is_judged_and_does_not_stop_the_reading(
        outbox, folder, sx, split_id):
    outbox.load(sx.company(suppliers=[sx.supplier()], invoices=[sx.invoice()],
                           transactions=[sx.split(1001), sx.split(1002, net="10.00")]),
                source="chunk 1")
    [path] = written(folder)
    splits = records(path, "Transaction")
    splits[0].find("Id").text = split_id                     # SecondReference still ours
    result_file(folder, "success", "odd-success.xml", records(path, "Invoice") + splits)
    read = outbox.confirmations(["CW-INV-5120", "CW-EXP-311"])
    assert said(read) == {"CW-INV-5120": "imported", "CW-EXP-311": "differs"}
    assert "no longer prices by Sage's rules" in read.confirmations["CW-EXP-311"].reason


def test_a_half_written_file_is_read_once_it_is_whole(outbox, folder, replica, sx):
    outbox.load(sx.company(customers=[sx.customer()], invoices=[sx.invoice()]),
                source="chunk 1")
    [path] = written(folder)
    zynk(folder, replica, half_written=True)                 # Zynk died writing it
    read = outbox.confirmations(["CW-INV-5120", "CW-CO-SMITHJ01"])
    [why] = read.unreadable
    assert why.startswith(f"{path.stem}-success.xml: not complete, well-formed XML")
    assert read.confirmations == {}
    assert table(folder, "SELECT * FROM READ") == table(folder, "SELECT * FROM OUTCOMES") == []
    assert outbox.confirmations([]).unreadable == [why]      # tried again on every call

    zynk(folder, replica)                                    # restarted: files written whole
    read = outbox.confirmations(["CW-INV-5120", "CW-CO-SMITHJ01"])
    assert read.unreadable == []
    assert said(read) == {"CW-INV-5120": "imported", "CW-CO-SMITHJ01": "imported"}


def test_each_file_is_read_once_never_changed_and_read_again_when_it_changes(
        outbox, folder, replica, sx, monkeypatch):
    parsed = []
    real = outbox_confirm.read_outcome_file

    def counting(data, name):
        parsed.append(name)
        return real(data, name)
    monkeypatch.setattr(outbox_confirm, "read_outcome_file", counting)
    outbox.load(sx.company(invoices=[sx.invoice("CW-INV-1")]), source="chunk 1")
    [one] = written(folder)
    zynk(folder, replica)
    success = folder / "success" / f"{one.stem}-success.xml"
    before = (success.read_bytes(), success.stat().st_mtime_ns)

    assert said(outbox.confirmations(["CW-INV-1"])) == {"CW-INV-1": "imported"}
    assert said(outbox.confirmations(["CW-INV-1"])) == {"CW-INV-1": "imported"}
    assert parsed == [success.name]                          # the second call read nothing
    assert [n for (n,) in table(folder, "SELECT NAME FROM READ")] == [str(success)]
    assert (success.read_bytes(), success.stat().st_mtime_ns) == before

    outbox.load(sx.company(invoices=[sx.invoice("CW-INV-2")]), source="chunk 2")
    [two] = written(folder)
    result_file(folder, "success", success.name, records(folder / "processed" / one.name,
                                                         "Invoice") + records(two, "Invoice"))
    assert said(outbox.confirmations(["CW-INV-2"])) == {"CW-INV-2": "imported"}
    assert parsed == [success.name, success.name]
    assert len(table(folder, "SELECT SHA256 FROM READ")) == 2
