"""Hand-written accounting documents served besides the seeded ones (``--documents FILE``).

FILE is a GLExport-shaped JSON object with any of these sections::

    {"transactions": [...], "expenseBills": [...], "purchaseTransactions": [...],
     "customers": [...], "vendors": [...], "companies": [...]}

Documents are served as written and behave like seeded ones: listed unposted, exported,
batched by their GL entry ids, back after their batch is deleted; invoices can be edited.
``exportSettings`` is ignored; ``expenses``, ``adjustmentTransactions`` and
``inventoryTransfers`` must be empty (the sandbox does not serve them).

Parties. A document's ``customers``/``vendors`` entry is the one given here (keyed by
``company.id``, ``member.id`` or ``vendor.id``), else a seeded party's own entry, else one
made from the document. ``companies`` records (``id`` and ``name`` at least; other fields
default to a blank GB client or vendor) are served by ``/company/companies``; a party of a
document that is neither seeded nor given there gets a record made from the document.
Parties and companies may not reuse a seeded id (PATCH the seeded record instead).

Checks, all reported at once with the file, the document and the field (see
``sandbox.fixture_checks``): the fields the sandbox relies on are present and typed; each
document balances (invoice and purchase lines plus header total sum to zero, a bill's total is
the sum of its details); ids are unique and clash with no seeded document; GL entry ids are
unique and lie outside every seeded document's id block (ids below 100,000 always do).
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from sandbox.companies import fixture_company
from sandbox.conventions import INVOICE_GL_BASE, PURCHASE_ORDER_BASE
from sandbox.fixture_checks import (Doc, Problems, check_companies, check_expense_bill,
                                    check_parties, check_purchase, check_transaction,
                                    check_vendors, is_int)
from sandbox.procurement_docs import label

if TYPE_CHECKING:
    from sandbox.data import SandboxData

SECTIONS = ("transactions", "expenseBills", "purchaseTransactions", "customers", "vendors",
            "companies")
IGNORED, UNSERVED = ("exportSettings",), ("expenses", "adjustmentTransactions",
                                          "inventoryTransfers")
EXAMPLE = '{"transactions": [...], "customers": [...], "companies": [...]}'
HINTS = {"invoices": "transactions", "bills": "expenseBills", "purchases": "purchaseTransactions",
         "procurement": "purchaseTransactions", "members": "vendors"}
Found = list[tuple[str, str, int]]


class DocumentsError(ValueError):
    """A documents file that cannot be served; the message lists every problem."""


@dataclass(frozen=True)
class Fixture:
    name: str
    digest: str                          # names the content in the state file's fingerprint
    transactions: list[dict]
    expense_bills: list[dict]
    purchases: list[dict]
    customers: dict[int, dict]           # company id -> GLExportCustomer
    member_vendors: dict[int, dict]      # member id -> GLExportVendor
    company_vendors: dict[int, dict]     # vendor company id -> GLExportVendor
    companies: dict[int, dict]           # company id -> Company record (given or made)

    @property
    def count(self) -> int:
        return len(self.transactions) + len(self.expense_bills) + len(self.purchases)


def read_documents(source: str | Path | dict) -> tuple[str, dict]:
    """(name for messages, the parsed object) of a file path or an already parsed dict."""
    if isinstance(source, dict):
        return "documents", copy.deepcopy(source)
    path = Path(source)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise DocumentsError(f"{path}: cannot read the documents file "
                             f"({exc.strerror or exc})") from exc
    except ValueError as exc:
        raise DocumentsError(f"{path}: not valid JSON ({exc}); a documents file is a JSON "
                             f"object such as {EXAMPLE}") from exc
    if not isinstance(raw, dict):
        raise DocumentsError(f"{path}: expected a JSON object such as {EXAMPLE}, got a "
                             f"{type(raw).__name__}")
    return str(path), raw


def load_documents(source: str | Path | dict, data: "SandboxData") -> Fixture:
    """The checked documents of ``source``; ``data`` holds the seeded kinds and parties."""
    name, raw = read_documents(source)
    problems, found = Problems(name), []
    sections = _sections(raw, problems)
    _documents(problems, sections["transactions"], "transactions", "invoice",
               _invoice_id(data), check_transaction, found)
    _documents(problems, sections["expenseBills"], "expenseBills", "expense bill",
               _bill_id, check_expense_bill, found)
    _documents(problems, sections["purchaseTransactions"], "purchaseTransactions",
               "purchase transaction", _purchase_id(data), check_purchase, found)
    _check_gl_ids(problems, found, data)
    customers = check_parties(problems, list(enumerate(sections["customers"])), "customers",
                              "company", data.has_company)
    member_vendors, company_vendors = check_vendors(problems, sections["vendors"],
                                                    data.has_member, data.has_company)
    companies = check_companies(problems, sections["companies"], data.has_company)
    if problems.items:
        count = len(problems.items)
        raise DocumentsError(problems.items[0] if count == 1 else f"{count} problems in the "
                             f"documents file {name}:\n  " + "\n  ".join(problems.items))
    for doc in sections["purchaseTransactions"]:
        doc.setdefault("purchaseDetailTax", [])
    digest = hashlib.sha256(json.dumps(raw, sort_keys=True).encode()).hexdigest()[:16]
    fixture = Fixture(name, digest, sections["transactions"], sections["expenseBills"],
                      sections["purchaseTransactions"], customers, member_vendors,
                      company_vendors, {})
    fixture.companies.update(_companies(fixture, companies, data))
    return fixture


def _sections(raw: dict, problems: Problems) -> dict[str, list]:
    found: dict[str, list] = {}
    for key, value in raw.items():
        if key in IGNORED or (key in UNSERVED and not value):
            continue
        if key in UNSERVED:
            problems.add(key, "", "the sandbox does not serve this section; leave it out")
        elif key not in SECTIONS:
            close = [HINTS[key]] if key in HINTS else difflib.get_close_matches(key, SECTIONS, 1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            problems.add(key, "", f"unknown section{hint}; the sections are "
                         f"{', '.join(SECTIONS)}")
        elif not isinstance(value, list):
            problems.add(key, "", f"must be a list; got {type(value).__name__}")
        else:
            found[key] = value
    return {section: found.get(section, []) for section in SECTIONS}


def _documents(problems: Problems, items: list, section: str, noun: str,
               check_id: Callable[[Doc, Found], None],
               check: Callable[[Doc, Found], None], found: Found) -> None:
    seen: dict[Any, str] = {}
    for n, body in enumerate(items):
        where = f"{section}[{n}]"
        if not isinstance(body, dict):
            problems.add(where, "", f"must be a JSON object (one {noun}); got "
                         f"{type(body).__name__}")
            continue
        ident = body.get("id")
        if is_int(ident) or (isinstance(ident, str) and ident):
            where += f" ({noun} {ident!r})"
        doc = Doc(problems, where, body)
        hashable = isinstance(ident, (int, str))
        if hashable and ident in seen:
            doc.fail("id", f"{ident!r} is also the id of {seen[ident]}; ids must be unique")
        else:
            check_id(doc, found)
        if hashable:
            seen.setdefault(ident, where)
        check(doc, found)


def _invoice_id(data: "SandboxData") -> Callable[[Doc, Found], None]:
    seeded = data.kinds["invoice"]

    def check(doc: Doc, found: Found) -> None:
        ident = doc.body.get("id")
        index = seeded.index_of(ident) if is_int(ident) else None
        if not is_int(ident) or ident <= 0:
            doc.fail("id", f"must be the invoice id, a whole number above 0; got {ident!r}")
        elif index is not None:
            first = ident - index
            doc.fail("id", f"{ident} is the id of seeded {seeded.describe(index)}; seeded "
                     f"invoices are {first} to {first + seeded.count - 1}, so pick an id "
                     "outside that range")
    return check


def _bill_id(doc: Doc, found: Found) -> None:
    doc.gl_id(doc.body.get("id"), "id", found)      # a bill's id is its own GL entry id


def _purchase_id(data: "SandboxData") -> Callable[[Doc, Found], None]:
    seeded = data.kinds["procurement"]

    def check(doc: Doc, found: Found) -> None:
        ident = doc.body.get("id")
        match = re.fullmatch(r"PO #(\d+), Packing Slip: \d+", ident) \
            if isinstance(ident, str) else None
        index = int(match[1]) - PURCHASE_ORDER_BASE if match else -1
        if not isinstance(ident, str) or not ident.strip():
            doc.fail("id", 'must be the text label of the receipt, such as "PO #9001, Packing '
                     f'Slip: 9001"; got {ident!r}')
        elif 0 <= index < seeded.count and label(index) == ident:
            doc.fail("id", f"is seeded {seeded.describe(index)}; seeded purchase orders are "
                     f"{PURCHASE_ORDER_BASE} to {PURCHASE_ORDER_BASE + seeded.count - 1}, "
                     "so use another PO number")
    return check


def _check_gl_ids(problems: Problems, found: Found, data: "SandboxData") -> None:
    owners: dict[int, str] = {}
    for where, path, gl_id in found:
        seeded = next((kind.describe(index) for kind in data.kinds.values()
                       if (index := kind.gl_block(gl_id)) is not None), None)
        if gl_id in owners:
            problems.add(where, path, f"GL entry id {gl_id} is also used by {owners[gl_id]}; "
                         "every GL entry id must be unique")
        elif seeded:
            problems.add(where, path, f"GL entry id {gl_id} is in the id block of seeded "
                         f"{seeded}; use ids below {INVOICE_GL_BASE:,}, which no seeded "
                         "document uses")
        owners.setdefault(gl_id, f"{where} {path}")


def _companies(fixture: Fixture, given: list[dict], data: "SandboxData") -> dict[int, dict]:
    """Company records: those given, and made ones for the documents' unknown parties."""
    vendors = {p["company"]["id"] for p in fixture.purchases} | set(fixture.company_vendors)
    refs = {d["company"]["id"]: d["company"] for d in fixture.transactions + fixture.purchases}
    out = {c["id"]: fixture_company({"identifier": refs.get(c["id"], {}).get("identifier"),
                                     **c}, c["id"] in vendors) for c in given}
    for doc in fixture.transactions:
        entry = fixture.customers.get(doc["company"]["id"], {})
        _make(out, data, doc["company"], False, accountNumber=entry.get(
            "accountNumber", doc.get("companyAccountNumber")), currency=doc.get("currency"),
            taxCode=doc.get("taxCode"))
    for doc in fixture.purchases:
        entry = fixture.company_vendors.get(doc["company"]["id"], {})
        _make(out, data, doc["company"], True, vendorIdentifier=entry.get(
            "accountNumber", doc.get("vendorAccountNumber")), currency=doc.get("currency"),
            taxCode=doc.get("taxCode"))
    return out


def _make(out: dict[int, dict], data: "SandboxData", ref: dict, vendor: bool,
          **fields: Any) -> None:
    if ref["id"] not in out and not data.has_company(ref["id"]):
        out[ref["id"]] = fixture_company({"id": ref["id"], "name": ref["name"],
                                          "identifier": ref.get("identifier"), **fields},
                                         vendor)
