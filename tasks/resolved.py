"""The resolved document: one ConnectWise document as Sage will hold it, before any XML.

``resolve`` (``tasks.resolve_sales``, ``tasks.resolve_purchases``) turns a ConnectWise record and
the pipeline's mappings into a ``Resolved`` document: the Sage header (type, account, date,
reference, currency and exchange rate) and the resolved lines (SKU, nominal, Sage tax code,
net, VAT, sign, text) — with **money exactly as ConnectWise states it**: a line's net is its
ConnectWise total (after discounts), never quantity × price, and VAT comes from ConnectWise's
own tax lines. Every business rule (which line is an item, which tax code a line takes, the
account order, the default nominal, the reference shortening) lives in the resolve step; the
validation view and the canonical XML are both built from its result, and stylesheets lay the
values out. Nothing here rounds except where ``tasks.sage50.money`` says Sage rounds.

A resolved document also carries its *holds*: reasons, each with a fix that works, for which
it must not reach Sage (a line Sage cannot represent, a currency without a configured rate…).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Mapping

from tasks.sage50.money import PENNY, ZERO, amount, money
from tasks.sage50.protocol import SageFacts

SPLIT_DETAILS = 60                  # Sage's Details / item Name length


@dataclass(frozen=True)
class ResolveContext:
    """What resolving needs besides the document: the pipeline's mappings, where they live in
    pipelines.yaml (for fixes), the target's facts, and the chunk's company records."""

    mappings: Any
    section: str                    # "pipelines.invoices.mappings"
    facts: SageFacts
    companies: Mapping[Any, dict] = field(default_factory=dict)

    def with_companies(self, companies: Mapping[Any, dict]) -> "ResolveContext":
        return ResolveContext(self.mappings, self.section, self.facts, companies)


@dataclass(frozen=True)
class Hold:
    reason: str
    fix: str
    line: str | None = None          # the ConnectWise line responsible, when one is

    def as_dict(self) -> dict:
        return {"expectation": "resolve", "reason": self.reason, "fix": self.fix,
                "line": self.line}


@dataclass
class Line:
    """One resolved line. ``net`` and ``tax`` are positive magnitudes; ``negative`` says the
    line runs against its document (a discount on an invoice, a rebate on a purchase)."""

    line_id: str
    kind: str                        # item | carriage | expense
    text: str
    details: str | None
    gl_account: str | None
    nominal: str | None
    tax_xref: str | None
    tax_code: int | None
    net: Decimal
    negative: bool
    tax: Decimal | None = None       # ConnectWise's VAT for this line (transactions); None: Sage computes
    sku: str | None = None
    qty: Decimal | None = None
    unit_price: Decimal | None = None
    split_id: str | None = None
    tax_code_fix: str | None = None  # how to give the line a tax code, when it has none
    extra: dict = field(default_factory=dict)

    @property
    def signed_net(self) -> Decimal:
        return -self.net if self.negative else self.net

    @property
    def signed_tax(self) -> Decimal:
        tax = self.tax or ZERO
        return -tax if self.negative else tax


@dataclass
class Resolved:
    key: str
    number: str | None
    doc_type: str                    # SI SC PI PC
    account: str | None
    date: str | None
    due_date: str | None
    reference: str | None            # shortened to Sage's limit, never colliding in a chunk
    full_reference: str | None
    currency: str | None
    exchange_rate: Decimal | None    # None for the base currency
    lines: list[Line]
    cw_net: Decimal                  # ConnectWise's, positive
    cw_tax: Decimal
    cw_gross: Decimal
    cw_tax_by_code: dict[int, Decimal] | None    # None: ConnectWise states VAT only in total
    holds: list[Hold] = field(default_factory=list)
    header: dict = field(default_factory=dict)   # kind-specific values for the view

    def cw_net_by_code(self) -> dict[int | None, Decimal]:
        out: dict[int | None, Decimal] = {}
        for line in self.lines:
            out[line.tax_code] = out.get(line.tax_code, ZERO) + line.signed_net
        return out

    def hold(self, reason: str, fix: str, line: str | None = None) -> None:
        self.holds.append(Hold(reason, fix, line))


def text(value: Any) -> str | None:
    """A ConnectWise text value, stripped; None when empty."""
    out = "" if value is None else str(value).strip()
    return out or None


def ref(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def first_text(*values: Any) -> str | None:
    for value in values:
        if (found := text(value)) is not None:
            return found
    return None


def currency_code(value: Any) -> str | None:
    currency = ref(value)
    return first_text(currency.get("currencyCode"), currency.get("isoCode"))


def signed(value: Any) -> Decimal:
    """A ConnectWise amount as a Decimal; NaN for text that is not a number."""
    try:
        return amount(value)
    except ArithmeticError:
        return Decimal("NaN")


def line_label(line: dict, fallback: str) -> str:
    """How a reason names a ConnectWise line: its id and its text."""
    ident = line.get("id")
    if isinstance(ident, list):
        ident = ",".join(str(i) for i in ident)
    words = first_text(line.get("itemDescription"), line.get("memo"), line.get("description"))
    label = f"line {ident}" if ident not in (None, "") else fallback
    return f"{label} ({words})" if words else label


def exchange_rate(doc: Resolved, facts: SageFacts) -> None:
    """A foreign-currency document posts only at a rate the user configured for the Sage
    company; the rate travels in the Sage XML. No rate is ever invented."""
    code = doc.currency or facts.base_currency
    if code == facts.base_currency:
        doc.exchange_rate = None
        return
    rate = facts.currency_rates.get(code)
    if rate is None or rate <= 0:
        doc.hold(f"{code} has no exchange rate configured for the Sage company; cwsage never "
                 f"guesses one",
                 f"add '{code}: <units of {code} per 1 {facts.base_currency}>' under "
                 f"{facts.rates_key} in pipelines.yaml (the rate Sage holds for {code}), "
                 f"or invoice in {facts.base_currency}")
    doc.exchange_rate = rate


# -- references: shortened to Sage's limit without two documents sharing one ------------------
_SEPARATORS = re.compile(r"[\s\-_/.,#:;]+")


def short_reference(full: str | None, limit: int) -> str | None:
    """``full`` when it fits; else without separators; else its last ``limit`` characters —
    the part that tells a supplier's sequential numbers apart (SI-2026-0012345 → 0260012345)."""
    if full is None or len(full) <= limit:
        return full
    packed = _SEPARATORS.sub("", full)
    return packed if len(packed) <= limit else packed[-limit:]


def _tagged(full: str, limit: int) -> str:
    tag = hashlib.sha256(full.encode()).hexdigest()[:3].upper()
    return tag + _SEPARATORS.sub("", full)[-(limit - 3):]


def settle_references(docs: list[Resolved], limit: int) -> None:
    """Two documents whose different references shorten alike both get a three-character
    digest of their full reference in front, so no two share a Sage reference."""
    by_short: dict[str, set[str]] = {}
    for doc in docs:
        if doc.reference is not None and doc.full_reference is not None:
            by_short.setdefault(doc.reference, set()).add(doc.full_reference)
    for doc in docs:
        fulls = by_short.get(doc.reference or "", set())
        if len(fulls) > 1 and doc.full_reference and len(doc.full_reference) > limit:
            doc.reference = _tagged(doc.full_reference, limit)


def tax_code_of(xref: str | None, mappings, facts: SageFacts, taxable: bool | None,
                section: str) -> tuple[int | None, str | None]:
    """The Sage tax code of a line, and, when it has none, the fix that gives it one.

    A line's own code wins — unless ConnectWise says the line is not taxable and that code
    carries VAT: then the pipeline's ``non_taxable_tax_code``. A line with no code at all
    takes ``default_tax_code`` where the pipeline sets one."""
    code = mappings.tax_code(xref) if xref else None
    if xref and code is None:
        return None, (f"add '{xref}: <Sage tax code number>' under {section}.tax_codes in "
                      f"pipelines.yaml (or correct the line's tax code in ConnectWise)")
    if taxable is False and (code is None or (facts.rate_of(code) or ZERO) != 0):
        if mappings.non_taxable_tax_code is None:
            return None, (f"set {section}.non_taxable_tax_code in pipelines.yaml to the Sage "
                          f"code for lines ConnectWise does not tax (T0 zero rated, T2 exempt "
                          f"or T9 outside the scope of VAT)")
        return mappings.non_taxable_tax_code, None
    if code is None:
        if mappings.default_tax_code is None:
            return None, (f"set {section}.default_tax_code in pipelines.yaml to the Sage code "
                          f"for lines without a tax code (e.g. T9), or give the line a tax "
                          f"code in ConnectWise")
        return mappings.default_tax_code, None
    return code, None


def price_layout(net: Decimal, qty: Any, unit_price: Any) -> tuple[Decimal, Decimal]:
    """Quantity and unit price for a Sage invoice line whose net must be exactly ``net``
    (Sage computes quantity × unit price, rounded to the penny). ConnectWise's own pair when
    it multiplies out to the line total; else the total over the quantity when that is a
    price in pennies; else one of the line total."""
    try:
        q, p = abs(amount(qty)), abs(amount(unit_price))
        if q > 0 and p == p.quantize(PENNY) and money(q * p) == net:
            return q, p.quantize(PENNY)
        if q > 0:
            each = (net / q).quantize(PENNY)
            if money(q * each) == net:
                return q, each
    except ArithmeticError:         # not a number, or too large to price: one of the total
        pass
    return Decimal(1), net


def fingerprint(doc: Resolved) -> str:
    """A digest of what the document would put in Sage (type, account, dates, reference,
    currency, and each line's codes and money) — what the journal keeps to say which version
    of a document was loaded."""
    parts = [doc.doc_type, doc.account, doc.date, doc.due_date, doc.reference, doc.currency,
             doc.exchange_rate, doc.cw_net, doc.cw_tax, doc.cw_gross]
    parts += [(ln.line_id, ln.sku, ln.nominal, ln.tax_code, ln.net, ln.tax, ln.negative)
              for ln in doc.lines]
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]


def _plain(value: Decimal | None) -> str | None:
    return None if value is None else format(value.normalize(), "f") \
        if value == value.to_integral_value() else format(value, "f")


def _pennies(value: Decimal | None) -> str | None:
    if value is None or not value.is_finite():
        return None
    try:
        return format(money(value), "f")
    except ArithmeticError:         # beyond Decimal's precision: Sage's checks refuse it
        return format(value, "f")


def canonical(doc: Resolved) -> dict:
    """The resolved document as the canonical XML carries it (``<resolved>`` inside each
    document's ``<item>``): what stylesheets lay out. Money in pennies, positive; ``negative``
    says a line runs against its document."""
    return {
        "type": doc.doc_type, "account": doc.account, "date": doc.date,
        "due_date": doc.due_date, "number": doc.number, "reference": doc.reference,
        "full_reference": doc.full_reference, "currency": doc.currency,
        "exchange_rate": _plain(doc.exchange_rate),
        "net": _pennies(doc.cw_net), "tax": _pennies(doc.cw_tax), "gross": _pennies(doc.cw_gross),
        "lines": [{"id": ln.line_id, "kind": ln.kind, "sku": ln.sku, "name": ln.text,
                   "details": ln.details, "nominal": ln.nominal,
                   "tax_code": ln.tax_code, "net": _pennies(ln.net),
                   "tax": _pennies(ln.tax), "negative": ln.negative,
                   "qty": _plain(ln.qty), "unit_price": _pennies(ln.unit_price),
                   "split_id": ln.split_id} for ln in doc.lines]}
