"""The data conventions of the sandbox: the facts other parts of cwsage may rely on.

Dates
    Every document date lies within ``HISTORY_DAYS`` days before ``ANCHOR_DATE`` (2026-10-31),
    so the output never depends on the day the sandbox runs. Dates are written
    ``YYYY-MM-DDTHH:MM:SSZ``; in GLExport payloads one document in ``ZONELESS_EVERY`` has dates
    with no zone (``2026-10-20T00:00:00``), as ConnectWise has been seen to send.

Money
    Amounts are integer pence inside the sandbox and JSON numbers with at most 2 decimals on
    the wire. VAT is computed the way ConnectWise does it: once per document on its taxable
    (T1) total, 20 %, rounded half-up to the penny.

GL accounts (``accountNumber`` on documents and lines)
    1100 debtors control (AR header) · 2200 output VAT (ST lines) · 2100 creditors control
    (AP) · 2201 input VAT · 4000 product sales · 4001 agreement sales · 4002 labour ·
    4900 disbursements · 5000 purchases · 5100 carriage · 7400 travel · 7402 hotels ·
    7406 subsistence. Unmapped (broken) accounts: 4070, 5999, 7999.

Tax cross-references
    T1 standard 20 % · T0 zero-rated · T9 outside the scope of VAT. Unmapped (broken): RC20.

Ids
    Invoices: transaction id = ``UnpostedInvoice.id`` = ``includedInvoiceIds`` value, from
    5001; ``documentNumber`` from "10001". Expense bills: bill ``id`` (its own GL entry id) =
    ``UnpostedExpense.id`` = ``includedExpenseIds`` value, 60,000,000 + 16·n. Purchase
    transactions: ``UnpostedProcurement.id`` from 40001, ``unpostedProductId`` the same
    number as text (= ``includedProductIds`` value), PO numbers from 4701. GL entry ids:
    invoices from 100000, expenses from 60,000,000, procurement from 80,000,000 — unique
    across all documents; each document owns a fixed block, so an id maps back to its document
    by arithmetic. Companies: vendors from 201, clients from 1001; members from 101.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import NamedTuple

ANCHOR_DATE = date(2026, 10, 31)
HISTORY_DAYS = 60
ZONELESS_EVERY = 6
VAT_PERCENT = 20

AR_CONTROL, VAT_OUTPUT, AP_CONTROL, VAT_INPUT = "1100", "2200", "2100", "2201"
SALES_PRODUCTS, SALES_AGREEMENTS, SALES_LABOUR, DISBURSEMENTS = "4000", "4001", "4002", "4900"
PURCHASES, CARRIAGE = "5000", "5100"
TRAVEL, HOTELS, SUBSISTENCE = "7400", "7402", "7406"
UNMAPPED_SALES, UNMAPPED_PURCHASES, UNMAPPED_EXPENSE = "4070", "5999", "7999"
UNMAPPED_TAX_XREF = "RC20"

INVOICE_ID_BASE = 5001
INVOICE_NUMBER_BASE = 10001
BILLING_LOG_BASE = 70001
TIME_ENTRY_BASE = 400000
INVOICE_GL_BASE = 100_000
EXPENSE_GL_BASE = 60_000_000
EXPENSE_ENTRY_BASE = 20001
EXPENSE_NUMBER_BASE = 1101
PROCUREMENT_GL_BASE = 80_000_000
PROCUREMENT_ROW_BASE = 40001
PURCHASE_ORDER_BASE = 4701

CURRENCIES = {
    "GBP": {"id": 1, "name": "Pound Sterling", "symbol": "£", "currencyCode": "GBP"},
    "EUR": {"id": 2, "name": "Euro", "symbol": "€", "currencyCode": "EUR"},
    "USD": {"id": 3, "name": "US Dollar", "symbol": "$", "currencyCode": "USD"},
}
STANDARD_VAT = {"id": 11, "name": "Standard VAT"}
OUTSIDE_SCOPE = {"id": 12, "name": "Outside Scope"}
NET_30 = {"id": 1, "name": "Net 30 Days"}
LOCATIONS = {1: "Newcastle", 2: "Leeds"}
# Tax levels an unposted row carries but the UK set-up never uses (flag false, amount 0).
NO_TAX_LEVELS = ("county", "city", "country", "composite", "levelSix")


class BrokenDocument(NamedTuple):
    """A generated document that a correct pipeline must quarantine, and why.

    ``kind`` is ``invoice``, ``expense_bill`` or ``purchase_transaction``; ``id`` is the
    document's id in the GLExport (an int, or the text label of a purchase transaction);
    ``reason`` is one of ``missing_account_number``, ``unmapped_tax_code``,
    ``unmapped_gl_account``, ``missing_vendor_number``, ``missing_vendor_account``.
    """

    kind: str
    id: int | str
    reason: str
    detail: str


def pick_broken(seed: int, label: str, count: int, share: float,
                reasons: tuple[str, ...]) -> dict[int, str]:
    """Choose ``round(count * share)`` document indexes, reasons spread evenly over them."""
    wanted = min(count, round(count * max(0.0, share)))
    chosen = sorted(random.Random(f"{seed}:{label}:broken").sample(range(count), wanted))
    return {index: reasons[n % len(reasons)] for n, index in enumerate(chosen)}


def money(pence: int) -> float:
    """Pence to the JSON number ConnectWise would send (2 decimals at most)."""
    return pence / 100


def vat_half_up(net_pence: int) -> int:
    """20 % of a (signed) amount, rounded half-up (away from zero) to the penny."""
    magnitude = (abs(net_pence) * VAT_PERCENT * 2 + 100) // 200
    return magnitude if net_pence >= 0 else -magnitude


def vat_inside(gross_pence: int) -> int:
    """The 20 % VAT contained in a VAT-inclusive gross amount, rounded half-up."""
    return (gross_pence * VAT_PERCENT * 2 + (100 + VAT_PERCENT)) // (2 * (100 + VAT_PERCENT))


def day(offset: int) -> date:
    """The date ``offset`` days before the anchor date."""
    return ANCHOR_DATE - timedelta(days=offset)


def stamp(value: date, zone: bool = True, hour: int = 0, minute: int = 0) -> str:
    text = f"{value.isoformat()}T{hour:02d}:{minute:02d}:00"
    return text + "Z" if zone else text


def currency(code: str) -> dict:
    return dict(CURRENCIES[code])
