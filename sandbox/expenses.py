"""Seeded expense bills (GLExportExpenseBill) and their unposted rows
(docs/connectwise-behaviour.md, "Expense bills" and "Unposted expenses").

One bill per member per week. Conventions other code relies on:

* ``detail[].total`` is the **gross** amount claimed, VAT included, and positive;
  ``detail[].taxAmount`` is the VAT inside it (20/120 of a T1 gross, rounded half-up) and
  ``detail[].taxCodeXref`` its code: Mileage and Rail T0 (no VAT), Hotel and Subsistence
  T1; every line of a foreign-currency (EUR) claim is T9 with no reclaimable VAT. The bill
  ``total`` is the sum of its details.
* Non-reimbursable lines (``reimbursable: false``, paid with the company card) and company
  advances (``companyAdvance: true``) are on the bill like the others.
* ``id`` is the bill's own GL entry id; each ``detail[].id`` is a LIST of GL entry ids. To post
  a bill, batch its ``id`` and every id of every detail list
  (docs/connectwise-behaviour.md, "Posting: which GL entry ids to batch").
* The sandbox lists one ``UnpostedExpense`` row per bill, whose ``id`` is the bill ``id`` —
  the value ``includedExpenseIds`` takes — so a client can chunk bills like invoices.
* ``detail[].taxAmount`` and ``detail[].taxCodeXref`` are the sandbox's own: ConnectWise's
  schema gives an expense line no VAT fields (to verify on a UK tenant).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

from sandbox import catalogue as cat
from sandbox.companies import Customer
from sandbox.conventions import (ANCHOR_DATE, EXPENSE_GL_BASE, PROCUREMENT_GL_BASE,
                                 UNMAPPED_EXPENSE, pick_broken, vat_inside)

REASONS = ("missing_vendor_number", "unmapped_gl_account")
STRIDE, MAX_DETAILS = 16, 5
_TYPE_WEIGHTS = {"Mileage": 35, "Rail": 15, "Hotel": 20, "Subsistence": 30}
_LAST_SUNDAY = ANCHOR_DATE - timedelta(days=(ANCHOR_DATE.weekday() + 1) % 7)


@dataclass(frozen=True)
class ExpenseLine:
    kind: str                 # Mileage | Rail | Hotel | Subsistence
    weekday: int              # 0 = Monday of the bill's week
    client: Customer
    gross: int                # pence, VAT included
    xref: str
    account: str
    entries: int              # how many GL entry ids the detail carries (1 or 2)
    billable: bool
    reimbursable: bool
    advance: bool

    @property
    def vat(self) -> int:
        return vat_inside(self.gross) if self.xref == "T1" else 0


@dataclass(frozen=True)
class ExpenseBill:
    index: int
    member: dict              # the generated member record
    week: int                 # weeks before the last Sunday on or before the anchor
    currency: str
    broken: str | None
    lines: list[ExpenseLine]

    @property
    def sunday(self) -> date:
        return _LAST_SUNDAY - timedelta(weeks=self.week)

    @property
    def monday(self) -> date:
        return self.sunday - timedelta(days=6)


class ExpenseBook:
    def __init__(self, seed: int, count: int, members: list[dict], customers: list[Customer],
                 broken_share: float):
        if EXPENSE_GL_BASE + count * STRIDE >= PROCUREMENT_GL_BASE:
            raise ValueError(f"{count} expense bills do not fit the expense GL id range")
        self.seed, self.count = seed, count
        self.broken = pick_broken(seed, "expense", count, broken_share, REASONS)
        self.no_vendor = members[cat.NO_VENDOR_NUMBER_STAFF]
        self.claimants = [m for m in members if m is not self.no_vendor and not m["inactiveFlag"]]
        self.clients = [c for c in customers if c.currency == "GBP"]
        self.irish = [c for c in customers if c.currency == "EUR"]

    def bill_id(self, index: int) -> int:
        return EXPENSE_GL_BASE + index * STRIDE

    def index_of(self, bill_id: object) -> int | None:
        if isinstance(bill_id, bool) or not isinstance(bill_id, int):
            return None
        index, rest = divmod(bill_id - EXPENSE_GL_BASE, STRIDE)
        return index if rest == 0 and 0 <= index < self.count else None

    def gl_block(self, gl_id: int) -> int | None:
        index = (gl_id - EXPENSE_GL_BASE) // STRIDE
        return index if gl_id >= EXPENSE_GL_BASE and index < self.count else None

    def gl_ids(self, index: int) -> list[int]:
        used = 1 + sum(line.entries for line in self.bill(index).lines)
        return list(range(self.bill_id(index), self.bill_id(index) + used))

    def bill(self, index: int) -> ExpenseBill:
        if not 0 <= index < self.count:
            raise IndexError(f"expense bill index {index} out of range")
        rng = random.Random(f"{self.seed}:expense:{index}")
        broken = self.broken.get(index)
        member = self.claimants[rng.randrange(len(self.claimants))]
        if broken == "missing_vendor_number":
            member = self.no_vendor
        code = "EUR" if rng.random() < 0.1 else "GBP"
        lines = [self._line(rng, code) for _ in range(rng.randint(1, MAX_DETAILS))]
        if broken == "unmapped_gl_account":
            first = lines[0]
            lines[0] = ExpenseLine(first.kind, first.weekday, first.client, first.gross,
                                   first.xref, UNMAPPED_EXPENSE, first.entries, first.billable,
                                   first.reimbursable, first.advance)
        return ExpenseBill(index, member, rng.randrange(8), code, broken, lines)

    def _line(self, rng: random.Random, code: str) -> ExpenseLine:
        kinds = [k for k in _TYPE_WEIGHTS if code == "GBP" or k != "Mileage"]
        kind = rng.choices(kinds, [_TYPE_WEIGHTS[k] for k in kinds])[0]
        _, account, xref = cat.EXPENSE_TYPES[kind]
        gross = {"Mileage": lambda: 45 * rng.randint(8, 180),
                 "Rail": lambda: rng.randrange(1200, 16000, 10),
                 "Hotel": lambda: rng.randrange(7900, 18900, 100),
                 "Subsistence": lambda: rng.randrange(450, 3500, 5)}[kind]()
        client = rng.choice(self.irish if code == "EUR" and self.irish else self.clients)
        reimbursable = rng.random() < 0.85
        return ExpenseLine(kind, rng.randrange(5), client, gross,
                           xref if code == "GBP" else "T9", account, rng.choice((1, 1, 2)),
                           rng.random() < 0.5, reimbursable,
                           reimbursable and rng.random() < 0.06)
