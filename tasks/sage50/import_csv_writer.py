"""``sage50_import_csv``: Sage 50's own File > Import files, no add-on on the Sage side.

Each load writes one set — a folder ``<folder>/<source>-<UTC stamp>-<hash>/`` holding
``<set>-customers.csv`` and ``<set>-suppliers.csv`` (new or changed accounts only),
``<set>-transactions.csv`` (audit-trail rows, ``import_csv``), ``IMPORT.txt`` for the finance
user and ``manifest.json`` — all at once (``files.write_folder_atomic``). Sage's import cannot
reach the Invoicing module, so invoices travel as SI/SC audit-trail transactions, one row per
nominal and tax code. The same rules and pricing as the outbox decide what is written
(``outbox_plan``), and the same manifest remembers it.

Documents written are ``handed_off``. Two ways confirm them: Sage's own tables read through its
ODBC driver (``odbc_dsn``; ``sage_odbc``), or the person who imported the file
(``cwsage confirm <set>-transactions.csv``).

Settings (``pipelines.yaml`` resolves relative paths against the spec's folder):
    folder          required: where the sets are written
    odbc_dsn        optional: the ODBC DSN of the Sage company (``sqlite:<path>`` for the
                    replica), read to confirm documents
    tax_rates, lock_date, currency_rates   as for the outbox
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import shutil
import sqlite3
from dataclasses import asdict
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Iterable

from tasks.errors import LoadError
from tasks.files import write_folder_atomic
from tasks.sage50 import rules as r
from tasks.sage50.claim import exclusive
from tasks.sage50.handoff import ManifestHandoff
from tasks.sage50.import_csv import (account_row, csv_bytes, import_instructions,
                                     transaction_rows)
from tasks.sage50 import sage_odbc
from tasks.sage50.import_csv_confirm import confirm_in_sage
from tasks.sage50.outbox import slug
from tasks.sage50.outbox_manifest import AccountEntry, DocEntry
from tasks.sage50.outbox_plan import Plan, plan_load
from tasks.sage50.protocol import (LOADED, Check, ConfirmationRead, DocumentTotals,
                                   LineTotals, LoadReceipt)
from tasks.sage50.sagexml import parse_for
from tasks.config.sage import ImportCsvSettings

log = logging.getLogger("cwsage.load")
SET_RE = re.compile(r"^[a-z0-9-]+-\d{8}T\d{6}Z-[0-9a-f]{8}$")
TRANSACTIONS_SUFFIX = "-transactions.csv"


class CsvImportWriter(ManifestHandoff):
    name = "sage50_import_csv"

    def __init__(self, settings: ImportCsvSettings, home: Path):
        self._open(settings, ".*.tmp", _remove_tree, "for Sage's import files")

    def load(self, company_xml: bytes, *, source: str,
             check: Check | None = None) -> LoadReceipt:
        company = parse_for(company_xml, source)
        with self._lock, exclusive(self.folder):
            manifest = self._live()
            self.repair_manifest()
            plan = plan_load(company, self.chart, manifest, check)
            _new_accounts_only(plan)
            rows = self._rows(plan)
            if plan.docs or plan.accounts:
                stem = self._write(company, plan, rows, source)
                try:
                    manifest.record(stem, source, plan.sha256, plan.docs, plan.accounts,
                                    found_by=_found_by(rows))
                except sqlite3.Error as exc:
                    raise LoadError(f"{source}: {stem} was written but the manifest could not "
                                    f"record it ({exc}); the next load records it from the "
                                    "set's manifest.json") from exc
                plan.written_to(stem, "Sage import files")
            return plan.receipt

    def _rows(self, plan: Plan) -> dict[str, list[list[str]]]:
        """Each planned document's rows; one the format cannot carry is rejected."""
        out = {}
        for doc in list(plan.priced):
            rows, problems = transaction_rows(doc)
            if problems:
                plan.refuse(doc.key, r.reason(doc.key, problems))
            else:
                out[doc.key] = rows
        return out

    def _write(self, company, plan: Plan, rows: dict[str, list[list[str]]],
               source: str) -> str:
        files, names = _account_files(company, plan), {}
        body = [row for doc in plan.priced for row in rows[doc.key]]
        if body:
            files["transactions"] = csv_bytes(body)
        digest = hashlib.sha256(b"".join(files[k] for k in sorted(files))).hexdigest()
        plan.sha256 = digest
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        stem = f"{slug(source)}-{stamp}-{digest[:8]}"
        out = {}
        for kind, data in files.items():
            names[kind] = out_name = f"{stem}-{kind}.csv"
            out[out_name] = data
        out["IMPORT.txt"] = _instructions(stem, names, plan).encode("utf-8")
        out["manifest.json"] = _manifest_json(stem, source, names, plan, rows)
        try:
            write_folder_atomic(self.folder / stem, out)
        except OSError as exc:
            raise LoadError(f"{source}: could not write the import files {stem} to "
                            f"{self.folder}: {exc}") from exc
        return stem

    def repair_manifest(self) -> list[str]:
        """Record sets the manifest does not know (a crash between the folder's rename and the
        manifest write), from their own manifest.json."""
        with self._lock:
            manifest, added = self._live(), []
            known = manifest.files()
            for path in sorted(p for p in self.folder.iterdir() if p.is_dir()):
                if path.name in known or not SET_RE.match(path.name):
                    continue
                try:
                    entry = json.loads((path / "manifest.json").read_text("utf-8"))
                    docs, accounts, found = _from_json(entry)
                except (OSError, ValueError, KeyError, TypeError, ArithmeticError) as exc:
                    log.warning("%s: looks like a set of import files but its manifest.json "
                                "cannot be read (%s); its documents are not known as written "
                                "— check whether it was imported into Sage", path, exc)
                    continue
                manifest.record(path.name, "reconciled", entry.get("sha256", ""), docs,
                                accounts, reconciled=True, found_by=found)
                added.append(path.name)
            return added

    def confirmations(self, keys: Iterable[str]) -> ConfirmationRead:
        """What Sage's tables say of ``keys`` (with an ODBC DSN), and every word recorded."""
        keys, read = list(keys), ConfirmationRead()
        with self._lock:
            manifest = self._live()
            if self.settings.odbc_dsn and keys:
                problem = confirm_in_sage(manifest, self._sage_login(), keys)
                read.unreadable += [problem] if problem else []
            read.confirmations = manifest.confirmations(keys)
        return read

    def _sage_login(self) -> sage_odbc.Login:
        password = self.settings.odbc_password
        return sage_odbc.Login(self.settings.odbc_dsn, self.settings.odbc_user,
                               password.get_secret_value() if password else None)

    def file_name(self, given: str) -> str:
        name = Path(given.strip()).name
        for suffix in (TRANSACTIONS_SUFFIX, "-customers.csv", "-suppliers.csv"):
            if name.endswith(suffix):
                return name[:-len(suffix)]
        return name



def _new_accounts_only(plan: Plan) -> None:
    """Sage's record import rewrites an account from every column, so an account handed off
    before and unchanged is not written again because a document names it (as the outbox's
    records travel with their documents): only new or changed accounts are."""
    new = {x.key for x in plan.receipt.results if x.status == LOADED}
    plan.accounts = [a for a in plan.accounts if a.key in new]


def _remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def _account_files(company, plan: Plan) -> dict[str, bytes]:
    chosen = {id(el) for tag in ("Customers", "Suppliers") for el in plan.elements.get(tag, [])}
    keys = {a.key for a in plan.accounts}
    files = {}
    for kind, plural in (("customer", "customers"), ("supplier", "suppliers")):
        rows = [account_row(a) for a in company.accounts
                if a.kind == kind and id(a.element) in chosen and a.key in keys]
        if rows:
            files[plural] = csv_bytes(rows)
    return files


def _found_by(rows: dict[str, list[list[str]]]) -> dict[str, tuple[str, str, int]]:
    """key → (reference, ISO date, rows): columns F and E of its rows, as Sage holds them."""
    out = {}
    for key, body in rows.items():
        day, month, year = body[0][4].split("/")
        out[key] = (body[0][5], f"{year}-{month}-{day}", len(body))
    return out


def _instructions(stem: str, names: dict[str, str], plan: Plan) -> str:
    types: dict[str, int] = {}
    base = [d for d in plan.priced if d.currency == r.BASE_CURRENCY]
    foreign: dict[str, tuple[int, Decimal, Decimal, list[str]]] = {}
    for doc in plan.priced:
        types[doc.doc_type] = types.get(doc.doc_type, 0) + 1
        if doc.currency != r.BASE_CURRENCY:
            n, net, tax, accounts = foreign.get(doc.currency, (0, Decimal(0), Decimal(0), []))
            foreign[doc.currency] = (n + 1, net + doc.net, tax + doc.tax,
                                     sorted({*accounts, doc.account_ref}))
    return import_instructions(stem, names, len(plan.priced),
                               sum((d.net for d in base), Decimal(0)),
                               sum((d.tax for d in base), Decimal(0)), types, foreign)


def _manifest_json(stem: str, source: str, names: dict[str, str], plan: Plan,
                   rows: dict[str, list[list[str]]]) -> bytes:
    found = _found_by(rows)
    return json.dumps({
        "stem": stem, "source": source, "sha256": plan.sha256, "files": names,
        "documents": [{"key": d.key, "split_ids": list(d.split_ids),
                       "found_by": list(found.get(d.key, ())),
                       "totals": asdict(d.totals) if d.totals else None} for d in plan.docs],
        "accounts": [asdict(a) for a in plan.accounts],
    }, indent=1, default=str).encode("utf-8")


def _from_json(entry: dict) -> tuple[list[DocEntry], list[AccountEntry], dict]:
    docs, found = [], {}
    for d in entry["documents"]:
        t = d["totals"]
        totals = None if t is None else DocumentTotals(
            t["key"], t["doc_type"], t["account_ref"], t["currency"], Decimal(t["net"]),
            Decimal(t["tax"]), Decimal(t["gross"]), tuple(
                LineTotals(ln["nominal_code"], int(ln["tax_code"]), Decimal(ln["net"]),
                           Decimal(ln["tax"]), Decimal(ln["rate"]), ln["description"])
                for ln in t["lines"]))
        docs.append(DocEntry(d["key"], totals, tuple(d.get("split_ids") or ())))
        if d.get("found_by"):
            ref, when, n = d["found_by"]
            found[d["key"]] = (ref, when, int(n))
    accounts = [AccountEntry(a["kind"], a["key"], a.get("account_ref"), a["digest"])
                for a in entry.get("accounts", [])]
    return docs, accounts, found
