"""Resolve a ConnectWise invoice or credit memo (GLExport ``transactions``) — see ``resolved``.

ConnectWise writes an invoice's revenue lines as credits (negative) and its header total
positive; a credit memo flips every sign. A line whose sign runs with its header's total is
therefore against the document (a discount line): it stays a line of its own and is marked
negative, so the document's net is exactly ConnectWise's. The sales-tax lines (``glTypeId``
ST) are not items: they state ConnectWise's VAT, per tax code where they carry one. Sage
computes an invoice line's VAT itself, per line; the money gate compares that with these.
"""

from __future__ import annotations

from decimal import Decimal

from tasks.resolved import (Line, Resolved, exchange_rate, first_text, line_label,
                            price_layout, ref, signed, text, tax_code_of)
from tasks.sage50.money import ZERO

NUMBER_LIMIT = 60                   # CustomerOrderNumber carries the ConnectWise number


def is_tax_line(line: dict) -> bool:
    return str(line.get("glTypeId") or "").strip().upper() == "ST"


def resolve_invoice(doc: dict, key: str, ctx) -> Resolved:
    gross_signed = signed(doc.get("total"))
    credit = gross_signed < 0
    lines = [d for d in doc.get("detail") or [] if isinstance(d, dict)]
    number = text(doc.get("documentNumber"))
    account = text(doc.get("companyAccountNumber"))
    out = Resolved(
        key=key, number=number, doc_type="SC" if credit else "SI",
        account=account.upper() if account else None, date=text(doc.get("documentDate")),
        due_date=text(doc.get("dueDate")), reference=number, full_reference=number,
        currency=first_text(ref(doc.get("currency")).get("currencyCode"),
                            ref(doc.get("currency")).get("isoCode")),
        exchange_rate=None, lines=[], cw_net=ZERO, cw_tax=ZERO, cw_gross=abs(gross_signed),
        cw_tax_by_code=None,
        header={"company_id": ref(doc.get("company")).get("id"),
                "company_name": text(ref(doc.get("company")).get("name")),
                "stated_total": gross_signed,
                "lines_difference": abs(sum((signed(d.get("total")) for d in lines), ZERO)
                                        + gross_signed)})
    sign = Decimal(-1) if credit else Decimal(1)       # a line's amount in document terms
    for n, line in enumerate(lines, 1):
        if not is_tax_line(line) and signed(line.get("total")) != 0:
            out.lines.append(_line(line, n, doc, sign, ctx))
    _tax(out, doc, lines, sign, ctx)
    exchange_rate(out, ctx.facts)
    return out


def _line(line: dict, n: int, doc: dict, sign: Decimal, ctx) -> Line:
    amount = -signed(line.get("total")) * sign           # positive: with the document
    item = ref(line.get("item"))
    sku = first_text(item.get("identifier"), line.get("glItemId"))
    xref = first_text(line.get("taxCodeXref"), doc.get("stateTaxXref"))
    taxable = line.get("taxableFlag") if isinstance(line.get("taxableFlag"), bool) else None
    code, fix = tax_code_of(xref, ctx.mappings, ctx.facts, taxable, ctx.section)
    gl = text(line.get("accountNumber"))
    name = first_text(line.get("itemDescription"), line.get("salesDescription"),
                      line.get("description"), line.get("memo"))
    more = text(line.get("salesDescription")) if text(line.get("itemDescription")) else None
    net = abs(amount) if amount.is_finite() else amount
    qty, price = price_layout(net, line.get("quantity"), line.get("itemPrice")) \
        if net.is_finite() else (Decimal(1), net)
    return Line(line_id=str(line.get("id") if line.get("id") is not None else n),
                kind="item", text=name or "", details=more, gl_account=gl,
                nominal=ctx.mappings.nominal(gl), tax_xref=xref, tax_code=code, net=net,
                negative=amount < 0, sku=sku.upper() if sku else ctx.mappings.default_stock_code,
                qty=qty, unit_price=price, tax_code_fix=fix,
                extra={"item_id": sku, "label": line_label(line, f"line {n}")})


def _tax(out: Resolved, doc: dict, lines: list[dict], sign: Decimal, ctx) -> None:
    """ConnectWise's VAT: its ST lines (per tax code where each names one), else the header's
    ``taxLevels``, else ``salesTax``."""
    taxes = [d for d in lines if is_tax_line(d)]
    by_code: dict[int, Decimal] | None = {}
    if taxes:
        total = sum((-signed(t.get("total")) * sign for t in taxes), ZERO)
        for t in taxes:
            code = ctx.mappings.tax_code(first_text(t.get("taxCodeXref"), doc.get("stateTaxXref")))
            if code is None:
                by_code = None
                break
            by_code[code] = by_code.get(code, ZERO) + (-signed(t.get("total")) * sign)
    else:
        levels = [lv for lv in doc.get("taxLevels") or [] if isinstance(lv, dict)]
        total = signed(doc.get("salesTax")) * sign
        codes = [ctx.mappings.tax_code(text(lv.get("taxCodeXref"))) for lv in levels]
        if levels and None not in codes:
            for code, level in zip(codes, levels):
                by_code[code] = by_code.get(code, ZERO) + signed(level.get("taxAmount")) * sign
            if sum(by_code.values(), ZERO) != total:
                by_code = None
        else:
            by_code = None if total else {}
    out.cw_tax = total
    out.cw_net = out.cw_gross - total if out.cw_gross.is_finite() else out.cw_gross
    out.cw_tax_by_code = by_code
