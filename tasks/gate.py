"""The money gates: nothing reaches Sage, and nothing is batched back, with money other than
ConnectWise's.

**Before load** every document of a chunk's Sage XML is priced by Sage's own rules
(``tasks.sage50.pricing``, the code both writers post with) and compared with what ConnectWise
states (the resolved document): the net exactly; the VAT per tax code where ConnectWise states
it per code, else in total. The one difference allowed is Sage's per-line VAT rounding on
invoices — Sage rounds each line's VAT half up to the penny, ConnectWise rounds once — so at
most half a penny per line of that code, explained line by line. For audit-trail
transactions, where Sage takes the VAT as given, each code's VAT must also agree with its rate.
A document already in the target is compared with what the target holds: if its money,
account or lines changed since it was loaded, it is held, never batched again.

**After load** what the target now holds is compared with what the gate priced; a document
that differs is held as ``unreconciled`` and never batched.
"""

from __future__ import annotations

from decimal import Decimal

from tasks.resolved import Hold, Resolved
from tasks.sage50 import rules as r
from tasks.sage50.money import HUNDRED, ZERO
from tasks.sage50.pricing import PricedDoc, price_invoice, price_transaction
from tasks.sage50.protocol import DocumentTotals, SageFacts
from tasks.sage50.sagexml import CompanyXml, TransactionGroup, parse_company, serialize

HALF_PENNY = Decimal("0.005")


def _code(code: int | None) -> str:
    return "no tax code" if code is None else f"T{code}"


def money_problems(priced: PricedDoc, cw: Resolved, facts: SageFacts) -> list[Hold]:
    """Where Sage's pricing of a document departs from ConnectWise's money (see the module)."""
    out: list[Hold] = []
    fix = ("correct the document in ConnectWise, or the stylesheet if it was customised, "
           "and run again")
    if priced.doc_type != cw.doc_type:
        out.append(Hold(f"Sage would post it as {priced.doc_type}, ConnectWise states "
                        f"{cw.doc_type}", fix))
    if priced.net != cw.cw_net:
        out.append(Hold(f"net differs: ConnectWise {cw.cw_net}, Sage {priced.net} "
                        f"({_lines_text(priced)})", fix))
    out += _vat_problems(priced, cw, facts, fix)
    return out


def _lines_text(priced: PricedDoc) -> str:
    return "; ".join(f"line {ln.number} {ln.nominal_code} {_code(ln.tax_code)} net {ln.net} "
                     f"VAT {ln.tax}" for ln in priced.lines[:8] if not ln.message)


def _vat_problems(priced: PricedDoc, cw: Resolved, facts: SageFacts, fix: str) -> list[Hold]:
    lines = [ln for ln in priced.lines if not ln.message]
    sage: dict[int, list] = {}
    for ln in lines:
        sage.setdefault(ln.tax_code, []).append(ln)
    given = cw.cw_tax_by_code
    if given is None:
        return _compare("in total", sum((ln.tax for ln in lines), ZERO), cw.cw_tax, lines, fix)
    out: list[Hold] = []
    for code in sorted(set(sage) | set(given), key=lambda c: -1 if c is None else c):
        mine = sage.get(code, [])
        out += _compare(f"for {_code(code)}", sum((ln.tax for ln in mine), ZERO),
                        given.get(code, ZERO), mine, fix)
        if isinstance(priced.source, TransactionGroup):     # VAT as given: check its rate
            out += _rate_problems(code, mine, facts, fix)
    return out


def _compare(where: str, sage: Decimal, cw: Decimal, lines: list, fix: str) -> list[Hold]:
    bound = HALF_PENNY * len(lines)
    if abs(sage - cw) <= bound:
        return []
    working = "; ".join(f"line {ln.number} net {ln.net} × {ln.rate}% = "
                        f"{ln.net * ln.rate / HUNDRED} → {ln.tax}" for ln in lines[:8])
    return [Hold(f"VAT {where} differs: ConnectWise {cw}, Sage {sage} — more than Sage's "
                 f"per-line rounding allows (at most {bound} over {len(lines)} lines)"
                 + (f"; Sage's working: {working}" if working else ""), fix)]


def _rate_problems(code, lines: list, facts: SageFacts, fix: str) -> list[Hold]:
    rate = facts.rate_of(code)
    if rate is None or not lines:
        return []
    net, tax = sum((ln.net for ln in lines), ZERO), sum((ln.tax for ln in lines), ZERO)
    expected = net * rate / HUNDRED
    if abs(tax - expected) <= HALF_PENNY * (len(lines) + 1):
        return []
    return [Hold(f"VAT for {_code(code)} is {tax} on a net of {net}, but {_code(code)} is "
                 f"{rate.normalize()}% ({expected.quantize(Decimal('0.01'))}) — Sage would "
                 f"post VAT that its tax code does not explain",
                 "correct the line's tax code or VAT amount in ConnectWise (split a receipt "
                 "with two VAT rates into two lines)", None)]


def changed_since_load(held: DocumentTotals, priced: PricedDoc) -> list[str]:
    """What differs between the document as the target holds it and as it would load now."""
    out = []
    for what, before, now in (("type", held.doc_type, priced.doc_type),
                              ("account", held.account_ref, priced.account_ref),
                              ("currency", held.currency, priced.currency),
                              ("net", held.net, priced.net), ("VAT", held.tax, priced.tax),
                              ("gross", held.gross, priced.gross)):
        if before != now:
            out.append(f"{what} {before} → {now}")
    if not out and _by_split(held.lines) != _by_split(priced.totals().lines):
        out.append("the lines (nominal codes, tax codes or amounts)")
    return out


def _by_split(lines) -> dict:
    out: dict = {}
    for ln in lines:
        key = (ln.nominal_code, ln.tax_code)
        out[key] = out.get(key, ZERO) + ln.net
    return {k: v for k, v in out.items() if v}


class MoneyCheck:
    """The gate before load, handed to the writer (``Writer.load(check=…)``): the writer prices
    each document by Sage's rules anyway, so the gate compares that pricing with ConnectWise's
    money before the document is written — one parse, one pricing. It remembers each pricing
    (for the check after load) and the holds (for the quarantine)."""

    def __init__(self, resolved: dict[str, Resolved], facts: SageFacts):
        self.resolved, self.facts = resolved, facts
        self.priced: dict[str, PricedDoc] = {}
        self.held: dict[str, list[Hold]] = {}

    def __call__(self, priced: PricedDoc) -> bool:
        self.priced[priced.key] = priced
        cw = self.resolved.get(priced.key)
        problems = money_problems(priced, cw, self.facts) if cw is not None else []
        if problems:
            self.held[priced.key] = problems
        return bool(problems)


def changed_in_target(xml: bytes, present: dict[str, DocumentTotals],
                      facts: SageFacts) -> tuple[bytes, dict[str, list[Hold]]]:
    """Documents already in the target (un-batched and exported again): the new version is
    priced and compared with what the target holds; a changed one is held and taken out of
    the XML (see the module). Returns the XML to load and the holds."""
    company = parse_company(xml)
    chart = r.Chart(tax_rates=facts.tax_rates, no_direct=r.NO_DIRECT_POSTING,
                    base_currency=facts.base_currency)
    held: dict[str, list[Hold]] = {}
    sources = [(i, price_invoice) for i in company.invoices if i.key in present]
    sources += [(g, price_transaction) for g in company.transactions if g.key in present]
    for source, price in sources:
        priced, _ = price(source, chart)
        changes = changed_since_load(present[source.key], priced) if priced else []
        if changes:
            held[source.key] = [Hold(
                f"changed in ConnectWise after it was loaded into Sage: {'; '.join(changes)}",
                "restore the document in ConnectWise as it was loaded; or, if the change is "
                "right, post a credit and a new invoice for it in Sage and remove it from "
                "ConnectWise's Accounting Interface by hand — it will not be batched as it is")]
    return (without(company, set(held)) if held else xml), held


def without(company: CompanyXml, keys: set[str]) -> bytes:
    """The XML with the documents ``keys`` taken out (accounts stay)."""
    for inv in company.invoices:
        if inv.key in keys:
            inv.element.getparent().remove(inv.element)
    for group in company.transactions:
        if group.key in keys:
            for split in group.splits:
                split.element.getparent().remove(split.element)
    return serialize(company.root)


def target_problems(predicted: dict[str, PricedDoc],
                    holds: dict[str, DocumentTotals]) -> dict[str, list[Hold]]:
    """The gate after load: what the target holds against what the gate priced."""
    out: dict[str, list[Hold]] = {}
    for key, priced in predicted.items():
        held = holds.get(key)
        if held is None:
            out[key] = [Hold("the target reports it loaded but does not hold it",
                             "check the Sage company; run again to load it")]
            continue
        changes = changed_since_load(held, priced)
        if changes:
            out[key] = [Hold(f"the target holds other money than was priced: "
                             f"{'; '.join(changes)}",
                             "compare the document in Sage with ConnectWise and correct Sage "
                             "by hand; it is not batched until they agree")]
    return out
