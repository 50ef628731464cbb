"""The seeded data of the sandbox: a realistic UK managed-service provider.

``SandboxData`` ties the generators together: the parties (client and vendor companies,
members), and one *document kind* per accounting tab — invoices, expense bills, purchase
transactions. Each kind answers the same questions (ids, GL ids, the GLExport document, the
unposted summary row, dates, location), so the export and batch logic is written once.

The same options always give the same documents; see ``sandbox.conventions`` for the data
conventions and ``broken_documents`` for the documents a correct pipeline must quarantine.
``documents=`` adds hand-written documents after the seeded ones (``sandbox.fixtures``), and
invoices carry the edits of ``PATCH /finance/invoices/{id}`` (``sandbox.repricing``).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any, Protocol

from sandbox import invoice_docs
from sandbox.companies import Customer, build_customers, build_members, build_vendors, overlay
from sandbox.conventions import BrokenDocument, day
from sandbox.entries import invoice_entries
from sandbox.expense_docs import ExpenseKind
from sandbox.expenses import ExpenseBook
from sandbox.fixture_kinds import combine
from sandbox.fixtures import Fixture, load_documents
from sandbox.invoices import InvoiceBook
from sandbox.procurement import ProcurementBook
from sandbox.procurement_docs import ProcurementKind
from sandbox.repricing import EditedInvoices

DEFAULTS = {"seed": 7, "invoices": 120, "expenses": 40, "procurement": 30,
            "broken_share": 0.08, "lines_per_invoice": 4}
_BROKEN_DETAIL = {
    "missing_account_number": "customer {name} has no Account Number",
    "unmapped_tax_code": "a product line has tax code cross-reference RC20",
    "unmapped_gl_account": "a product line posts to GL account 4070",
}


class DocumentKind(Protocol):
    """One accounting tab of ConnectWise, as the export and batch logic sees it."""

    kind: str              # invoice | expense | procurement
    flag: str              # the export flag that selects it
    section: str           # the GLExport array holding its documents
    included: str          # the include/exclude id lists of the export request
    excluded: str
    id_type: type           # type of the ids in the include/exclude lists
    count: int
    fields: frozenset[str]

    def index_of(self, list_id: Any) -> int | None: ...
    def row_index(self, row_id: int) -> int | None: ...
    def gl_block(self, gl_id: int) -> int | None: ...
    def gl_ids(self, index: int) -> list[int]: ...
    def document(self, index: int) -> dict: ...
    def unposted_row(self, index: int, tier: str) -> dict: ...
    def tier(self, needed: frozenset[str] | None) -> str: ...
    def document_date(self, index: int) -> date: ...
    def location(self, index: int) -> int: ...
    def parties(self, indexes: list[int]) -> dict[str, list[dict]]: ...
    def describe(self, index: int) -> str: ...
    def entries(self, index: int) -> list[dict]: ...


class InvoiceKind:
    """Invoices and credit memos: ``transactions`` + ``customers`` of the GLExport."""

    kind, flag, section = "invoice", "exportInvoicesFlag", "transactions"
    included, excluded, id_type = "includedInvoiceIds", "excludedInvoiceIds", int

    def __init__(self, data: "SandboxData"):
        self.data, self.book = data, data.invoice_book
        self.count = self.book.count
        sample = invoice_docs.unposted_row(self.book, 0, data.company, "full") if self.count \
            else {}
        self.fields = frozenset(sample) | {"_info"} if sample else frozenset()

    def index_of(self, list_id: Any) -> int | None:
        return self.book.index_of(list_id)

    def row_index(self, row_id: int) -> int | None:
        return self.book.index_of(row_id)

    def gl_block(self, gl_id: int) -> int | None:
        return self.book.gl_block(gl_id)

    def gl_ids(self, index: int) -> list[int]:
        return self.book.gl_ids(index)

    def document(self, index: int) -> dict:
        return invoice_docs.transaction(self.book, index, self.data.company)

    def unposted_row(self, index: int, tier: str) -> dict:
        return invoice_docs.unposted_row(self.book, index, self.data.company, tier)

    def tier(self, needed: frozenset[str] | None) -> str:
        if needed is None or needed & invoice_docs.FULL_FIELDS:
            return "full"
        return "id" if needed <= {"id"} else "header"

    def document_date(self, index: int) -> date:
        return day(self.book.header(index).offset)

    def location(self, index: int) -> int:
        return self.book.header(index).location

    def parties(self, indexes: list[int]) -> dict[str, list[dict]]:
        customers: dict[int, Customer] = {}
        for index in indexes:
            customer = self.book.header(index).customer
            customers[customer.id] = customer
        return {"customers": [invoice_docs.customer_entry(c, self.data.company(c.id))
                              for _, c in sorted(customers.items())]}

    def describe(self, index: int) -> str:
        return (f"invoice {self.book.doc_id(index)} "
                f"(document {invoice_docs.document_number(index)})")

    def entries(self, index: int) -> list[dict]:
        return invoice_entries(self.document(index))

    def broken(self) -> list[BrokenDocument]:
        out = []
        for index, reason in sorted(self.book.broken.items()):
            name = self.book.header(index).customer.record["name"]
            out.append(BrokenDocument("invoice", self.book.doc_id(index), reason,
                                      _BROKEN_DETAIL[reason].format(name=name)))
        return out


class SandboxData:
    """All data of one sandbox. ``edits`` are the PATCHes laid over the records."""

    def __init__(self, seed: int = 7, invoices: int = 120, expenses: int = 40,
                 procurement: int = 30, broken_share: float = 0.08,
                 lines_per_invoice: int = 4, documents: str | Path | dict | None = None):
        for name, value in (("invoices", invoices), ("expenses", expenses),
                            ("procurement", procurement)):
            if value < 0:
                raise ValueError(f"{name} must be 0 or more, got {value}")
        if not 0 <= broken_share <= 1:
            raise ValueError(f"broken_share must be between 0 and 1, got {broken_share}")
        self.options = {"seed": seed, "invoices": invoices, "expenses": expenses,
                        "procurement": procurement, "broken_share": broken_share,
                        "lines_per_invoice": lines_per_invoice}
        self.edits: dict[str, dict[int, dict]] = {"company": {}, "member": {}, "invoice": {}}
        self.customers = build_customers(seed, max(40, invoices // 25))
        self.vendors = build_vendors(seed)
        self.members = build_members(seed)
        self._companies = {c.id: c.record for c in self.customers}
        self._companies.update((v["id"], v) for v in self.vendors)
        self._members = {m["id"]: m for m in self.members}
        self._customers = {c.id: c for c in self.customers}
        self.invoice_book = InvoiceBook(seed, invoices, self.customers, broken_share,
                                        lines_per_invoice)
        self.expense_book = ExpenseBook(seed, expenses, self.members, self.customers,
                                        broken_share)
        self.procurement_book = ProcurementBook(seed, procurement, self.vendors, broken_share)
        self.kinds: dict[str, DocumentKind] = {
            "invoice": InvoiceKind(self),
            "expense": ExpenseKind(self.expense_book, self.member, self.company),
            "procurement": ProcurementKind(self.procurement_book, self.company)}
        self.fixture: Fixture | None = None
        if documents is not None:
            self._add_documents(documents)
        self.kinds["invoice"] = EditedInvoices(self.kinds["invoice"],
                                               lambda: self.edits.get("invoice", {}))

    def _add_documents(self, documents: str | Path | dict) -> None:
        """Serve the hand-written documents of ``documents`` after the seeded ones."""
        self.fixture = load_documents(documents, self)
        self.options["documents"] = self.fixture.digest
        self._companies.update(self.fixture.companies)
        self.kinds = combine(self, self.fixture)

    @property
    def counts(self) -> dict[str, int]:
        return {kind: k.count for kind, k in self.kinds.items()}

    def company(self, company_id: int) -> dict:
        """The current company record (generated record + PATCH edits)."""
        return overlay(self._companies[company_id], self.edits["company"].get(company_id))

    def seeded_customer(self, company_id: int) -> Customer | None:
        return self._customers.get(company_id)

    def has_company(self, company_id: Any) -> bool:
        return company_id in self._companies

    def company_ids(self) -> list[int]:
        return sorted(self._companies)

    def member(self, member_id: int) -> dict:
        return overlay(self._members[member_id], self.edits["member"].get(member_id))

    def has_member(self, member_id: Any) -> bool:
        return member_id in self._members

    def member_ids(self) -> list[int]:
        return sorted(self._members)

    def broken_documents(self) -> list[BrokenDocument]:
        """Every generated document a correct pipeline must quarantine, with the reason.

        This describes the documents as generated: a PATCH that fixes the master data (say,
        gives Angry Fox Cycles Ltd an Account Number) makes them valid without removing
        them from this list.
        """
        return [doc for kind in self.kinds.values() for doc in kind.broken()]


def broken_documents(**options: Any) -> list[BrokenDocument]:
    """``SandboxData(**options).broken_documents()`` — e.g. ``broken_documents(seed=7)``."""
    return SandboxData(**{**DEFAULTS, **options}).broken_documents()
