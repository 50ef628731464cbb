"""Whole loads into the replica: idempotency, atomicity, reopening, copies, settings."""

import sqlite3

import pytest

from tasks.errors import ConfigError, LoadError
from tasks.sage50 import replica_ledger
from tasks.sage50.replica import copy_replica
from tests.writer_settings import make_writer


def mixed_xml(sx):
    return sx.company(
        customers=[sx.customer()], suppliers=[sx.supplier()],
        invoices=[sx.invoice("CW-INV-1", items=[sx.item("FW-TZ270", "2", "640.00")]),
                  sx.invoice("CW-INV-2", ref="NEWCO01", items=[sx.item(), sx.item(tax=14)]),
                  sx.invoice("CW-INV-3", items=[sx.item(price="19.99")])],
        transactions=[sx.split(1), sx.split(2, nominal="7402")])


def test_second_load_of_the_same_xml_changes_nothing(replica, db, sx):
    first = replica.load(mixed_xml(sx), source="chunk 1")
    before = db.counts()
    balances = db.rows("SELECT ACCOUNT_REF, BALANCE FROM NOMINAL_LEDGER ORDER BY 1")
    second = replica.load(mixed_xml(sx), source="chunk 1 again")
    assert [(r.key, r.status) for r in second.results] == [
        ("CW-CO-SMITHJ01", "already_present"), ("CW-MEM-JSMITH", "already_present"),
        ("CW-INV-1", "already_present"), ("CW-INV-2", "rejected"),
        ("CW-INV-3", "already_present"), ("CW-EXP-311", "already_present")]
    assert [r.sage_ref for r in second.by_status("already_present")][2:] == [
        r.sage_ref for r in first.by_status("loaded")][2:]
    assert db.counts() == before
    assert db.rows("SELECT ACCOUNT_REF, BALANCE FROM NOMINAL_LEDGER ORDER BY 1") == balances
    assert second.counts() == {"loaded": 0, "handed_off": 0, "already_present": 5,
                               "rejected": 1, "held": 0}


def test_rejected_document_in_the_middle_leaves_no_trace_and_the_others_load(replica, db, sx):
    receipt = replica.load(mixed_xml(sx), source="chunk 1")
    assert [r.key for r in receipt.by_status("rejected")] == ["CW-INV-2"]
    assert "Item 2 TaxCode 14 (T14)" in receipt.by_status("rejected")[0].reason
    assert db.rows("SELECT EXTERNAL_ID, INVOICE_NUMBER FROM INVOICE ORDER BY 2") == [
        ("CW-INV-1", 1), ("CW-INV-3", 2)]                 # numbering has no gap
    assert db.one("SELECT COUNT(*) FROM SALES_LEDGER WHERE ACCOUNT_REF = 'NEWCO01'") == 0
    debits, credits = replica.audit_balances()
    assert debits == credits


def test_a_write_that_fails_midway_is_rolled_back_to_its_savepoint(replica, db, sx, monkeypatch):
    real = replica_ledger._move_stock

    def fail_for_second(run, doc):
        real(run, doc)
        if doc.key == "CW-INV-2":
            raise sqlite3.IntegrityError("UNIQUE constraint failed: STOCK.STOCK_CODE")
    monkeypatch.setattr(replica_ledger, "_move_stock", fail_for_second)
    receipt = replica.load(sx.company(invoices=[
        sx.invoice("CW-INV-1", items=[sx.item("SKU-A")]),
        sx.invoice("CW-INV-2", ref="NEWCO01", items=[sx.item("SKU-B")]),
        sx.invoice("CW-INV-3", items=[sx.item("SKU-C")])]), source="t")
    assert [r.status for r in receipt.results] == ["loaded", "rejected", "loaded"]
    assert "Sage refused the write" in receipt.results[1].reason
    assert receipt.accounts_created == ["SMITHJ01"]
    assert db.rows("SELECT STOCK_CODE FROM STOCK ORDER BY 1") == [("SKU-A",), ("SKU-C",)]
    assert db.rows("SELECT INVOICE_NUMBER, STOCK_CODE FROM INVOICE_ITEM ORDER BY 1") == [
        (1, "SKU-A"), (2, "SKU-C")]                       # CW-INV-3 took the unused number
    assert db.rows("SELECT EXTERNAL_ID FROM INVOICE ORDER BY 1") == [("CW-INV-1",), ("CW-INV-3",)]
    assert db.rows("SELECT HEADER_NUMBER FROM AUDIT_HEADER ORDER BY 1") == [(1,), (2,)]
    assert db.one("SELECT COUNT(*) FROM SALES_LEDGER") == 1


def test_an_error_outside_the_documents_rolls_back_the_whole_load(replica, db, sx, monkeypatch):
    def broken(run, doc):
        raise sqlite3.OperationalError("disk I/O error")
    monkeypatch.setattr(replica_ledger, "_move_stock", broken)
    with pytest.raises(LoadError, match=r"chunk 7: the Sage 50 replica .* failed: disk I/O"):
        replica.load(sx.company(customers=[sx.customer()], invoices=[sx.invoice()]),
                     source="chunk 7")
    assert db.counts() == dict.fromkeys(db.counts(), 0)


def test_reopening_keeps_data_and_schema_version(tmp_path, sx):
    with make_writer("sage50_replica", {}, tmp_path) as w:
        w.load(sx.company(invoices=[sx.invoice()]), source="t")
    with make_writer("sage50_replica", {"currency_rates": {"EUR": 1.2, "CHF": 1.1}}, tmp_path) as w:
        assert w.present(["CW-INV-5120"]) == {"CW-INV-5120"}
        conn = sqlite3.connect(w.path)
        assert conn.execute("SELECT VERSION FROM SCHEMA_VERSION").fetchall() == [(1,), (2,), (3,)]
        assert conn.execute("SELECT CODE, RATE FROM CURRENCY ORDER BY NUMBER").fetchall() == [
            ("GBP", 1.0), ("EUR", 1.2), ("USD", 0.0), ("CHF", 1.1)]   # no built-in rates
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        conn.close()


def test_copy_replica_makes_a_consistent_copy_for_dry_runs(replica, sx, tmp_path):
    replica.load(sx.company(invoices=[sx.invoice()]), source="t")      # held in the WAL
    copy = copy_replica(replica.path, tmp_path / "dry" / "copy.db")
    with make_writer("sage50_replica", {"path": str(copy)}, tmp_path) as dry:
        dry.load(sx.company(invoices=[sx.invoice("CW-INV-9")]), source="dry run")
        assert dry.present(["CW-INV-5120", "CW-INV-9"]) == {"CW-INV-5120", "CW-INV-9"}
    assert replica.present(["CW-INV-9"]) == set()


def test_the_seeded_chart_has_uk_defaults(db):
    assert db.rows("SELECT TAX_CODE, TAX_RATE FROM TAX_CODE WHERE TAX_CODE_ID IN (0, 1, 5, 9)") \
        == [("T0", 0.0), ("T1", 20.0), ("T5", 5.0), ("T9", 0.0)]
    assert db.one("SELECT NAME FROM NOMINAL_LEDGER WHERE ACCOUNT_REF = '7402'") == "Hotels"
    assert db.one("SELECT COUNT(*) FROM NOMINAL_LEDGER") == 46
    assert db.rows("SELECT CODE FROM CURRENCY WHERE BASE_CURRENCY = 1") == [("GBP",)]


def test_a_file_that_is_not_a_replica_is_a_config_error(tmp_path):
    other = tmp_path / "other.db"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE T (X)")
    conn.close()
    with pytest.raises(ConfigError, match="not a cwsage Sage 50 replica"):
        make_writer("sage50_replica", {"path": str(other)}, tmp_path)
    (tmp_path / "junk.db").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(ConfigError, match="cannot be used as the Sage 50 replica"):
        make_writer("sage50_replica", {"path": "junk.db"}, tmp_path)


def test_unreadable_xml_is_a_load_error_naming_the_source(replica):
    with pytest.raises(LoadError, match=r"^invoices chunk 3: the Sage XML is not well-formed"):
        replica.load(b"<Company>", source="invoices chunk 3")
