"""The document kinds of a sandbox with hand-written documents: seeded ones, then the file's.

``CombinedKind`` answers the ``DocumentKind`` questions (see ``sandbox.data``) for indexes
``0 … seeded.count - 1`` from the seeded kind and for the indexes after them from the fixture
documents (``ExtraInvoices``, ``ExtraBills``, ``ExtraPurchases``), so listing, export and
batching treat both alike. A fixture document is served as written, except that a PATCH of its
party's account reference (a company's ``accountNumber`` or ``vendorIdentifier``, a member's
``vendorNumber``) shows in it and in its party entry, as it does in seeded documents.
"""

from __future__ import annotations

import copy
from datetime import date
from typing import TYPE_CHECKING, Any, Callable

from sandbox import expense_docs, invoice_docs, procurement_docs
from sandbox.conventions import STANDARD_VAT
from sandbox.entries import (bill_entries, expense_bill_gl_ids, invoice_entries, invoice_gl_ids,
                             purchase_entries, purchase_gl_ids)
from sandbox.fixture_rows import bill_row, invoice_location, invoice_row, purchase_row
from sandbox.fixtures import Fixture

if TYPE_CHECKING:
    from sandbox.data import SandboxData


class _Extras:
    """Fixture documents of one kind, at indexes ``base`` … ``base + count - 1``."""

    gl_of: Callable[[dict], list[int]]

    def __init__(self, docs: list[dict], base: int, data: "SandboxData", fixture: Fixture):
        self.docs, self.base, self.data, self.fixture = docs, base, data, fixture
        self.count = len(docs)
        self.by_id = {doc["id"]: base + n for n, doc in enumerate(docs)}
        self.by_gl = {gl: base + n for n, doc in enumerate(docs) for gl in self.gl_of(doc)}
        sample = self.unposted_row(base, "full") if docs else {}
        self.fields = frozenset(sample) | {"_info"} if sample else frozenset()

    def raw(self, index: int) -> dict:
        return self.docs[index - self.base]

    def index_of(self, list_id: Any) -> int | None:
        return self.by_id.get(list_id) if not isinstance(list_id, (bool, float)) else None

    row_index = index_of

    def gl_block(self, gl_id: int) -> int | None:
        return self.by_gl.get(gl_id)

    def gl_ids(self, index: int) -> list[int]:
        return self.gl_of(self.raw(index))

    def document_date(self, index: int) -> date:
        return date.fromisoformat(str(self.raw(index)["documentDate"])[:10])

    def patched(self, kind: str, key: int, name: str) -> Any:
        """The PATCHed value of a company's or member's field, or None if never PATCHed."""
        return self.data.edits.get(kind, {}).get(key, {}).get(name)

    def broken(self) -> list:
        return []


class ExtraInvoices(_Extras):
    gl_of = staticmethod(invoice_gl_ids)

    def document(self, index: int) -> dict:
        doc = copy.deepcopy(self.raw(index))
        account = self.patched("company", doc["company"]["id"], "accountNumber")
        if account is not None:
            doc["companyAccountNumber"] = account
        return doc

    def unposted_row(self, index: int, tier: str) -> dict:
        return invoice_row(self.document(index), index)

    def location(self, index: int) -> int:
        return invoice_location(self.raw(index))

    def describe(self, index: int) -> str:
        doc = self.raw(index)
        return f"invoice {doc['id']} (document {doc['documentNumber']})"

    def entries(self, index: int) -> list[dict]:
        return invoice_entries(self.document(index))

    def parties(self, indexes: list[int]) -> dict[str, list[dict]]:
        return {"customers": [self._customer(self.raw(i)) for i in indexes]}

    def _customer(self, doc: dict) -> dict:
        key = doc["company"]["id"]
        given = self.fixture.customers.get(key)
        if given is not None:
            account = self.patched("company", key, "accountNumber")
            return given if account is None else {**given, "accountNumber": account}
        customer = self.data.seeded_customer(key)
        if customer is not None:
            return invoice_docs.customer_entry(customer, self.data.company(key))
        return invoice_docs.client_entry(self.data.company(key), bool(doc.get("taxable", True)))


class ExtraBills(_Extras):
    gl_of = staticmethod(expense_bill_gl_ids)

    def document(self, index: int) -> dict:
        bill = copy.deepcopy(self.raw(index))
        number = self.patched("member", bill["member"]["id"], "vendorNumber")
        if number is not None:
            bill["vendorNumber"] = number
        return bill

    def unposted_row(self, index: int, tier: str) -> dict:
        return bill_row(self.document(index), index, self.location(index))

    def location(self, index: int) -> int:
        key = self.raw(index)["member"]["id"]
        return self.data.member(key)["defaultLocation"]["id"] if self.data.has_member(key) \
            else 1

    def describe(self, index: int) -> str:
        bill = self.raw(index)
        return f"expense bill {bill['id']} (document {bill['documentNumber']})"

    def entries(self, index: int) -> list[dict]:
        return bill_entries(self.document(index))

    def parties(self, indexes: list[int]) -> dict[str, list[dict]]:
        return {"vendors": [self._vendor(self.document(i)) for i in indexes]}

    def _vendor(self, bill: dict) -> dict:
        key = bill["member"]["id"]
        given = self.fixture.member_vendors.get(key)
        if given is not None:
            number = self.patched("member", key, "vendorNumber")
            return given if number is None else {**given, "vendorNumber": number}
        if self.data.has_member(key):
            return expense_docs.vendor_entry(self.data.member(key))
        return expense_docs.member_vendor_entry(bill["member"], bill.get("vendorNumber", ""))


class ExtraPurchases(_Extras):
    gl_of = staticmethod(purchase_gl_ids)

    def index_of(self, list_id: Any) -> int | None:
        """``includedProductIds`` name a purchase by its row id, as text."""
        return procurement_docs.row_index(list_id, self.base, self.count)

    def row_index(self, row: int) -> int | None:
        return procurement_docs.row_index(str(row), self.base, self.count)

    def document(self, index: int) -> dict:
        doc = copy.deepcopy(self.raw(index))
        account = self.patched("company", doc["company"]["id"], "vendorIdentifier")
        if account is not None:
            for part in [doc] + doc["purchaseDetail"] + doc["purchaseDetailTax"]:
                if "vendorAccountNumber" in part or part is doc:
                    part["vendorAccountNumber"] = account
        return doc

    def unposted_row(self, index: int, tier: str) -> dict:
        return purchase_row(self.document(index), index)

    def location(self, index: int) -> int:
        return 1

    def describe(self, index: int) -> str:
        return f"purchase transaction {self.raw(index)['id']!r}"

    def entries(self, index: int) -> list[dict]:
        doc = self.document(index)
        return purchase_entries(doc, purchase_row(doc, index)["purchaseOrder"]["id"])

    def parties(self, indexes: list[int]) -> dict[str, list[dict]]:
        return {"vendors": [self._vendor(self.raw(i)["company"]["id"]) for i in indexes]}

    def _vendor(self, key: int) -> dict:
        given = self.fixture.company_vendors.get(key)
        if given is None:
            record = self.data.company(key)
            return procurement_docs.vendor_entry({**record, "taxCode": record.get(
                "taxCode") or dict(STANDARD_VAT)})
        account = self.patched("company", key, "vendorIdentifier")
        return given if account is None else {**given, "accountNumber": account}


def party_key(entry: dict) -> tuple[str, int]:
    if "member" in entry:
        return "member", entry["member"]["id"]
    return "company", (entry.get("vendor") or entry.get("company"))["id"]


class CombinedKind:
    """A seeded document kind followed by the fixture documents of the same kind."""

    def __init__(self, seeded: Any, extra: _Extras):
        self.seeded, self.extra = seeded, extra
        for name in ("kind", "flag", "section", "included", "excluded", "id_type"):
            setattr(self, name, getattr(seeded, name))
        self.count = seeded.count + extra.count
        self.fields = seeded.fields | extra.fields

    def _part(self, index: int) -> Any:
        return self.seeded if index < self.seeded.count else self.extra

    def index_of(self, list_id: Any) -> int | None:
        found = self.seeded.index_of(list_id)
        return found if found is not None else self.extra.index_of(list_id)

    def row_index(self, row_id: int) -> int | None:
        found = self.seeded.row_index(row_id)
        return found if found is not None else self.extra.row_index(row_id)

    def gl_block(self, gl_id: int) -> int | None:
        found = self.seeded.gl_block(gl_id)
        return found if found is not None else self.extra.gl_block(gl_id)

    def gl_ids(self, index: int) -> list[int]:
        return self._part(index).gl_ids(index)

    def document(self, index: int) -> dict:
        return self._part(index).document(index)

    def unposted_row(self, index: int, tier: str) -> dict:
        return self._part(index).unposted_row(index, tier)

    def tier(self, needed: frozenset[str] | None) -> str:
        return self.seeded.tier(needed)

    def document_date(self, index: int) -> date:
        return self._part(index).document_date(index)

    def location(self, index: int) -> int:
        return self._part(index).location(index)

    def describe(self, index: int) -> str:
        return self._part(index).describe(index)

    def entries(self, index: int) -> list[dict]:
        return self._part(index).entries(index)

    def parties(self, indexes: list[int]) -> dict[str, list[dict]]:
        """The party entries of both parts, one per party, in party id order."""
        split = self.seeded.count
        merged: dict[str, dict[tuple[str, int], dict]] = {}
        for part, chosen in ((self.seeded, [i for i in indexes if i < split]),
                             (self.extra, [i for i in indexes if i >= split])):
            for section, entries in (part.parties(chosen) if chosen else {}).items():
                bucket = merged.setdefault(section, {})
                for entry in entries:
                    bucket.setdefault(party_key(entry), entry)
        return {section: [bucket[key] for key in sorted(bucket)]
                for section, bucket in merged.items()}

    def broken(self) -> list:
        return self.seeded.broken()


def combine(data: "SandboxData", fixture: Fixture) -> dict[str, Any]:
    """The kinds of ``data`` with the fixture's documents after the seeded ones."""
    kinds = data.kinds
    extras = {"invoice": ExtraInvoices(fixture.transactions, kinds["invoice"].count, data,
                                       fixture),
              "expense": ExtraBills(fixture.expense_bills, kinds["expense"].count, data,
                                    fixture),
              "procurement": ExtraPurchases(fixture.purchases, kinds["procurement"].count,
                                            data, fixture)}
    return {name: CombinedKind(kind, extras[name]) for name, kind in kinds.items()}
