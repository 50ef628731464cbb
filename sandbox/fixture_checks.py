"""Checks of the hand-written documents of ``--documents``: one function per document kind,
and the party sections (customers, vendors, companies).

Each problem names the file, the document and the field, and says what would be right, e.g.
``extra.json: transactions[0] (invoice 9001): total: the detail totals sum to -240.00, so the
header total must be 240.00 (lines plus header sum to zero); got 200.00``. The sandbox
relies only on the fields checked here; everything else in a document is served as written.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, Callable, Iterable

CENT = Decimal("0.01")
DOCUMENT_TYPES = ("INVOICE", "CREDITMEMO")


@dataclass
class Problems:
    """The problems found in one documents file (``name``), in the order found."""

    name: str
    items: list[str] = field(default_factory=list)

    def add(self, where: str, path: str, message: str) -> None:
        self.items.append(f"{self.name}: {where}: {path + ': ' if path else ''}{message}")


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def amount(value: Any) -> Decimal | None:
    """A JSON number with at most 2 decimals as a Decimal; None if it is not one."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or (isinstance(value, float) and not math.isfinite(value)):
        return None
    number = Decimal(str(value))
    return number if number == number.quantize(CENT) else None


@dataclass
class Doc:
    """One document under check: where it is, for messages, and the problems so far."""

    problems: Problems
    where: str
    body: dict
    ok: bool = True

    def fail(self, path: str, message: str) -> None:
        self.ok = False
        self.problems.add(self.where, path, message)

    def text(self, name: str, choices: Iterable[str] = ()) -> str | None:
        value = self.body.get(name)
        choices = tuple(choices)
        if not isinstance(value, str) or not value.strip():
            self.fail(name, f"must be non-empty text; got {value!r}")
        elif choices and value.upper() not in choices:
            self.fail(name, f"must be one of {', '.join(choices)}; got {value!r}")
        else:
            return value
        return None

    def day(self, name: str) -> None:
        value = self.body.get(name)
        try:
            date.fromisoformat(str(value)[:10])
        except ValueError:
            self.fail(name, f"must be a date such as 2026-10-20T00:00:00Z; got {value!r}")

    def ref(self, name: str, needs_name: bool = True) -> int | None:
        value = self.body.get(name)
        if not isinstance(value, dict) or not is_int(value.get("id")) \
                or (needs_name and not isinstance(value.get("name"), str)):
            shape = '{"id": 1201, "name": "…"}' if needs_name else '{"id": 1201}'
            self.fail(name, f"must be a reference such as {shape}; got {value!r}")
            return None
        return value["id"]

    def money(self, body: dict, path: str) -> Decimal | None:
        value = body.get(path.rsplit(".", 1)[-1])
        number = amount(value)
        if number is None:
            self.fail(path, f"must be a number with at most 2 decimals; got {value!r}")
        return number

    def lines(self, name: str, required: bool = True) -> list[dict] | None:
        """The list of line objects ``name``; None (and a problem) if it is not one."""
        value = self.body.get(name, None if required else [])
        if not isinstance(value, list) or (required and not value) \
                or not all(isinstance(v, dict) for v in value):
            need = "a non-empty list" if required else "a list"
            self.fail(name, f"must be {need} of line objects; got {value!r}"[:200])
            return None
        return value

    def gl_id(self, value: Any, path: str, found: list[tuple[str, str, int]]) -> None:
        if not is_int(value) or not 0 < value < 2**31:
            self.fail(path, f"must be a GL entry id, a whole number above 0; got {value!r}")
        else:
            found.append((self.where, path, value))

    def balance(self, parts: list[Decimal | None], header: Decimal | None, path: str,
                what: str) -> None:
        """``sum(parts) + header == 0`` (``what`` names the parts for the message)."""
        if header is None or None in parts:
            return
        total = sum(parts, Decimal(0))
        if total + header:
            self.fail(path, f"{what} sum to {total:.2f}, so the header total must be "
                      f"{-total:.2f} (lines plus header sum to zero); got {header:.2f}")


def check_transaction(doc: Doc, found: list[tuple[str, str, int]]) -> None:
    """A ``GLExportTransaction`` (invoice or credit memo)."""
    doc.text("documentNumber")
    doc.text("documentType", DOCUMENT_TYPES)
    doc.day("documentDate")
    doc.ref("company")
    header = doc.money(doc.body, "total")
    ids = doc.body.get("glEntryIds")
    parts = ids.split(",") if isinstance(ids, str) else []
    if not parts or not all(p.strip().isdigit() for p in parts):
        doc.fail("glEntryIds", f"must be comma-separated GL entry ids such as "
                 f"\"90001,90002\"; got {ids!r}")
        parts = []
    for part in parts:
        doc.gl_id(int(part), "glEntryIds", found)
    lines = doc.lines("detail")
    totals = [None] if lines is None else []
    for n, line in enumerate(lines or []):
        doc.gl_id(line.get("id"), f"detail[{n}].id", found)
        if not isinstance(line.get("glTypeId"), str):
            doc.fail(f"detail[{n}].glTypeId", "must be RP (a sales line) or ST (sales tax)")
        totals.append(doc.money(line, f"detail[{n}].total"))
    doc.balance(totals, header, "total", "the detail totals")


def check_expense_bill(doc: Doc, found: list[tuple[str, str, int]]) -> None:
    """A ``GLExportExpenseBill``: its ``id`` is a GL entry id too."""
    doc.text("documentNumber")
    doc.day("documentDate")
    doc.ref("member")
    header = doc.money(doc.body, "total")
    lines = doc.lines("detail")
    totals = [None] if lines is None else []
    for n, line in enumerate(lines or []):
        ids = line.get("id")
        if not isinstance(ids, list) or not ids:
            doc.fail(f"detail[{n}].id", f"must be a non-empty list of GL entry ids; got {ids!r}")
        for k, gl_id in enumerate(ids if isinstance(ids, list) else []):
            doc.gl_id(gl_id, f"detail[{n}].id[{k}]", found)
        totals.append(doc.money(line, f"detail[{n}].total"))
    if header is not None and None not in totals and sum(totals, Decimal(0)) != header:
        doc.fail("total", f"the detail totals sum to {sum(totals, Decimal(0)):.2f}, and a "
                 f"bill's total is the sum of its details; got {header:.2f}")


def check_purchase(doc: Doc, found: list[tuple[str, str, int]]) -> None:
    """A ``GLExportPurchaseTransaction`` (its ``id`` is text, checked by the caller)."""
    doc.text("documentNumber")
    doc.day("documentDate")
    doc.ref("company")
    header = doc.money(doc.body, "total")
    totals: list[Decimal | None] = []
    for name, required in (("purchaseDetail", True), ("purchaseDetailTax", False)):
        lines = doc.lines(name, required)
        totals += [None] if lines is None else []
        for n, line in enumerate(lines or []):
            doc.gl_id(line.get("id"), f"{name}[{n}].id", found)
            totals.append(doc.money(line, f"{name}[{n}].total"))
    doc.balance(totals, header, "total", "the purchaseDetail and purchaseDetailTax totals")


def check_parties(problems: Problems, items: list[tuple[int, Any]], section: str, ref: str,
                  seeded: Callable[[int], bool]) -> dict[int, dict]:
    """{party id: entry} of the (position, entry) pairs of one kind of party."""
    out: dict[int, dict] = {}
    for n, body in items:
        if not isinstance(body, dict):
            problems.add(f"{section}[{n}]", "", f"must be an object; got {type(body).__name__}")
            continue
        doc = Doc(problems, f"{section}[{n}]", body)
        key = doc.ref(ref, needs_name=False)
        if key is None:
            continue
        if key in out:
            doc.fail(f"{ref}.id", f"{key} has another entry in {section}; give one per party")
        elif seeded(key):
            doc.fail(f"{ref}.id", f"{key} is a seeded {ref}, whose entry the sandbox writes; "
                     "leave it out (PATCH the seeded record to change it)")
        else:
            out[key] = body
    return out


def check_vendors(problems: Problems, items: list, is_member: Callable[[int], bool],
                  is_company: Callable[[int], bool]) -> tuple[dict, dict]:
    """Expense claimants (entries with ``member``) and supplier companies (``vendor``, or
    ``company`` alone, which is then also written as ``vendor``)."""
    members, companies = [], []
    for n, body in enumerate(items):
        if isinstance(body, dict) and "member" in body:
            members.append((n, body))
        else:
            if isinstance(body, dict) and "vendor" not in body and "company" in body:
                body["vendor"] = body["company"]
            companies.append((n, body))
    return (check_parties(problems, members, "vendors", "member", is_member),
            check_parties(problems, companies, "vendors", "vendor", is_company))


def check_companies(problems: Problems, items: list,
                    is_company: Callable[[int], bool]) -> list[dict]:
    """The ``companies`` records, each with a new id and a name."""
    given: dict[int, dict] = {}
    for n, body in enumerate(items):
        doc = Doc(problems, f"companies[{n}]", body if isinstance(body, dict) else {})
        ident = doc.body.get("id")
        doc.text("name")
        if not is_int(ident) or ident <= 0:
            doc.fail("id", f"must be the company id, a whole number above 0; got {ident!r}")
        elif ident in given or is_company(ident):
            owner = "a seeded company; PATCH it instead" if is_company(ident) else \
                "another entry in companies"
            doc.fail("id", f"{ident} is {owner}")
        elif doc.ok:
            given[ident] = body
    return list(given.values())
