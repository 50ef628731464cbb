"""Seeded purchase transactions — one per purchase-order receipt (GLExportPurchaseTransaction;
docs/connectwise-behaviour.md, "Purchase transactions") — and the numbers behind them.

Conventions other code relies on:

* ``id`` is a text label, ``"PO #4711, Packing Slip: 4711"``, not a GL entry id; to post a
  purchase batch every ``purchaseDetail[].id`` and ``purchaseDetailTax[].id``
  (docs/connectwise-behaviour.md, "Posting: which GL entry ids to batch").
* Signs as ConnectWise writes them: the header ``total`` (gross, VAT included) is positive,
  ``purchaseDetail`` lines have negative ``quantity`` and ``total`` with a positive unit
  ``itemCost``, and the ``purchaseDetailTax`` line (input VAT, account 2201) is negative too,
  so ``sum(purchaseDetail.total) + sum(purchaseDetailTax.total) + total == 0``. A return to
  the supplier flips every sign.
* Carriage is its own ``purchaseDetail`` line (account 5100, no item); products post to 5000.
  Input VAT is 20 % of lines + carriage, once per document, rounded half-up; a USD supplier's
  documents are outside the scope of UK VAT (T9, no tax line).
* The sandbox lists one ``UnpostedProcurement`` row per purchase transaction; its
  ``unpostedProductId`` (a string) is the value ``includedProductIds`` takes.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from sandbox import catalogue as cat
from sandbox.conventions import (HISTORY_DAYS, PROCUREMENT_GL_BASE, PURCHASES,
                                 UNMAPPED_PURCHASES, pick_broken, vat_half_up)

REASONS = ("missing_vendor_account", "unmapped_gl_account")
STRIDE, MAX_LINES = 10, 5


@dataclass(frozen=True)
class PurchaseLine:
    product: int              # index into catalogue.PRODUCTS
    qty: int
    cost: int                 # unit cost, pence
    account: str

    @property
    def net(self) -> int:
        return self.qty * self.cost


@dataclass(frozen=True)
class Purchase:
    index: int
    vendor: dict              # the generated vendor company record
    offset: int               # days before the anchor date
    lines: list[PurchaseLine]
    freight: int              # pence, 0 = none
    vendor_invoice: str
    is_return: bool
    broken: str | None

    @property
    def taxable(self) -> bool:
        return self.vendor["currency"]["currencyCode"] == "GBP"

    @property
    def net(self) -> int:
        return sum(line.net for line in self.lines) + self.freight

    @property
    def vat(self) -> int:
        return vat_half_up(self.net) if self.taxable else 0


class ProcurementBook:
    def __init__(self, seed: int, count: int, vendors: list[dict], broken_share: float):
        if PROCUREMENT_GL_BASE + count * STRIDE >= 2**31:
            raise ValueError(f"{count} purchase transactions do not fit the GL id range")
        self.seed, self.count = seed, count
        self.broken = pick_broken(seed, "procurement", count, broken_share, REASONS)
        self.no_account = next(v for v in vendors if v["name"] == cat.NO_ACCOUNT_VENDOR)
        self.suppliers = [v for v in vendors if v is not self.no_account]

    def gl_base(self, index: int) -> int:
        return PROCUREMENT_GL_BASE + index * STRIDE

    def gl_block(self, gl_id: int) -> int | None:
        index = (gl_id - PROCUREMENT_GL_BASE) // STRIDE
        return index if gl_id >= PROCUREMENT_GL_BASE and index < self.count else None

    def gl_ids(self, index: int) -> list[int]:
        purchase = self.purchase(index)
        used = len(purchase.lines) + (1 if purchase.freight else 0) + (1 if purchase.vat else 0)
        return list(range(self.gl_base(index), self.gl_base(index) + used))

    def purchase(self, index: int) -> Purchase:
        if not 0 <= index < self.count:
            raise IndexError(f"purchase index {index} out of range")
        rng = random.Random(f"{self.seed}:procurement:{index}")
        broken = self.broken.get(index)
        vendor = self.suppliers[rng.randrange(len(self.suppliers))]
        if broken == "missing_vendor_account":
            vendor = self.no_account
        lines = [self._line(rng) for _ in range(rng.randint(1, MAX_LINES))]
        if broken == "unmapped_gl_account":
            lines[0] = PurchaseLine(lines[0].product, lines[0].qty, lines[0].cost,
                                    UNMAPPED_PURCHASES)
        freight = rng.choice((0, 0, 0, 995, 1250, 2500))
        invoice = "" if rng.random() < 0.15 else f"INV-{rng.randint(100000, 999999)}"
        return Purchase(index, vendor, rng.randrange(HISTORY_DAYS), lines, freight, invoice,
                        rng.random() < 0.05, broken)

    def _line(self, rng: random.Random) -> PurchaseLine:
        product = rng.randrange(len(cat.PRODUCTS))
        sku, price = cat.PRODUCTS[product][0], cat.PRODUCTS[product][4]
        most = 50 if sku.startswith(("LIC-", "CAB-")) else 6
        return PurchaseLine(product, rng.randint(1, most), price * 72 // 100, PURCHASES)
