"""Seeded invoices and credit memos, generated on demand from (seed, index).

Nothing per document is stored: ``document(index)`` replays ``random.Random(f"{seed}:invoice:
{index}")`` — the header draws first, then the lines — so any document can be rebuilt in
microseconds and the same seed always yields the same documents. Only the money totals are
memoised, in compact arrays, because list filters and ``/count`` may need them for every
document.

Each document owns a fixed block of ``stride`` GL entry ids starting at
``INVOICE_GL_BASE + index * stride``: first its 2–3 header ids (``glEntryIds``), then one id
per detail line, the sales-tax (ST) line last.
"""

from __future__ import annotations

import random
from array import array
from dataclasses import dataclass

from sandbox import catalogue as cat
from sandbox.companies import Customer
from sandbox.conventions import (DISBURSEMENTS, EXPENSE_GL_BASE, HISTORY_DAYS, INVOICE_GL_BASE,
                                 INVOICE_ID_BASE, SALES_AGREEMENTS, SALES_LABOUR,
                                 SALES_PRODUCTS, TIME_ENTRY_BASE, UNMAPPED_SALES,
                                 UNMAPPED_TAX_XREF, pick_broken, vat_half_up)

REASONS = ("missing_account_number", "unmapped_tax_code", "unmapped_gl_account")
CREDIT_MEMO_SHARE, AGREEMENT_SHARE = 0.05, 0.35


@dataclass(frozen=True)
class Header:
    index: int
    customer: Customer
    offset: int               # days before the anchor date
    billing_type: str         # Standard | Agreement | CreditMemo
    location: int
    rep: int                  # index into catalogue.STAFF
    broken: str | None
    header_ids: int           # how many header GL entry ids (2 or 3)

    @property
    def credit(self) -> bool:
        return self.billing_type == "CreditMemo"


@dataclass(frozen=True)
class Line:
    kind: str                 # product | agreement | labour | disbursement
    ref: int                  # index into the catalogue table of its kind
    qty: int                  # tenths of a unit, always positive (the sign is the document's)
    price: int                # pence per unit
    xref: str
    account: str
    entry: int = 0            # time entry id of a labour line

    @property
    def net(self) -> int:
        return self.qty * self.price // 10


@dataclass(frozen=True)
class Totals:
    net: int                  # unsigned pence: sum of line nets
    taxable: int              # the T1 part of ``net``
    vat: int
    has_time: bool
    has_products: bool


class InvoiceBook:
    """The invoice documents of one sandbox: ids, headers, lines, totals and GL ids."""

    def __init__(self, seed: int, count: int, customers: list[Customer], broken_share: float,
                 lines_per_invoice: int = 4):
        if lines_per_invoice < 1:
            raise ValueError("lines_per_invoice must be at least 1")
        self.seed, self.count, self.mean_lines = seed, count, lines_per_invoice
        self.max_lines = 2 * lines_per_invoice
        self.stride = (self.max_lines + 4 + 9) // 10 * 10
        if INVOICE_GL_BASE + count * self.stride >= EXPENSE_GL_BASE:
            raise ValueError(f"{count} invoices of up to {self.max_lines} lines do not fit the "
                             "invoice GL id range; lower invoices or lines_per_invoice")
        self.broken = pick_broken(seed, "invoice", count, broken_share, REASONS)
        self.angry_fox = next(c for c in customers if c.record["name"] == cat.ANGRY_FOX)
        self.billable = [c for c in customers if c is not self.angry_fox]
        self._net = array("q", [0]) * count
        self._taxable = array("q", [0]) * count
        self._flags = bytearray(count)     # bit 0 known, bit 1 has time, bit 2 has products

    # -- ids ------------------------------------------------------------------------------
    def doc_id(self, index: int) -> int:
        return INVOICE_ID_BASE + index

    def index_of(self, doc_id: object) -> int | None:
        if isinstance(doc_id, bool) or not isinstance(doc_id, int):
            return None
        index = doc_id - INVOICE_ID_BASE
        return index if 0 <= index < self.count else None

    def gl_block(self, gl_id: int) -> int | None:
        """The document whose block of GL ids holds ``gl_id`` (it may not use that id)."""
        index = (gl_id - INVOICE_GL_BASE) // self.stride
        return index if gl_id >= INVOICE_GL_BASE and index < self.count else None

    def gl_ids(self, index: int) -> list[int]:
        header, lines = self.document(index)
        base = self.gl_base(index)
        count = header.header_ids + len(lines) + (1 if self.remember(index, lines).vat else 0)
        return list(range(base, base + count))

    # -- generation -----------------------------------------------------------------------
    def header(self, index: int) -> Header:
        return self._draw_header(self._rng(index), index)

    def document(self, index: int) -> tuple[Header, list[Line]]:
        rng = self._rng(index)
        header = self._draw_header(rng, index)
        return header, self._draw_lines(rng, header)

    def gl_base(self, index: int) -> int:
        return INVOICE_GL_BASE + index * self.stride

    def totals(self, index: int) -> Totals:
        flags = self._flags[index]
        if not flags & 1:
            return self.remember(index, self.document(index)[1])
        taxable = self._taxable[index]
        return Totals(self._net[index], taxable, vat_half_up(taxable), bool(flags & 2),
                      bool(flags & 4))

    def remember(self, index: int, lines: list[Line]) -> Totals:
        """The totals of a document's lines, memoised for ``totals``."""
        net = sum(line.net for line in lines)
        taxable = sum(line.net for line in lines if line.xref == "T1")
        has_time = any(line.kind == "labour" for line in lines)
        has_products = any(line.kind == "product" for line in lines)
        self._net[index], self._taxable[index] = net, taxable
        self._flags[index] = 1 | (2 if has_time else 0) | (4 if has_products else 0)
        return Totals(net, taxable, vat_half_up(taxable), has_time, has_products)

    def _rng(self, index: int) -> random.Random:
        if not 0 <= index < self.count:
            raise IndexError(f"invoice index {index} out of range 0..{self.count - 1}")
        return random.Random(f"{self.seed}:invoice:{index}")

    def _draw_header(self, rng: random.Random, index: int) -> Header:
        broken = self.broken.get(index)
        customer = self.billable[rng.randrange(len(self.billable))]
        if broken == "missing_account_number":
            customer = self.angry_fox
        offset = rng.randrange(HISTORY_DAYS)
        roll = rng.random()
        kind = ("CreditMemo" if roll < CREDIT_MEMO_SHARE else
                "Agreement" if roll < CREDIT_MEMO_SHARE + AGREEMENT_SHARE else "Standard")
        if broken in REASONS[1:] and kind == "Agreement":
            kind = "Standard"         # the broken line is a product line
        location = 1 if rng.random() < 0.75 else 2
        return Header(index, customer, offset, kind, location, rng.choice(cat.SALES_REPS),
                      broken, rng.choice((2, 3)))

    def _line_count(self, rng: random.Random, header: Header) -> int:
        mode = max(1, self.mean_lines - 1)
        count = round(rng.triangular(1, self.max_lines, mode))
        if header.credit:
            count = min(count, 3)
        return max(1, min(self.max_lines, count))

    def _draw_lines(self, rng: random.Random, header: Header) -> list[Line]:
        lines = []
        for position in range(self._line_count(rng, header)):
            if position == 0 and header.billing_type == "Agreement":
                lines.append(self._agreement(header))
            elif position == 0 and header.broken in REASONS[1:]:
                lines.append(_break(_product(rng, header), header.broken))
            else:
                lines.append(self._any_line(rng, header, position))
        return lines

    def _any_line(self, rng: random.Random, header: Header, position: int) -> Line:
        roll = rng.random()
        if header.billing_type == "Standard" and roll < 0.10:
            return _disbursement(rng)
        if roll < 0.55:
            return _product(rng, header)
        entry = TIME_ENTRY_BASE + header.index * self.max_lines + position
        return _labour(rng, header, entry)

    def _agreement(self, header: Header) -> Line:
        customer = header.customer
        return Line("agreement", cat.AGREEMENTS.index(customer.agreement), 10,
                    customer.monthly_fee, customer.tax_xref, SALES_AGREEMENTS)


def _product(rng: random.Random, header: Header) -> Line:
    ref = rng.randrange(len(cat.PRODUCTS))
    sku, _, _, _, price, xref = cat.PRODUCTS[ref]
    most = 40 if sku.startswith("LIC-") else 20 if sku.startswith("CAB-") else 4
    xref = xref if header.customer.taxable else "T9"
    return Line("product", ref, 10 * rng.randint(1, most), price, xref, SALES_PRODUCTS)


def _labour(rng: random.Random, header: Header, entry: int) -> Line:
    hours = 5 * rng.randint(1, 12)
    return Line("labour", rng.randrange(len(cat.TICKET_SUMMARIES)), hours,
                rng.choice(cat.LABOUR_RATES), header.customer.tax_xref, SALES_LABOUR, entry)


def _disbursement(rng: random.Random) -> Line:
    ref = rng.randrange(len(cat.DISBURSEMENTS))
    return Line("disbursement", ref, 10, cat.DISBURSEMENTS[ref][1], "T9", DISBURSEMENTS)


def _break(line: Line, reason: str) -> Line:
    if reason == "unmapped_tax_code":
        return Line(line.kind, line.ref, line.qty, line.price, UNMAPPED_TAX_XREF, line.account)
    return Line(line.kind, line.ref, line.qty, line.price, line.xref, UNMAPPED_SALES)
