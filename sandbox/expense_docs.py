"""Expense bills as ConnectWise writes them, and the expense document kind of the sandbox.

See ``sandbox.expenses`` for the conventions (gross totals, VAT inside, the GL ids to batch:
docs/connectwise-behaviour.md, "Posting: which GL entry ids to batch").
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, Callable

from sandbox import catalogue as cat
from sandbox.companies import company_ref, member_ref
from sandbox.conventions import (AP_CONTROL, EXPENSE_ENTRY_BASE, EXPENSE_NUMBER_BASE,
                                 NO_TAX_LEVELS, OUTSIDE_SCOPE, STANDARD_VAT, BrokenDocument,
                                 currency, money, stamp)
from sandbox.entries import bill_entries
from sandbox.expenses import ExpenseBill, ExpenseBook

Lookup = Callable[[int], dict]
_DETAIL = {"missing_vendor_number": "member {name} has no Vendor Nbr",
           "unmapped_gl_account": "an expense line posts to GL account 7999"}


def document_number(bill: ExpenseBill) -> str:
    return f"{EXPENSE_NUMBER_BASE + bill.index}{bill.member['identifier'].upper()}"


def expense_bill(book: ExpenseBook, index: int, member: Lookup, company: Lookup) -> dict:
    """The ``GLExportExpenseBill`` of bill ``index``."""
    bill = book.bill(index)
    money_ref = currency(bill.currency)
    ids = iter(range(book.bill_id(index) + 1, book.bill_id(index) + 64))
    detail = []
    for line in bill.lines:
        kind_id = cat.EXPENSE_TYPES[line.kind][0]
        detail.append({
            "id": [next(ids) for _ in range(line.entries)],
            "documentDate": stamp(bill.monday + timedelta(days=line.weekday)),
            "glTypeId": "EE", "memo": line.kind, "company": company_ref(company(line.client.id)),
            "accountNumber": line.account,
            "expenseClass": {"id": 1 if line.reimbursable else 2,
                             "name": "Reimbursable" if line.reimbursable else "NonReimbursable"},
            "expenseType": {"id": kind_id, "name": line.kind}, "currency": money_ref,
            "total": money(line.gross), "billable": line.billable,
            "reimbursable": line.reimbursable, "companyAdvance": line.advance,
            "taxCodeXref": line.xref, "taxAmount": money(line.vat)})
    current = member(bill.member["id"])
    return {"id": book.bill_id(index), "documentDate": stamp(bill.sunday),
            "documentType": "GENERAL JOURNAL", "documentNumber": document_number(bill),
            "memo": f"Expenses for {bill.monday.isoformat()} - {bill.sunday.isoformat()}",
            "glClass": "", "apAccountNumber": AP_CONTROL, "member": member_ref(current),
            "vendorNumber": current["vendorNumber"], "currency": money_ref,
            "total": money(sum(line.gross for line in bill.lines)), "detail": detail}


def unposted_row(book: ExpenseBook, index: int, member: Lookup, company: Lookup) -> dict:
    """The ``UnpostedExpense`` summary of a bill (one row per bill, ``id`` = bill id)."""
    bill = book.bill(index)
    first, gross = bill.lines[0], sum(line.gross for line in bill.lines)
    vat = sum(line.vat for line in bill.lines)
    billable = sum(line.gross for line in bill.lines if line.billable)
    current = member(bill.member["id"])
    closed = stamp(bill.sunday + timedelta(days=2), hour=10, minute=index * 13 % 60)
    row = {"id": book.bill_id(index), "locationId": current["defaultLocation"]["id"],
           "departmentId": 1, "company": company_ref(company(first.client.id)),
           "accountNumber": first.account, "creditAccount": AP_CONTROL,
           "expenseDetailId": EXPENSE_ENTRY_BASE + index * 8,
           "expenseType": {"id": cat.EXPENSE_TYPES[first.kind][0], "name": first.kind},
           "classification": "Reimbursable" if any(l.reimbursable for l in bill.lines)
           else "NonReimbursable", "glType": "EE", "member": member_ref(current),
           "dateExpense": stamp(bill.sunday), "inPolicy": True,
           "paymentMethod": {"id": 1, "name": "Employee"}, "currency": currency(bill.currency),
           "total": money(gross), "billableAmount": money(billable),
           "nonBillableAmount": money(gross - billable),
           "taxCode": dict(STANDARD_VAT if bill.currency == "GBP" else OUTSIDE_SCOPE),
           "avalaraTaxFlag": False, "itemTaxableFlag": False, "salesTaxAmount": money(vat),
           "stateTaxFlag": vat > 0, "stateTaxXref": "T1" if vat else "",
           "stateTaxAmount": money(vat)}
    for level in NO_TAX_LEVELS:
        row.update({f"{level}TaxFlag": False, f"{level}TaxXref": "", f"{level}TaxAmount": 0.0})
    row.update({"dateClosed": closed, "_info": {"lastUpdated": closed, "updatedBy": "jbarker"}})
    return row


def vendor_entry(record: dict) -> dict:
    """The ``GLExportVendor`` of a member with expense bills."""
    return member_vendor_entry(member_ref(record), record["vendorNumber"])


def member_vendor_entry(member: dict, vendor_number: str) -> dict:
    """The ``GLExportVendor`` of the member ``member`` (a reference) with that Vendor Nbr."""
    return {"member": dict(member), "vendorNumber": vendor_number,
            "accountNumber": "", "billingTerms": {"id": 2, "name": "Due on receipt"},
            "dueDays": 0, "taxCode": dict(STANDARD_VAT)}


class ExpenseKind:
    """Expense bills: ``expenseBills`` + ``vendors`` (members) of the GLExport."""

    kind, flag, section = "expense", "exportExpensesFlag", "expenseBills"
    included, excluded, id_type = "includedExpenseIds", "excludedExpenseIds", int

    def __init__(self, book: ExpenseBook, member: Lookup, company: Lookup):
        self.book, self.member, self.company = book, member, company
        self.count = book.count
        sample = self.unposted_row(0, "full") if self.count else {}
        self.fields = frozenset(sample) | {"_info"} if sample else frozenset()

    def index_of(self, list_id: Any) -> int | None:
        return self.book.index_of(list_id)

    row_index = index_of

    def gl_block(self, gl_id: int) -> int | None:
        return self.book.gl_block(gl_id)

    def gl_ids(self, index: int) -> list[int]:
        return self.book.gl_ids(index)

    def document(self, index: int) -> dict:
        return expense_bill(self.book, index, self.member, self.company)

    def unposted_row(self, index: int, tier: str) -> dict:
        return unposted_row(self.book, index, self.member, self.company)

    def tier(self, needed: frozenset[str] | None) -> str:
        return "full"

    def document_date(self, index: int) -> date:
        return self.book.bill(index).sunday

    def location(self, index: int) -> int:
        return self.member(self.book.bill(index).member["id"])["defaultLocation"]["id"]

    def parties(self, indexes: list[int]) -> dict[str, list[dict]]:
        ids = sorted({self.book.bill(i).member["id"] for i in indexes})
        return {"vendors": [vendor_entry(self.member(i)) for i in ids]}

    def describe(self, index: int) -> str:
        return (f"expense bill {self.book.bill_id(index)} "
                f"(document {document_number(self.book.bill(index))})")

    def entries(self, index: int) -> list[dict]:
        return bill_entries(self.document(index))

    def broken(self) -> list[BrokenDocument]:
        out = []
        for index, reason in sorted(self.book.broken.items()):
            bill = self.book.bill(index)
            name = f"{bill.member['firstName']} {bill.member['lastName']}"
            out.append(BrokenDocument("expense_bill", self.book.bill_id(index), reason,
                                      _DETAIL[reason].format(name=name)))
        return out
