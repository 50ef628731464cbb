"""The local Sage-side importer: Zynk's XML import and Sage's CSV import, against a real replica."""

import csv
import io
import json
from datetime import date
from decimal import Decimal
from types import SimpleNamespace

import pytest

from tasks.errors import ConfigError
from tasks.sage50.sage_import import (FAULT_ERRORS, ImportOptions, import_csv_sets,
                                      import_outbox)
from tasks.sage50.zynk_files import (DUPLICATE_DESCRIPTION, UnreadableOutcome,
                                     is_duplicate_skip, read_outcome_file)
from tests.writer_settings import make_writer


@pytest.fixture
def dirs(tmp_path):
    d = SimpleNamespace(outbox=tmp_path / "outbox", ok=tmp_path / "success",
                        fail=tmp_path / "fail", csv=tmp_path / "csv")
    d.outbox.mkdir()
    d.csv.mkdir()
    return d


def run(dirs, replica, **options):
    return import_outbox(dirs.outbox, dirs.ok, dirs.fail, replica, ImportOptions(**options))


def outcome(path):
    return read_outcome_file(path.read_bytes(), path.name)


def ids(path):
    return [(r.record_id, r.second_reference) for r in outcome(path)]


def mixed(sx):
    """A customer and a supplier, a good and a bad invoice, a two-split purchase invoice."""
    return sx.company(customers=[sx.customer()], suppliers=[sx.supplier()],
                      invoices=[sx.invoice("CW-INV-1"), sx.invoice("CW-INV-2", items=[
                          sx.item(nominal="4999")])],
                      transactions=[sx.split(1001), sx.split(1002, nominal="7402", net="110.00",
                                                         tax_code=1, tax_amount="22.00")])


# -- Zynk XML import -----------------------------------------------------------------------------

def test_records_go_to_the_success_or_fail_file_and_the_input_is_archived(dirs, replica, db, sx):
    (dirs.outbox / "run1.xml").write_bytes(mixed(sx))
    report = run(dirs, replica)
    assert (report.files, report.imported, report.failed, report.duplicates) == (
        ["run1.xml"], 4, 1, 0)
    assert ids(dirs.ok / "run1-success.xml") == [
        ("CW-CO-SMITHJ01", None), ("CW-MEM-JSMITH", None), ("CW-INV-1", None),
        ("1001", "CW-EXP-311"), ("1002", "CW-EXP-311")]          # one record per split
    [failed] = outcome(dirs.fail / "run1-fail.xml")
    assert failed.record_id == "CW-INV-2" and failed.errors[0].name == "Import Error"
    assert "'4999' is not in the Sage nominal ledger" in failed.errors[0].description
    assert not is_duplicate_skip(failed.errors)
    assert date.fromisoformat(failed.errors[0].date[:10])
    assert "CW-INV-2 failed" in report.messages[0]
    assert not (dirs.outbox / "run1.xml").exists() and (dirs.outbox / "processed/run1.xml").exists()
    assert db.one("SELECT COUNT(*) FROM AUDIT_HEADER") == 2
    assert run(dirs, replica).files == []                     # processed: nothing to do


def test_a_file_with_no_failures_writes_no_fail_file(dirs, replica, sx):
    (dirs.outbox / "ok.xml").write_bytes(sx.company(customers=[sx.customer()],
                                                    invoices=[sx.invoice()]))
    run(dirs, replica)
    assert (dirs.ok / "ok-success.xml").exists() and not (dirs.fail / "ok-fail.xml").exists()


def test_running_again_skips_every_document_into_the_fail_file(dirs, replica, db, sx):
    (dirs.outbox / "run1.xml").write_bytes(mixed(sx))
    run(dirs, replica)
    counts = db.counts()
    report = run(dirs, replica, again=True)
    assert (report.imported, report.failed, report.duplicates) == (2, 1, 2)
    records = outcome(dirs.fail / "run1-fail.xml")
    skipped = {r.record_id: is_duplicate_skip(r.errors) for r in records}
    assert skipped == {"CW-INV-1": True, "CW-INV-2": False, "1001": True, "1002": True}
    assert records[0].errors[0].description == DUPLICATE_DESCRIPTION
    assert ids(dirs.ok / "run1-success.xml") == [("CW-CO-SMITHJ01", None),
                                                 ("CW-MEM-JSMITH", None)]   # accounts update
    assert db.counts() == counts


def test_without_prevent_duplicates_the_import_is_reported_as_a_duplicate_sage_would_hold(
        dirs, replica, db, sx):
    (dirs.outbox / "run1.xml").write_bytes(sx.company(invoices=[sx.invoice()]))
    run(dirs, replica)
    report = run(dirs, replica, again=True, prevent_duplicates=False)
    assert (report.imported, report.duplicates) == (1, 0)
    assert "the replica cannot hold a duplicate" in report.messages[0]
    assert ids(dirs.ok / "run1-success.xml") == [("CW-INV-5120", None)]
    assert db.one("SELECT COUNT(*) FROM INVOICE") == 1


def test_fail_share_fails_about_that_share_the_same_way_every_time(dirs, make_replica,
                                                                    open_db, tmp_path, sx):
    invoices = [sx.invoice(f"CW-INV-{n}") for n in range(1000, 1080)]
    failed_sets = []
    for name in ("a", "b"):
        replica = make_replica(path=f"{name}.db")
        (dirs.outbox / f"{name}.xml").write_bytes(sx.company(invoices=invoices))
        report = run(dirs, replica, fail_share=0.25)
        records = outcome(dirs.fail / f"{name}-fail.xml")
        assert {r.errors[0].description for r in records} <= set(FAULT_ERRORS)
        failed_sets.append({r.record_id for r in records})
        assert report.failed == len(records)
        held = open_db(replica.path).one("SELECT COUNT(*) FROM INVOICE")
        assert held == 80 - len(records)                      # never loaded
    assert failed_sets[0] == failed_sets[1]
    assert 10 <= len(failed_sets[0]) <= 30                    # about a quarter of 80


def test_half_written_leaves_a_success_file_that_cannot_be_read(dirs, replica, sx):
    (dirs.outbox / "run1.xml").write_bytes(mixed(sx))
    (dirs.outbox / "run2.xml").write_bytes(sx.company(invoices=[sx.invoice("CW-INV-9")]))
    report = run(dirs, replica, half_written=True)
    assert report.files == ["run1.xml"]                       # the importer "died" there
    with pytest.raises(UnreadableOutcome, match="run1-success.xml"):
        outcome(dirs.ok / "run1-success.xml")
    assert (dirs.outbox / "run1.xml").exists()                # not archived
    report = run(dirs, replica)                               # the importer restarted
    assert report.files == ["run1.xml", "run2.xml"] and report.duplicates == 2
    assert len(outcome(dirs.ok / "run1-success.xml")) == 2    # accounts: readable again


def test_move_away_imports_nothing(dirs, replica, db, sx):
    (dirs.outbox / "run1.xml").write_bytes(mixed(sx))
    report = run(dirs, replica, move_away=True)
    assert (report.moved_away, report.imported, report.files) == (1, 0, [])
    assert (dirs.outbox / "moved-away/run1.xml").exists()
    assert not dirs.ok.joinpath("run1-success.xml").exists()
    assert db.counts()["INVOICE"] == 0 and db.counts()["SALES_LEDGER"] == 0


def test_an_invoice_for_a_missing_customer_fails_without_auto_create(dirs, replica, db, sx):
    (dirs.outbox / "run1.xml").write_bytes(sx.company(invoices=[sx.invoice()]))
    report = run(dirs, replica, auto_create_accounts=False)
    [failed] = outcome(dirs.fail / "run1-fail.xml")
    assert "is not a Sage customer and auto_create_accounts is off" in \
        failed.errors[0].description
    assert report.failed == 1 and db.counts()["SALES_LEDGER"] == 0
    assert replica.settings.auto_create_accounts is True   # the replica's own is kept
    run(dirs, replica, again=True)                            # Zynk's default creates it
    assert db.one("SELECT ACCOUNT_REF FROM SALES_LEDGER") == "SMITHJ01"


def test_a_damaged_file_is_reported_and_left_while_the_others_import(dirs, replica, sx):
    (dirs.outbox / "a-bad.xml").write_bytes(b"<Company><Invoices><Invoice>")
    (dirs.outbox / "b-good.xml").write_bytes(sx.company(invoices=[sx.invoice()]))
    (dirs.outbox / ".c.xml.tmp").write_bytes(b"half")
    (dirs.outbox / ".hidden.xml").write_bytes(b"<nope")
    report = run(dirs, replica)
    assert report.files == ["b-good.xml"] and report.imported == 1
    assert report.messages[0].startswith("a-bad.xml: not imported, left in")
    assert (dirs.outbox / "a-bad.xml").exists()
    assert report.lines()[0] == "1 file read: 1 imported, 0 failed, 0 duplicates"


def test_files_the_outbox_writer_drops_are_imported(dirs, replica, tmp_path, sx):
    outbox = make_writer("zynk_xml_outbox", {"folder": "outbox"}, tmp_path)
    try:
        outbox.load(sx.company(customers=[sx.customer()], invoices=[sx.invoice()]),
                    source="invoices chunk 1")
        report = run(dirs, replica)
        [name] = report.files
        assert [r.record_id for r in outcome(dirs.ok / name.replace(".xml", "-success.xml"))
                ] == ["CW-CO-SMITHJ01", "CW-INV-5120"]
        assert outbox.repair_manifest() == []                       # the archive confuses nothing
    finally:
        outbox.close()


def test_user_mistakes_name_the_path_and_the_fix(dirs, replica, tmp_path):
    with pytest.raises(ConfigError, match=f"{tmp_path / 'nope'}: the Zynk outbox folder does "
                                          f"not exist"):
        import_outbox(tmp_path / "nope", dirs.ok, dirs.fail, replica)
    with pytest.raises(ConfigError, match="nope: the Sage CSV import folder"):
        import_csv_sets(tmp_path / "nope", replica)
    with pytest.raises(ConfigError, match="the Success Files would land in the folder"):
        import_outbox(dirs.outbox, dirs.outbox, dirs.fail, replica)
    with pytest.raises(ConfigError, match="fail_share: got 2"):
        ImportOptions(fail_share=2)


# -- Sage's CSV import ---------------------------------------------------------------------------

def account(ref, name="Acme Ltd", **over):
    row = dict.fromkeys(("A/C", "Name", "Street1", "Street2", "Town", "County", "Post Code",
                         "Contact Name", "Telephone", "Fax", "A1", "A2", "A3", "Department",
                         "VAT Number", "MTD", "YTD", "Prior", "Credit Limit", "Terms",
                         "Settle Days", "Settle Disc", "Nominal", "Tax Code", "Trade Contact",
                         "Telephone 2", "E-mail", "Website"), "")
    row.update({"A/C": ref, "Name": name, "Street1": "1 High Street", "Town": "Leeds",
                "Post Code": "LS1 1AA", "Tax Code": "T1"}, **over)
    return list(row.values())


def tx(kind, ref, nominal, net, tax_code, tax, extra, reference="5120", day="20/10/2026",
       details="Managed services"):
    return [kind, ref, nominal, "0", day, reference, details, net, tax_code, tax, "1", extra,
            "", "", ""]


def write_set(folder, stem, documents=(), **files):
    """A set as ``sage50_import_csv`` leaves it (its manifest lists documents as objects)."""
    where = folder / stem
    where.mkdir()
    names = {}
    for kind, rows in files.items():
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\r\n").writerows(rows)
        names[kind] = f"{stem}-{kind}.csv"
        (where / names[kind]).write_bytes(buffer.getvalue().encode("cp1252"))
    (where / "IMPORT.txt").write_text("File > Import: customers, suppliers, then transactions")
    (where / "manifest.json").write_text(json.dumps({"stem": stem, "files": names, "documents": [
        {"key": key, "split_ids": [], "totals": None} for key in documents]}))
    return where


SALES = [account("SMITHJ01", 'Smith, "Jones" & Partners £')]
SUPPLIERS = [account("JSMITH", "John Smith", **{"Tax Code": ""})]
ROWS = [tx("SI", "SMITHJ01", "4000", "100.00", "T1", "20.00", "CW-INV-5120"),
        tx("SI", "SMITHJ01", "4001", "50.50", "T1", "10.10", "CW-INV-5120"),
        tx("SC", "SMITHJ01", "4000", "25.00", "T1", "5.00", "CW-CRN-77", reference="5120"),
        tx("PI", "JSMITH", "7400", "95.40", "T9", "", "CW-EXP-311", reference="EXP311"),
        tx("PI", "JSMITH", "7402", "110.00", "T1", "22.00", "CW-EXP-311", reference="EXP311")]


def headers(db):
    return {key: (typ, ref, inv_ref, day, Decimal(str(net)), Decimal(str(tax)), n)
            for key, typ, ref, inv_ref, day, net, tax, n in db.rows(
                "SELECT EXTERNAL_ID, TYPE, ACCOUNT_REF, INV_REF, DATE, NET_AMOUNT, TAX_AMOUNT, "
                "ITEM_COUNT FROM AUDIT_HEADER")}


def test_a_csv_set_posts_grouped_documents_with_the_rows_amounts(dirs, replica, db):
    write_set(dirs.csv, "set1", customers=SALES, suppliers=SUPPLIERS, transactions=ROWS,
              documents=["CW-INV-5120", "CW-CRN-77", "CW-EXP-311"])
    report = import_csv_sets(dirs.csv, replica)
    assert (report.files, report.imported, report.failed, report.messages) == (
        ["set1"], 5, 0, [])
    assert headers(db) == {
        "CW-INV-5120": ("SI", "SMITHJ01", "5120", "2026-10-20", Decimal("150.5"),
                        Decimal("30.1"), 2),
        "CW-CRN-77": ("SC", "SMITHJ01", "5120", "2026-10-20", Decimal("25"), Decimal("5"), 1),
        "CW-EXP-311": ("PI", "JSMITH", "EXP311", "2026-10-20", Decimal("205.4"),
                       Decimal("22"), 2)}
    assert db.one("SELECT COUNT(*) FROM AUDIT_SPLIT") == 5
    assert replica.audit_balances()[0] == replica.audit_balances()[1]


def test_a_document_the_manifest_lists_without_rows_is_reported(dirs, replica):
    write_set(dirs.csv, "set1", customers=SALES, transactions=ROWS[:2],
              documents=["CW-INV-5120", "CW-INV-404"])
    report = import_csv_sets(dirs.csv, replica)
    assert report.messages == ["set1: CW-INV-404 is listed in manifest.json but has no row in "
                               "the transactions file — not imported"]


def test_names_with_commas_quotes_ampersands_and_pounds_round_trip(dirs, replica, db):
    write_set(dirs.csv, "set1", customers=SALES)
    import_csv_sets(dirs.csv, replica)
    assert db.one("SELECT NAME FROM SALES_LEDGER") == 'Smith, "Jones" & Partners £'
    assert db.one("SELECT DEF_TAX_CODE FROM SALES_LEDGER") == "T1"


def test_an_existing_account_is_updated_by_its_ac(dirs, replica, db):
    write_set(dirs.csv, "set1", customers=SALES)
    write_set(dirs.csv, "set2", customers=[account("SMITHJ01", "Smith & Jones LLP")])
    report = import_csv_sets(dirs.csv, replica)
    assert report.imported == 2 and report.failed == 0
    assert db.rows("SELECT ACCOUNT_REF, NAME FROM SALES_LEDGER") == [
        ("SMITHJ01", "Smith & Jones LLP")]


@pytest.mark.parametrize("row, options, expected", [
    (tx("SI", "NOBODY", "4000", "10.00", "T1", "2.00", "CW-INV-1"), {},
     "account 'NOBODY' does not exist in Sage as a customer"),
    (tx("PI", "SMITHJ01", "7400", "10.00", "T1", "2.00", "CW-EXP-1"), {},
     "does not exist in Sage as a supplier"),
    (tx("SI", "SMITHJ01", "4999", "10.00", "T1", "2.00", "CW-INV-1"), {},
     "'4999' is not in the Sage nominal ledger"),
    (tx("SI", "SMITHJ01", "1100", "10.00", "T1", "2.00", "CW-INV-1"), {},
     "is the debtors control account"),
    (tx("SI", "SMITHJ01", "4000", "10.00", "T1", "2.00", "CW-INV-1", day="31/03/2026"),
     {"financial_year_start": date(2026, 4, 1)}, "date out of range: 31/03/2026"),
    (tx("SI", "SMITHJ01", "4000", "10.00", "T1", "2.00", "CW-INV-1", day="01/04/2027"),
     {"financial_year_start": date(2026, 4, 1)}, "date out of range: 01/04/2027"),
    (tx("BR", "SMITHJ01", "1200", "10.00", "T9", "0.00", "CW-PAY-1"), {},
     "Type 'BR' is not one this importer takes"),
    (tx("SI", "SMITHJ01", "4000", "10.00", "T1", "2.00", "CW-INV-1", day="2026-10-20"), {},
     "is not a date DD/MM/YYYY"),
    (tx("SI", "SMITHJ01", "4000", "10.00", "T1", "2.00", "CW-INV-1")[:10] + ["1.27", "CW-INV-1"],
     {}, "is held in GBP but the rows carry exchange rate 1.27"),
])
def test_sages_csv_rules_refuse_a_document_with_the_reason(dirs, replica, db, row, options,
                                                           expected):
    good = tx("SI", "SMITHJ01", "4000", "10.00", "T1", "2.00", "CW-INV-OK", day="01/05/2026")
    write_set(dirs.csv, "set1", customers=SALES, transactions=[row, good])
    report = import_csv_sets(dirs.csv, replica, ImportOptions(**options))
    assert report.failed == 1 and report.imported == 2      # the account and the good one
    [message] = report.messages
    assert message.startswith("set1: CW-") and expected in message
    assert list(headers(db)) == ["CW-INV-OK"]


def test_an_imported_set_is_not_imported_twice(dirs, replica, db):
    write_set(dirs.csv, "set1", customers=SALES, suppliers=SUPPLIERS, transactions=ROWS)
    import_csv_sets(dirs.csv, replica)
    state = json.loads((dirs.csv / ".sage-import-state.json").read_text())
    assert list(state) == ["set1"]
    counts = db.counts()
    assert import_csv_sets(dirs.csv, replica).files == []
    again = import_csv_sets(dirs.csv, replica, ImportOptions(again=True))
    assert (again.duplicates, again.failed) == (3, 0)
    assert "a real Sage CSV import has no duplicate check" in again.messages[0]
    assert db.counts() == counts


def test_a_foreign_currency_account_made_elsewhere_takes_its_currency_and_rate(
        dirs, make_replica, open_db, sx):
    replica = make_replica(currency_rates={"EUR": 1.15})
    replica.load(sx.company(customers=[sx.customer("EUROCO", Currency="EUR")]), source="xml")
    rows = [tx("SI", "EUROCO", "4000", "115.00", "T1", "23.00", "CW-INV-8")]
    rows[0][10] = "1.15"
    write_set(dirs.csv, "set1", customers=[account("EUROCO", "Euro Co GmbH")],
              transactions=rows)
    report = import_csv_sets(dirs.csv, replica)
    assert (report.imported, report.failed) == (2, 0), report.messages
    db = open_db(replica.path)
    assert db.rows("SELECT NAME, EXTERNAL_ID FROM SALES_LEDGER") == [
        ("Euro Co GmbH", "CW-CO-EUROCO")]                    # updated, its Id kept
    assert db.rows("SELECT CURRENCY, FOREIGN_RATE, FOREIGN_NET_AMOUNT, NET_AMOUNT FROM "
                   "AUDIT_HEADER") == [(2, 1.15, 115.0, 100.0)]


def test_a_damaged_set_is_reported_and_left_unimported(dirs, replica, db):
    where = write_set(dirs.csv, "set1", customers=SALES, transactions=ROWS[:2])
    (where / "set1-transactions.csv").write_bytes(b"SI,SMITHJ01,4000\x81,0\r\n")   # not cp1252
    report = import_csv_sets(dirs.csv, replica)
    assert report.files == [] and "not Windows-1252 CSV" in report.messages[0]
    assert db.counts()["SALES_LEDGER"] == 0                  # nothing half-imported
    assert not (dirs.csv / ".sage-import-state.json").exists()


@pytest.mark.parametrize("manifest, expected", [
    ("{not json", "manifest.json is not JSON"),
    ('{"files": {}}', "names no files"),
    ('{"files": {"transactions": "../../etc/passwd"}}', "is not a file name in the set"),
    ('{"files": {"products": "p.csv"}}', "names a 'products' file"),
    ('{"files": {"transactions": "missing.csv"}}', "missing.csv is named in manifest.json"),
])
def test_a_bad_manifest_is_reported(dirs, replica, manifest, expected):
    where = write_set(dirs.csv, "set1", transactions=ROWS)
    (where / "manifest.json").write_text(manifest)
    report = import_csv_sets(dirs.csv, replica)
    assert expected in report.messages[0] and report.files == []


def test_a_set_still_being_written_and_move_away(dirs, replica, db):
    (dirs.csv / "set0").mkdir()                              # no manifest yet
    write_set(dirs.csv, "set1", customers=SALES)
    report = import_csv_sets(dirs.csv, replica, ImportOptions(move_away=True))
    assert report.messages[0].startswith("set0: no manifest.json yet")
    assert report.moved_away == 1 and (dirs.csv / "moved-away/set1/manifest.json").exists()
    assert db.counts()["SALES_LEDGER"] == 0
