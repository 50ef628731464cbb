"""Price a document the way Sage 50 UK does, checking each field on the way.

An invoice line's net is ``line_net(qty, unit_price)`` (negative for ``IsNegativeLine``), its VAT
``vat(net, rate)`` with the rate of its tax code; a transaction split's VAT is the ``TaxAmount``
it carries (R-TAX-4). Document totals are the sums of the lines. Both writers price with this
module, so the outbox's manifest totals equal what the replica posts. Rule ids:
``docs/sage50-rules.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from tasks.sage50 import rules as r
from tasks.sage50.money import ZERO, line_net, money, vat
from tasks.sage50.protocol import DocumentTotals, LineTotals
from tasks.sage50.sagexml import Invoice, Item, Split, TransactionGroup

TRUE_TEXTS = {"true": True, "1": True, "false": False, "0": False, "": False}


@dataclass(slots=True)
class PricedLine:
    number: int                 # item number on the invoice, or split position in the group
    nominal_code: str
    tax_code: int
    rate: Decimal
    net: Decimal                # document currency, signed (negative lines are negative)
    tax: Decimal
    description: str
    sku: str | None = None      # invoices only
    qty: Decimal | None = None
    unit_price: Decimal | None = None
    comment: str | None = None
    split_id: int | None = None  # transactions only
    extra_ref: str | None = None

    @property
    def message(self) -> bool:
        return self.sku == r.MESSAGE_SKU

    @property
    def stock(self) -> bool:
        return self.sku is not None and self.sku not in r.SPECIAL_SKUS


@dataclass(slots=True)
class PricedDoc:
    key: str
    doc_type: str               # SI SC PI PC
    account_ref: str
    currency: str
    date: date
    due_date: date | None
    reference: str | None       # Reference (transactions) / InvoiceNumber (invoices)
    lines: list[PricedLine]
    net: Decimal
    tax: Decimal
    source: Invoice | TransactionGroup
    exchange_rate: Decimal = Decimal(1)     # foreign units per base unit; 1 for the base

    @property
    def gross(self) -> Decimal:
        return self.net + self.tax

    @property
    def ledger(self) -> str:
        return r.LEDGER_OF[self.doc_type]

    def totals(self) -> DocumentTotals:
        lines = tuple(LineTotals(ln.nominal_code, ln.tax_code, ln.net, ln.tax, ln.rate,
                                 ln.description) for ln in self.lines if not ln.message)
        return DocumentTotals(self.key, self.doc_type, self.account_ref, self.currency,
                              self.net, self.tax, self.gross, lines)


def price_invoice(inv: Invoice, chart: r.Chart) -> tuple[PricedDoc | None, list[str]]:
    p: list[str] = []
    doc_type = r.INVOICE_TYPES.get(inv.invoice_type or "ProductInvoice")
    if doc_type is None:
        p.append(f"InvoiceType {r.show(inv.invoice_type)} is not loaded by cwsage — expected "
                 f"ProductInvoice or ProductCredit")
    if not inv.has_id:
        p.append("Id is missing — cwsage keys every document by its ConnectWise id")
    r.check_ac(p, inv.account_ref)
    when = r.iso_date(p, "InvoiceDate", inv.invoice_date, chart)
    due = r.iso_date(p, "DueDate", inv.due_date, chart, required=False, locked=False)
    code = r.currency(p, inv.currency, chart)
    rate = r.exchange_rate(p, "ForeignRate", code, inv.foreign_rate, chart)
    if inv.invoice_number is not None and not r.INVOICE_NUMBER_RE.match(inv.invoice_number):
        p.append(f"InvoiceNumber {r.show(inv.invoice_number)} is not 1-7 digits (R-INV-1) — "
                 f"leave it out to let Sage number the invoice")
    r.check_text(p, "CustomerOrderNumber", inv.order_number, 60)
    r.check_text(p, "TakenBy", inv.taken_by, 60)
    r.check_address(p, "InvoiceAddress", inv.address, town_alone=False)
    if not inv.items:
        p.append("InvoiceItems has no Item — an invoice needs at least one line")
    lines = [ln for item in inv.items if (ln := _price_item(p, item, chart)) is not None]
    if p:
        return None, p
    return PricedDoc(inv.key, doc_type, inv.account_ref, code, when, due, inv.invoice_number,
                     lines, sum((ln.net for ln in lines), ZERO),
                     sum((ln.tax for ln in lines), ZERO), inv, rate), p


def _price_item(p: list[str], item: Item, chart: r.Chart) -> PricedLine | None:
    field = f"Item {item.number}"
    before = len(p)
    r.check_text(p, f"{field} Name", item.name, 60)
    r.check_text(p, f"{field} Description", item.description, 60)
    sku = item.sku
    if not sku:
        p.append(f"{field} Sku is missing — lines without a product code use S1 (R-INV-2)")
    elif sku not in r.SPECIAL_SKUS and not r.SKU_RE.match(sku):
        p.append(f"{field} Sku {r.show(sku)} is not a Sage product code: up to 30 characters "
                 f"A-Z 0-9 / . - # (R-INV-2) — fix the product id mapping or use S1")
    # a message line: text only, no money
    # (docs/sage50-rules.md, "Special product codes (S1, S2, S3, M)")
    if sku == r.MESSAGE_SKU:
        return None if len(p) > before else PricedLine(
            item.number, "", 0, ZERO, ZERO, ZERO, item.name or "", sku, comment=item.description)
    qty, price, negative = _quantities(p, field, item)
    r.check_nominal(p, f"{field} NominalCode", item.nominal_code, chart)
    tax = r.tax_code(p, f"{field} TaxCode", item.tax_code, chart)
    if len(p) > before:
        return None
    net = line_net(qty, price)
    if negative:
        net = -net
    return PricedLine(item.number, item.nominal_code, tax[0], tax[1], net, vat(net, tax[1]),
                      item.name or "", sku, qty, price, item.description)


def _quantities(p: list[str], field: str, item: Item):
    qty = r.decimal(p, f"{field} QtyOrdered", item.qty)
    if qty is not None and qty <= 0:
        p.append(f"{field} QtyOrdered {r.show(item.qty)} must be more than 0 — send a credit "
                 f"as ProductCredit and a deduction with IsNegativeLine=true")
    price = r.decimal(p, f"{field} UnitPrice", item.unit_price)
    if price is not None and price < 0:
        p.append(f"{field} UnitPrice {r.show(item.unit_price)} is negative; Sage prices are "
                 f"always positive (R-INV-3) — send the price with IsNegativeLine=true")
    negative = TRUE_TEXTS.get((item.negative or "").strip().lower())
    if negative is None:
        p.append(f"{field} IsNegativeLine {r.show(item.negative)} is not true or false — fix "
                 f"the stylesheet output")
    if qty is not None and price is not None and abs(qty * price) >= r.MAX_AMOUNT:
        p.append(f"{field} net {qty * price} is over Sage's 8-digit amount limit — split the "
                 f"line")
    return qty, price, negative


def price_transaction(group: TransactionGroup,
                      chart: r.Chart) -> tuple[PricedDoc | None, list[str]]:
    p: list[str] = []
    first = group.splits[0]
    doc_type = r.TRANSACTION_TYPES.get(first.transaction_type or "")
    if doc_type is None:
        p.append(f"TransactionType {r.show(first.transaction_type or '')} is not loaded by "
                 f"cwsage — expected one of {', '.join(r.TRANSACTION_TYPES)}")
    if not first.second_reference:
        p.append("SecondReference is missing — cwsage keys a transaction by the ConnectWise "
                 "document key it carries there")
    r.check_text(p, "SecondReference", first.second_reference, 255)
    r.check_ac(p, first.account_ref)
    when = r.iso_date(p, "TransactionDate", first.date, chart)
    due = r.iso_date(p, "DueDate", first.due_date, chart, required=False, locked=False)
    r.check_text(p, "Reference", first.reference, 10)
    codes = {s.currency or chart.base_currency for s in group.splits}
    if len(codes) > 1:
        p.append(f"Currency differs between the splits of one document ({', '.join(sorted(codes))})"
                 f" — a Sage header has one currency")
    code = r.currency(p, first.currency, chart)
    rates = {s.exchange_rate for s in group.splits}
    if len(rates) > 1:
        p.append("ExchangeRate differs between the splits of one document — a Sage header has "
                 "one exchange rate")
    rate = r.exchange_rate(p, "ExchangeRate", code, first.exchange_rate, chart)
    lines = [ln for n, s in enumerate(group.splits, 1) if (ln := _price_split(p, n, s, chart))]
    if p:
        return None, p
    return PricedDoc(group.key, doc_type, first.account_ref, code, when, due, first.reference,
                     lines, sum((ln.net for ln in lines), ZERO),
                     sum((ln.tax for ln in lines), ZERO), group, rate), p


def _price_split(p: list[str], n: int, s: Split, chart: r.Chart) -> PricedLine | None:
    field = f"split {s.split_id or n}"
    before = len(p)
    if not s.split_id or not r.SPLIT_ID_RE.match(s.split_id):
        p.append(f"{field} Id {r.show(s.split_id or '')} is not a number of at most 8 digits "
                 f"(R-ID-2) — use a numeric ConnectWise key for each split")
    r.check_text(p, f"{field} Details", s.details, 60)
    r.check_text(p, f"{field} PaymentReference", s.extra_ref, 10)
    r.check_nominal(p, f"{field} NominalCode", s.nominal_code, chart)
    net = r.decimal(p, f"{field} NetAmount", s.net, pennies=True, positive=True)
    tax = r.tax_code(p, f"{field} TaxCode", s.tax_code, chart)
    if s.tax_amount is None or s.tax_amount == "":
        p.append(f"{field} TaxAmount is missing; Sage would post no VAT (R-TAX-4) — send the "
                 f"VAT amount explicitly, 0.00 when there is none")
        amount = None
    else:
        amount = r.decimal(p, f"{field} TaxAmount", s.tax_amount, pennies=True, positive=True)
    if len(p) > before:
        return None
    return PricedLine(n, s.nominal_code, tax[0], tax[1], money(net), money(amount), s.details or "",
                      split_id=int(s.split_id), extra_ref=s.extra_ref)
