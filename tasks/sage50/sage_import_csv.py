"""Sage 50's own File > Import of the CSV sets cwsage's ``sage50_import_csv`` writer leaves,
played against the replica (see ``docs/zynk-importer.md``).

A set is a folder ``<folder>/<stem>/``: ``manifest.json``, the CSV files it names (no header
row, Windows-1252, Sage's fixed column order) and ``IMPORT.txt``. Accounts are imported first
(created, or updated by A/C), then transactions by Sage's CSV rules. Adjacent rows with the
same type, account, date, reference and extra reference are one document, keyed by the extra
reference; it is posted through the replica as one Zynk ``Transaction`` group. A CSV row has no
split Id, which the replica keys splits by: the importer numbers them above ``SPLIT_ID_BASE``,
clear of ConnectWise's ids.
"""

from __future__ import annotations

import sqlite3
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING

from lxml import etree

from tasks.errors import LoadError
from tasks.sage50 import rules as r
from tasks.sage50.protocol import ALREADY_PRESENT, LOADED, DocumentResult
from tasks.sage50.replica import ReplicaWriter
from tasks.sage50.replica_accounts import LEDGER_TABLE
from tasks.sage50.sage_import_sets import MANIFEST_NAME, CsvSet
from tasks.sage50.sagexml import serialize

if TYPE_CHECKING:
    from tasks.sage50.sage_import import ImportOptions, ImportReport

SAGE_TYPES = {code: name for name, code in r.TRANSACTION_TYPES.items()}   # SI -> SalesInvoice
SPLIT_ID_BASE = 90_000_000
# Zynk element -> account column, for the fields the replica keeps
ACCOUNT_FIELDS = {"CompanyName": "Name", "VatNumber": "VAT Number", "CreditLimit": "Credit Limit",
                  "Terms": "Terms", "NominalCode": "Default Nominal Code"}
ADDRESS_FIELDS = {"Forename": "Contact Name", "Address1": "Street1", "Address2": "Street2",
                  "Town": "Town", "County": "County", "Postcode": "Post Code",
                  "Telephone": "Telephone", "Fax": "Fax", "Email": "E-mail", "Website": "Website"}


# -- importing a set -----------------------------------------------------------------------------

def import_set(csv_set: CsvSet, replica: ReplicaWriter, options: ImportOptions,
               report: ImportReport) -> None:
    """Accounts first, then the transactions, each document imported or refused with why."""
    for kind in ("customer", "supplier"):
        if csv_set.accounts.get(kind):
            _import_accounts(csv_set.stem, kind, csv_set.accounts[kind], replica, report)
    groups = group_rows(csv_set.rows)
    if groups:
        _import_transactions(csv_set.stem, groups, replica, options, report)
    keys = {g[0]["Extra Reference"] for g in groups}
    for key in csv_set.documents:
        if key not in keys:
            report.messages.append(f"{csv_set.stem}: {key} is listed in {MANIFEST_NAME} but has "
                                   f"no row in the transactions file — not imported")


def _import_accounts(stem: str, kind: str, rows: list[dict], replica: ReplicaWriter,
                     report: ImportReport) -> None:
    stored, _ = sage_company(replica.path)
    root = etree.Element("Company")
    coll = etree.SubElement(root, f"{kind.capitalize()}s")
    for row in rows:
        ref = row["A/C"]
        coll.append(account_element(kind, row, stored.get((kind, ref), (ref, None))[0] or ref))
    receipt = replica.load(serialize(root), source=f"{stem} {kind}s CSV")
    for row, result in zip(rows, receipt.results):
        _count(report, stem, f"{kind} {row['A/C']}", result, account=True)


def account_element(kind: str, row: dict[str, str], key: str) -> etree._Element:
    """A Zynk Customer/Supplier for one account row; a blank column leaves the field alone."""
    tag = kind.capitalize()
    el = etree.Element(tag)
    _add(el, "Id", key)
    _add(el, "AccountReference", row["A/C"])
    for element, column in ACCOUNT_FIELDS.items():
        _add(el, element, row[column])
    _add(el, "TaxCode", tax_number(row["Default Tax Code"]))
    address = etree.SubElement(el, f"{tag}InvoiceAddress")
    for element, column in ADDRESS_FIELDS.items():
        _add(address, element, row[column])
    return el


def tax_number(text: str) -> str:
    """Sage's CSV tax code (``T1``) as Zynk's number (``1``); anything else as it is."""
    return text[1:] if text[:1].upper() == "T" and text[1:].isdigit() else text


def _add(parent: etree._Element, tag: str, text: str | None) -> None:
    if text:
        etree.SubElement(parent, tag).text = text


def group_rows(rows: list[dict[str, str]]) -> list[list[dict[str, str]]]:
    """Adjacent rows with the same type, account, date, reference and extra reference."""
    groups: list[list[dict[str, str]]] = []
    last = None
    for row in rows:
        key = (row["Type"].upper(), row["Account Reference"], row["Date"], row["Reference"],
               row["Extra Reference"])
        if not groups or key != last:
            groups.append([])
            last = key
        groups[-1].append(row)
    return groups


def _import_transactions(stem: str, groups: list[list[dict]], replica: ReplicaWriter,
                         options: ImportOptions, report: ImportReport) -> None:
    accounts, split_id = sage_company(replica.path)
    root = etree.Element("Company")
    coll = etree.SubElement(root, "Transactions")
    loading = []
    for group in groups:
        first, key = group[0], group[0]["Extra Reference"] or "(no extra reference)"
        when, currency, problems = _csv_checks(first, accounts, options)
        if problems:
            report.failed += 1
            report.messages.append(f"{stem}: {key} refused — {'; '.join(problems)}")
            continue
        for row in group:
            coll.append(split_element(row, split_id, when, currency))
            split_id += 1
        loading.append(key)
    if loading:
        receipt = replica.load(serialize(root), source=f"{stem} transactions CSV")
        for key, result in zip(loading, receipt.results):
            _count(report, stem, key, result, account=False)


def _csv_checks(row: dict[str, str], accounts: dict, options: ImportOptions):
    """Sage's CSV rules the replica does not apply: the type, the account (which the CSV import
    never creates), the date and the financial year. Returns (date, currency, problems)."""
    problems: list[str] = []
    kind, ref = r.LEDGER_OF.get(row["Type"].upper()), row["Account Reference"]
    if kind is None:
        problems.append(f"Type {row['Type']!r} is not one this importer takes (SI, SC, PI, PC)")
    stored = accounts.get((kind, ref))
    if kind and stored is None:
        problems.append(f"account {ref!r} does not exist in Sage as a {kind} — Sage's CSV "
                        f"import never creates accounts: import it in the {kind}s CSV first")
    if stored and stored[1] == r.BASE_CURRENCY and _rate(row["Exchange Rate"]):
        problems.append(f"account {ref!r} is held in {stored[1]} but the rows carry exchange "
                        f"rate {row['Exchange Rate']} — Sage would post the foreign amounts as "
                        f"pounds; set the account's currency in Sage first (its record import "
                        f"cannot), then import the transactions")
    when = _date(row["Date"], options.financial_year_start, problems)
    return when, stored[1] if stored else None, problems


def _date(text: str, start: date | None, problems: list[str]) -> date | None:
    """The row's date (blank: Sage's program date, today), inside the financial year."""
    try:
        when = datetime.strptime(text, "%d/%m/%Y").date() if text else date.today()
    except ValueError:
        problems.append(f"Date {text!r} is not a date DD/MM/YYYY")
        return None
    if start and not start <= when < _year_after(start):
        problems.append(f"date out of range: {when:%d/%m/%Y} is outside the financial year "
                        f"starting {start:%d/%m/%Y} — date it in the open year")
    return when


def _year_after(start: date) -> date:
    return start.replace(year=start.year + 1, day=28 if (start.month, start.day) == (2, 29)
                         else start.day)


def split_element(row: dict[str, str], split_id: int, when: date,
                  currency: str | None) -> etree._Element:
    """One CSV row as a Zynk Transaction split."""
    el = etree.Element("Transaction")
    for tag, text in (("Id", str(split_id)), ("TransactionType", SAGE_TYPES[row["Type"].upper()]),
                      ("AccountReference", row["Account Reference"]),
                      ("TransactionDate", f"{when.isoformat()}T00:00:00"),
                      ("Reference", row["Reference"]), ("SecondReference", row["Extra Reference"]),
                      ("NominalCode", row["Nominal A/C Ref"]), ("Details", row["Details"]),
                      ("NetAmount", row["Net Amount"]),
                      ("TaxCode", tax_number(row["Tax Code"] or "T0")),    # Sage's default
                      ("TaxAmount", row["Tax Amount"] or "0.00"), ("Currency", currency),
                      ("ExchangeRate", _rate(row["Exchange Rate"]))):
        _add(el, tag, text)
    return el


def _rate(text: str) -> str | None:
    """The exchange rate when it is not 1 (the base currency's rate)."""
    try:
        return None if not text or Decimal(text) == 1 else text
    except InvalidOperation:
        return text


def _count(report: ImportReport, stem: str, label: str, result: DocumentResult, *,
           account: bool) -> None:
    if result.status == LOADED or (result.status == ALREADY_PRESENT and account):
        report.imported += 1                 # an account is created, updated or as given
    elif result.status == ALREADY_PRESENT:
        report.duplicates += 1
        report.messages.append(f"{stem}: {label} is already in Sage — a real Sage CSV import "
                               f"has no duplicate check and would post it a second time; the "
                               f"replica holds it once")
    else:
        report.failed += 1
        reason = (result.reason or "refused by Sage").removeprefix(f"{result.key}: ")
        report.messages.append(f"{stem}: {label} refused — {reason}")


# -- what the Sage company holds (read-only) ---------------------------------------------------

def sage_company(path: Path) -> tuple[dict[tuple[str, str], tuple[str | None, str]], int]:
    """The accounts, ``(kind, A/C) -> (Id, currency code)``, and the next free split Id in the
    importer's own range, read from the replica without writing to it."""
    try:
        conn = sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True)
        try:
            accounts = {(kind, ref): (key, code) for kind, table in LEDGER_TABLE.items()
                        for ref, key, code in conn.execute(
                            f"SELECT l.ACCOUNT_REF, l.EXTERNAL_ID, c.CODE FROM {table} l "
                            f"JOIN CURRENCY c ON c.NUMBER = l.CURRENCY")}
            top = conn.execute("SELECT MAX(EXTERNAL_ID) FROM AUDIT_SPLIT WHERE EXTERNAL_ID > ?",
                               (SPLIT_ID_BASE,)).fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise LoadError(f"the Sage 50 replica {path} cannot be read ({exc})") from exc
    return accounts, (top or SPLIT_ID_BASE) + 1
