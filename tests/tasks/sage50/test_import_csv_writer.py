"""``sage50_import_csv``: Sage 50's own import files, one set per load, confirmed by reading Sage
through ODBC (tasks/sage50/import_csv_writer.py, import_csv_confirm.py, sage_odbc.py)."""

import csv
import io
import json
import os
import sqlite3
import sys
import types
from decimal import Decimal

import pytest

from tasks.errors import ConfigError, LoadError, RetriableError
from tasks.sage50 import sage_odbc
from tasks.sage50.import_csv_writer import SET_RE, CsvImportWriter
from tasks.sage50.outbox_manifest import Manifest
from tasks.sage50.sage_import import import_csv_sets
from tests.writer_settings import make_writer as writer_named

DOCS = ["CW-INV-5120", "CW-EXP-311"]
ACCOUNTS = ["CW-CO-SMITHJ01", "CW-MEM-JSMITH"]


@pytest.fixture
def make_writer(tmp_path):
    writers = []

    def make(**settings) -> CsvImportWriter:
        writers.append(writer_named("sage50_import_csv", {"folder": "csv", **settings}, tmp_path))
        return writers[-1]
    yield make
    for w in writers:
        w.close()


@pytest.fixture
def folder(tmp_path):
    return tmp_path / "csv"


def both(sx, **over):
    """A customer and a supplier, a two-line sales invoice, a two-split purchase invoice."""
    parts = dict(customers=[sx.customer()], suppliers=[sx.supplier()],
                 invoices=[sx.invoice(InvoiceNumber="5120", items=[
                     sx.item(), sx.item(nominal="4001", price="50.50")])],
                 transactions=[sx.split(1001), sx.split(1002, nominal="7402", net="110.00",
                                                        tax_code=1, tax_amount="22.00")])
    return sx.company(**{**parts, **over})


def sets(folder) -> list:
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def rows(path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_bytes().decode("cp1252"), newline="")))


def status(receipt) -> dict:
    return {r.key: r.status for r in receipt.results}


# -- writing sets --------------------------------------------------------------------------------

def test_one_load_writes_one_whole_set_and_an_identical_load_writes_nothing(make_writer,
                                                                           folder, sx):
    w = make_writer()
    receipt = w.load(both(sx), source="Invoices chunk 3")
    [where] = sets(folder)
    stem = where.name
    assert SET_RE.match(stem) and stem.startswith("invoices-chunk-3-")
    assert sorted(os.listdir(folder)) == sorted([stem, ".cwsage-manifest.sqlite",
                                                 ".cwsage-write.lock"])        # no temp
    assert sorted(os.listdir(where)) == sorted([
        f"{stem}-customers.csv", f"{stem}-suppliers.csv", f"{stem}-transactions.csv",
        "IMPORT.txt", "manifest.json"])
    assert [(r.status, r.sage_ref) for r in receipt.results] == [
        ("handed_off", f"Sage import files {stem}")] * 4
    assert [(row[0], row[1], row[7], row[11]) for row in rows(
        where / f"{stem}-transactions.csv")] == [
        ("SI", "SMITHJ01", "100.00", "CW-INV-5120"), ("SI", "SMITHJ01", "50.50", "CW-INV-5120"),
        ("PI", "JSMITH", "95.40", "CW-EXP-311"), ("PI", "JSMITH", "110.00", "CW-EXP-311")]
    text = (where / "IMPORT.txt").read_text("utf-8")
    assert f"3. {stem}-transactions.csv  ->  Audit Trail Transactions" in text
    assert f"  cwsage confirm {stem}-transactions.csv\n" in text
    manifest = json.loads((where / "manifest.json").read_text("utf-8"))
    assert (manifest["stem"], manifest["source"]) == (stem, "Invoices chunk 3")
    assert manifest["files"]["transactions"] == f"{stem}-transactions.csv"
    assert [(d["key"], d["found_by"], d["totals"]["gross"]) for d in manifest["documents"]] == [
        ("CW-INV-5120", ["5120", "2026-10-20", 2], "180.60"),
        ("CW-EXP-311", ["EXP311", "2026-10-20", 2], "227.40")]
    assert [a["key"] for a in manifest["accounts"]] == ACCOUNTS
    assert w.present(DOCS + ACCOUNTS + ["CW-INV-1"]) == set(DOCS + ACCOUNTS)

    again = w.load(both(sx), source="Invoices chunk 3")
    assert set(status(again).values()) == {"already_present"}
    assert sets(folder) == [where]


def test_accounts_are_written_only_when_new_or_changed(make_writer, folder, sx):
    w = make_writer()
    w.load(sx.company(customers=[sx.customer()], invoices=[sx.invoice("CW-INV-1")]),
           source="chunk 1")
    second = w.load(sx.company(customers=[sx.customer()], invoices=[sx.invoice("CW-INV-2")]),
                    source="chunk 2")
    assert status(second) == {"CW-CO-SMITHJ01": "already_present", "CW-INV-2": "handed_off"}
    [where] = [p for p in sets(folder) if p.name.startswith("chunk-2")]
    assert sorted(os.listdir(where)) == sorted([f"{where.name}-transactions.csv", "IMPORT.txt",
                                                "manifest.json"])
    assert "Customer Records" not in (where / "IMPORT.txt").read_text("utf-8")
    assert w.handoff_of(where.name) == ["CW-INV-2"]

    third = w.load(sx.company(customers=[sx.customer(CompanyName="Smith & Jones LLP")],
                              invoices=[sx.invoice("CW-INV-3")]), source="chunk 3")
    assert set(status(third).values()) == {"handed_off"}
    [where] = [p for p in sets(folder) if p.name.startswith("chunk-3")]
    [row] = rows(where / f"{where.name}-customers.csv")
    assert row[:2] == ["SMITHJ01", "Smith & Jones LLP"]


def test_a_document_sages_import_cannot_carry_is_rejected_and_not_written(make_writer,
                                                                         folder, sx):
    discount = [sx.item(), sx.item(nominal="4009", price="10.00", IsNegativeLine=True)]
    w = make_writer()
    receipt = w.load(sx.company(customers=[sx.customer()], invoices=[
        sx.invoice("CW-INV-1", items=discount), sx.invoice("CW-INV-2")]), source="chunk 1")
    assert status(receipt) == {"CW-CO-SMITHJ01": "handed_off", "CW-INV-1": "rejected",
                               "CW-INV-2": "handed_off"}
    reason = receipt.results[1].reason
    assert reason.startswith("CW-INV-1: Nominal '4009' with T1 on CW-INV-1 sums to net -10.00, "
                             "VAT -2.00;")
    assert "map such lines to the nominal of what they discount" in reason
    [where] = sets(folder)
    assert {row[11] for row in rows(where / f"{where.name}-transactions.csv")} == {"CW-INV-2"}
    manifest = json.loads((where / "manifest.json").read_text("utf-8"))
    assert [d["key"] for d in manifest["documents"]] == ["CW-INV-2"]
    assert w.present(["CW-INV-1", "CW-INV-2"]) == {"CW-INV-2"}

    alone = w.load(sx.company(customers=[sx.customer()], invoices=[
        sx.invoice("CW-INV-1", items=discount)]), source="chunk 2")
    assert status(alone) == {"CW-CO-SMITHJ01": "already_present", "CW-INV-1": "rejected"}
    assert sets(folder) == [where]                           # nothing to import: no set


def test_foreign_documents_name_the_accounts_that_must_hold_their_currency(make_writer,
                                                                          folder, sx):
    w = make_writer(currency_rates={"EUR": 1.15})
    w.load(sx.company(customers=[sx.customer(), sx.customer("EUROCO", Currency="EUR")],
                      invoices=[sx.invoice("CW-INV-1"),
                                sx.invoice("CW-INV-2", ref="EUROCO", Currency="EUR",
                                           ForeignRate="1.15")]), source="chunk 1")
    [where] = sets(folder)
    text = (where / "IMPORT.txt").read_text("utf-8")
    assert "in pounds sterling — net: 100.00   VAT: 20.00" in text       # EUR left out
    assert "set each account below to its currency in Sage" in text
    assert "  EUR: 1 document, net 100.00 VAT 20.00 — accounts EUROCO\n" in text
    assert text.index("EUR: 1 document") < text.rindex("  cwsage confirm ")  # the last step


# -- crashes -------------------------------------------------------------------------------------

def test_a_set_written_just_before_a_crash_is_recorded_from_its_manifest_json(
        make_writer, folder, replica, sx, monkeypatch):
    w = make_writer(odbc_dsn=f"sqlite:{replica.path}")
    real, failures = Manifest.record, []

    def fails_once(self, *args, **kwargs):
        if not failures:
            failures.append(args[0])
            raise sqlite3.OperationalError("database is locked")
        return real(self, *args, **kwargs)
    monkeypatch.setattr(Manifest, "record", fails_once)
    with pytest.raises(LoadError, match="was written but the manifest could not record it"):
        w.load(both(sx), source="chunk 1")
    [where] = sets(folder)
    assert failures == [where.name] and w.present(DOCS) == set()

    assert w.repair_manifest() == [where.name]
    assert w.repair_manifest() == []
    assert w.present(DOCS + ACCOUNTS) == set(DOCS + ACCOUNTS)
    assert w.totals(["CW-INV-5120"])["CW-INV-5120"].gross == Decimal("180.60")
    assert set(status(w.load(both(sx), source="chunk 1")).values()) == {"already_present"}
    assert sets(folder) == [where]
    import_csv_sets(folder, replica)                         # found_by came back too
    assert {c.outcome for c in w.confirmations(DOCS).confirmations.values()} == {"imported"}


def test_a_set_never_renamed_is_removed_when_the_writer_opens(make_writer, folder, sx):
    make_writer().close()
    tmp = folder / ".chunk-1-20261020T000000Z-0123abcd.tmp"
    tmp.mkdir()
    (tmp / "IMPORT.txt").write_text("half")
    (folder / "notes").mkdir()                               # not a set of ours: left alone
    w = make_writer()
    assert not tmp.exists() and (folder / "notes").is_dir()
    assert w.repair_manifest() == []


def test_handoff_of_takes_the_transactions_file_its_name_or_the_set(make_writer, folder, sx):
    w = make_writer()
    w.load(both(sx), source="chunk 1")
    w.load(sx.company(invoices=[sx.invoice("CW-INV-2")]), source="chunk 2")
    first, second = sorted(sets(folder), key=lambda p: p.name)
    keys = sorted(DOCS + ACCOUNTS)
    for given in (str(first / f"{first.name}-transactions.csv"),
                  f"{first.name}-transactions.csv", f" {first.name} ", str(first),
                  f"{first.name}-customers.csv"):
        assert w.handoff_of(given) == keys, given
    assert w.handoff_of(second.name) == ["CW-INV-2"]
    with pytest.raises(ConfigError) as info:
        w.handoff_of("chunk-9-transactions.csv")
    assert str(info.value) == (
        f"sage50_import_csv: 'chunk-9-transactions.csv' is not a file this writer handed off "
        f"— give the name of a written file (newest: {second.name}, {first.name})")


# -- confirming through ODBC ---------------------------------------------------------------------

def copy_headers(path, key: str) -> None:
    """Sage's audit headers of ``key`` once more, under new header numbers: the set imported
    a second time (a real Sage keeps no Id of ours, so the copies have none)."""
    conn = sqlite3.connect(path)
    cols = [c[1] for c in conn.execute("PRAGMA table_info(AUDIT_HEADER)")
            if c[1] not in ("HEADER_NUMBER", "EXTERNAL_ID")]
    with conn:
        conn.execute(f"INSERT INTO AUDIT_HEADER ({', '.join(cols)}) SELECT {', '.join(cols)} "
                     f"FROM AUDIT_HEADER WHERE EXTERNAL_ID = ?", (key,))
    conn.close()


def header_per_row(path, key: str, first: tuple[str, str]) -> int:
    """Split ``key``'s header into one header for its first row (``first``: net, VAT) and
    one for the rest, as Sage's import may post them; returns the second's number."""
    copy_headers(path, key)
    conn = sqlite3.connect(path)
    net, tax = first
    with conn:
        conn.execute("UPDATE AUDIT_HEADER SET NET_AMOUNT = NET_AMOUNT - ?, FOREIGN_NET_AMOUNT = "
                     "FOREIGN_NET_AMOUNT - ?, TAX_AMOUNT = TAX_AMOUNT - ?, FOREIGN_TAX_AMOUNT = "
                     "FOREIGN_TAX_AMOUNT - ? WHERE EXTERNAL_ID = ?", (net, net, tax, tax, key))
        number = conn.execute("SELECT MAX(HEADER_NUMBER) FROM AUDIT_HEADER").fetchone()[0]
        conn.execute("UPDATE AUDIT_HEADER SET NET_AMOUNT = ?, FOREIGN_NET_AMOUNT = ?, "
                     "TAX_AMOUNT = ?, FOREIGN_TAX_AMOUNT = ? WHERE HEADER_NUMBER = ?",
                     (net, net, tax, tax, number))
    conn.close()
    return number


def outcomes(read) -> dict:
    return {k: c.outcome for k, c in read.confirmations.items()}


def test_odbc_confirms_what_sage_holds_and_nothing_before(make_writer, folder, replica, sx):
    w = make_writer(odbc_dsn=f"sqlite:{replica.path}")
    w.load(both(sx), source="chunk 1")
    assert outcomes(w.confirmations(DOCS + ACCOUNTS)) == {}          # still waiting
    import_csv_sets(folder, replica)
    read = w.confirmations(DOCS + ACCOUNTS)
    assert outcomes(read) == dict.fromkeys(DOCS + ACCOUNTS, "imported")
    assert read.confirmations["CW-INV-5120"].evidence == (
        f"Sage audit trail through ODBC (sqlite:{replica.path}): SI SMITHJ01 ref 5120 on "
        f"2026-10-20, header 1")
    assert read.confirmations["CW-CO-SMITHJ01"].evidence == (
        f"Sage customer record SMITHJ01 through ODBC (sqlite:{replica.path})")


def test_odbc_sums_the_headers_of_a_document_sage_posted_row_by_row(make_writer, folder,
                                                                   replica, sx):
    w = make_writer(odbc_dsn=f"sqlite:{replica.path}")
    w.load(both(sx), source="chunk 1")
    import_csv_sets(folder, replica)
    number = header_per_row(replica.path, "CW-INV-5120", ("100.00", "20.00"))
    imported = w.confirmations(["CW-INV-5120"]).confirmations["CW-INV-5120"]
    assert imported.outcome == "imported"
    assert imported.evidence.endswith(f"header 1, {number}")


def test_odbc_finds_a_set_imported_twice(make_writer, folder, replica, sx):
    w = make_writer(odbc_dsn=f"sqlite:{replica.path}")
    w.load(both(sx), source="chunk 1")
    import_csv_sets(folder, replica)
    copy_headers(replica.path, "CW-EXP-311")
    read = w.confirmations(DOCS)
    assert outcomes(read) == {"CW-INV-5120": "imported", "CW-EXP-311": "differs"}
    assert read.confirmations["CW-EXP-311"].reason == (
        "Sage holds it 2 times (headers 2, 3): the file was imported again")
    assert "reverse a second import" in read.confirmations["CW-EXP-311"].fix


def test_odbc_finds_a_document_imported_in_part(make_writer, folder, replica, sx):
    w = make_writer(odbc_dsn=f"sqlite:{replica.path}")
    w.load(both(sx), source="chunk 1")
    import_csv_sets(folder, replica)
    number = header_per_row(replica.path, "CW-INV-5120", ("100.00", "20.00"))
    conn = sqlite3.connect(replica.path)
    with conn:
        conn.execute("DELETE FROM AUDIT_HEADER WHERE EXTERNAL_ID = 'CW-INV-5120'")  # row 2 lost
    conn.close()
    differs = w.confirmations(["CW-INV-5120"]).confirmations["CW-INV-5120"]
    assert differs.outcome == "differs"
    assert differs.reason == (
        f"Sage holds net 100.00 VAT 20.00 under SI SMITHJ01 ref 5120 on 2026-10-20 "
        f"(headers {number}); the import files carried net 150.50 VAT 30.10")


def test_odbc_judges_two_documents_sage_finds_the_same_way_together(make_writer, folder,
                                                                    replica, sx):
    """Two credits against one invoice reference, one supplier, one day, handed off in two
    loads: Sage's headers for that reference hold both, and neither is judged alone."""
    w = make_writer(odbc_dsn=f"sqlite:{replica.path}")

    def credit(key: str, split: int, net: str, vat: str) -> bytes:
        return sx.company(suppliers=[sx.supplier()], transactions=[sx.split(
            split, key=key, kind="PurchaseCredit", reference="PO123", net=net, tax_code=1,
            tax_amount=vat)])
    w.load(credit("CW-PO-1-1", 2001, "95.40", "19.08"), source="chunk 1")
    import_csv_sets(folder, replica)
    assert outcomes(w.confirmations(["CW-PO-1-1"])) == {"CW-PO-1-1": "imported"}
    w.load(credit("CW-PO-1-2", 2002, "40.00", "8.00"), source="chunk 2")
    assert outcomes(w.confirmations(["CW-PO-1-2"])) == {}      # waiting: Sage has only the first
    import_csv_sets(folder, replica)
    assert outcomes(w.confirmations(["CW-PO-1-2"])) == {"CW-PO-1-2": "imported"}
    assert outcomes(w.confirmations(["CW-PO-1-1"])) == {"CW-PO-1-1": "imported"}


def test_a_replica_dsn_is_opened_read_only_at_the_path_given(tmp_path, make_replica):
    replica = make_replica(path="Sage #1/100%/sage50.db")
    conn = sage_odbc.connect(sage_odbc.Login(f"sqlite:{replica.path}"))
    try:
        assert conn.execute("SELECT COUNT(*) FROM AUDIT_HEADER").fetchone() == (0,)
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            conn.execute("DELETE FROM AUDIT_HEADER")
    finally:
        conn.close()
    with pytest.raises(RetriableError, match="nowhere.db cannot be opened read-only"):
        sage_odbc.connect(sage_odbc.Login(f"sqlite:{tmp_path / 'nowhere.db'}"))


@pytest.fixture
def fake_pyodbc(monkeypatch, replica):
    """A pyodbc whose driver is the replica: the same SQL as against Sage's ODBC driver."""
    module = types.ModuleType("pyodbc")
    module.Error = type("Error", (Exception,), {})
    module.calls = []

    def connect(*args, **kwargs):
        module.calls.append((args, kwargs))
        if module.refuse:
            raise module.Error(getattr(module.Error, "text", "[08001] data source not found"))
        return sqlite3.connect(replica.path)
    module.connect, module.refuse = connect, False
    monkeypatch.setitem(sys.modules, "pyodbc", module)
    return module


def test_a_dsn_is_read_through_pyodbc_read_only(make_writer, folder, replica, sx,
                                                fake_pyodbc):
    w = make_writer(odbc_dsn="SAGE50")
    w.load(both(sx), source="chunk 1")
    import_csv_sets(folder, replica)
    read = w.confirmations(DOCS + ACCOUNTS)
    assert outcomes(read) == dict.fromkeys(DOCS + ACCOUNTS, "imported")
    assert "through ODBC (SAGE50)" in read.confirmations["CW-EXP-311"].evidence
    assert fake_pyodbc.calls == [(("DSN=SAGE50",),
                                  {"autocommit": True, "readonly": True, "timeout": 30})]


def test_the_sage_user_logs_on_and_the_password_is_never_shown(make_writer, folder, replica,
                                                              sx, fake_pyodbc):
    w = make_writer(odbc_dsn="SAGE50", odbc_user="MANAGER", odbc_password="pa;ss}word")
    w.load(both(sx), source="chunk 1")
    import_csv_sets(folder, replica)
    assert outcomes(w.confirmations(DOCS)) == dict.fromkeys(DOCS, "imported")
    assert fake_pyodbc.calls[0][0] == ("DSN=SAGE50;UID=MANAGER;PWD={pa;ss}}word}",)
    fake_pyodbc.refuse = True
    fake_pyodbc.Error.text = "login failed for PWD={pa;ss}}word} pa;ss}word"
    w.load(both(sx, invoices=[sx.invoice("CW-INV-9", InvoiceNumber="9")]), source="chunk 2")
    read = w.confirmations(["CW-INV-9"])
    assert read.unreadable and "pa;ss}word" not in " ".join(read.unreadable)


def test_a_dsn_that_does_not_answer_is_reported_and_asked_again(make_writer, folder, replica,
                                                                sx, fake_pyodbc):
    w = make_writer(odbc_dsn="SAGE50")
    w.load(both(sx), source="chunk 1")
    import_csv_sets(folder, replica)
    fake_pyodbc.refuse = True
    read = w.confirmations(DOCS)
    assert read.confirmations == {}
    [why] = read.unreadable
    assert why.startswith("Sage 50 through ODBC (SAGE50): Sage 50 ODBC DSN 'SAGE50' did not "
                          "answer ([08001] data source not found)")
    fake_pyodbc.refuse = False
    assert outcomes(w.confirmations(DOCS)) == dict.fromkeys(DOCS, "imported")


def test_a_dsn_without_pyodbc_says_how_to_install_it_or_confirm_by_hand(make_writer, sx,
                                                                       monkeypatch):
    monkeypatch.setitem(sys.modules, "pyodbc", None)                 # import fails
    w = make_writer(odbc_dsn="SAGE50")
    w.load(both(sx), source="chunk 1")
    with pytest.raises(ConfigError) as info:
        w.confirmations(DOCS)
    assert "pip install 'cwsage[odbc]'" in str(info.value)
    assert "`cwsage confirm FILE`" in str(info.value)
