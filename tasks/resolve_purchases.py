"""Resolve ConnectWise expense bills and received purchases into Sage purchase documents.

Both become audit-trail transactions (PI / PC), one split per line, and Sage takes each split's
VAT as given — so the VAT must be ConnectWise's, shared out per tax code in Decimal so the
splits add up to it to the penny.

* **Expense bills** state each line gross with its VAT inside (``taxAmount``); the bill total
  is the sum of the lines. A negative line (a mileage correction) keeps its sign.
* **Purchases** (``purchaseTransactions``) follow the invoice convention: lines are credits on a
  receipt (negative) and debits on a return; ConnectWise states the input VAT once per rate
  (``purchaseDetailTax``, which names a rate, not a code). Each tax line is shared out over the
  lines whose Sage tax code has that rate, in proportion to their net, the last penny to the
  largest line.

Sage's audit trail takes no negative split, so a line running against its document is netted
into a line of the same nominal and tax code; when there is none the document is held, naming
the line.
"""

from __future__ import annotations

from decimal import Decimal

from tasks.resolved import (Line, Resolved, currency_code, exchange_rate, first_text,
                            line_label, ref, short_reference, signed, text, tax_code_of)
from tasks.sage50.money import ZERO, money

REFERENCE_LIMIT = 10                # Sage's transaction Reference, as the importers cap it


# -- expense bills ----------------------------------------------------------------------------
def resolve_expense_bill(bill: dict, key: str, ctx) -> Resolved:
    total = signed(bill.get("total"))
    sign = Decimal(-1) if total < 0 else Decimal(1)
    member = ref(bill.get("member"))
    vendor = text(bill.get("vendorNumber"))
    bill_id = text(bill.get("id"))
    details = [d for d in bill.get("detail") or [] if isinstance(d, dict)]
    out = _header(bill, key, ctx, "PC" if total < 0 else "PI",
                  vendor.upper() if vendor else None, bill_id, total,
                  member_name=first_text(member.get("name"), member.get("identifier")),
                  lines_difference=abs(sum((signed(d.get("total")) for d in details), ZERO)
                                       - total))
    out.due_date = out.date
    for n, line in enumerate(details):
        if signed(line.get("total")) == 0:
            continue
        gross, vat = signed(line.get("total")) * sign, signed(line.get("taxAmount")) * sign
        xref = text(line.get("taxCodeXref"))
        code, fix = tax_code_of(xref, ctx.mappings, ctx.facts, None, ctx.section)
        gl = text(line.get("accountNumber"))
        ids = line.get("id") if isinstance(line.get("id"), list) else [line.get("id")]
        client = text(ref(line.get("company")).get("name"))
        memo = text(line.get("memo")) or ""
        out.lines.append(Line(
            line_id=",".join(str(i) for i in ids), kind="expense",
            text=f"{memo} - {client}" if client else memo, details=None, gl_account=gl,
            nominal=ctx.mappings.nominal(gl), tax_xref=xref, tax_code=code,
            net=abs(gross - vat), negative=(gross - vat) < 0, tax=abs(vat),
            split_id=str(ids[0]) if ids and ids[0] is not None else None, tax_code_fix=fix,
            extra={"label": line_label(line, f"line {n + 1}"), "reimbursable":
                   line.get("reimbursable"), "vat_signed": vat, "gross_signed": gross}))
    out.cw_tax = sum((signed(d.get("taxAmount")) * sign for d in details), ZERO)
    out.cw_net = out.cw_gross - out.cw_tax
    out.cw_tax_by_code = _by_code(out) if all(ln.tax_code is not None for ln in out.lines) \
        else None
    _expense_vat_checks(out)
    _net_negative_lines(out)
    exchange_rate(out, ctx.facts)
    return out


def _by_code(doc: Resolved) -> dict[int, Decimal]:
    out: dict[int, Decimal] = {}
    for line in doc.lines:
        out[line.tax_code] = out.get(line.tax_code, ZERO) + line.signed_tax
    return out


def _expense_vat_checks(doc: Resolved) -> None:
    for line in doc.lines:
        gross, vat = line.extra["gross_signed"], line.extra["vat_signed"]
        if vat != 0 and (vat < 0) != (gross < 0) or abs(vat) > abs(gross):
            doc.hold(f"{line.extra['label']} claims VAT {vat} on a gross amount of {gross}: the "
                     f"VAT inside a claim cannot exceed it or run against it",
                     "correct the VAT on the expense entry in ConnectWise (Time & Expense > "
                     "Expense Entries) and approve it again", line.extra["label"])


# -- purchases ----------------------------------------------------------------------------------
def purchase_account(doc: dict, companies: dict) -> str | None:
    """The supplier A/C: vendor account number, else Vendor Nbr, else the company's Vendor ID."""
    record = companies.get(ref(doc.get("company")).get("id"), {})
    account = first_text(doc.get("vendorAccountNumber"), doc.get("vendorNumber"),
                         record.get("vendorIdentifier"))
    return account.upper() if account else None


def resolve_purchase(doc: dict, key: str, ctx) -> Resolved:
    total = signed(doc.get("total"))
    sign = Decimal(-1) if total < 0 else Decimal(1)
    reference = first_text(doc.get("vendorInvoiceNumber"), doc.get("documentNumber"))
    details = [d for d in doc.get("purchaseDetail") or [] if isinstance(d, dict)]
    taxes = [t for t in doc.get("purchaseDetailTax") or [] if isinstance(t, dict)]
    out = _header(doc, key, ctx, "PC" if total < 0 else "PI",
                  purchase_account(doc, ctx.companies), reference, total,
                  vendor_name=text(ref(doc.get("company")).get("name")),
                  lines_difference=abs(sum((signed(d.get("total")) for d in details + taxes),
                                           ZERO) + total))
    out.date = first_text(doc.get("vendorInvoiceDate"), doc.get("documentDate"))
    number = text(doc.get("documentNumber")) or ""
    for n, line in enumerate(details):
        amount = -signed(line.get("total")) * sign
        if amount == 0:
            continue
        xref = first_text(line.get("taxCodeXref"), doc.get("stateTaxXref"))
        taxable = line.get("taxable") if isinstance(line.get("taxable"), bool) else None
        code, fix = tax_code_of(xref, ctx.mappings, ctx.facts, taxable, ctx.section)
        gl = text(line.get("accountNumber"))
        words = first_text(line.get("itemDescription"), line.get("description")) or ""
        out.lines.append(Line(
            line_id=str(line.get("id")), kind="item", text=f"PO {number}: {words}",
            details=None, gl_account=gl, nominal=ctx.mappings.nominal(gl), tax_xref=xref,
            tax_code=code, net=abs(amount), negative=amount < 0, tax=ZERO,
            split_id=str(line.get("id")) if line.get("id") is not None else None,
            tax_code_fix=fix, extra={"label": line_label(line, f"line {n + 1}")}))
    out.cw_tax = sum((-signed(t.get("total")) * sign for t in taxes), ZERO)
    out.cw_net = out.cw_gross - out.cw_tax
    _share_purchase_vat(out, taxes, sign, ctx.facts)
    out.cw_tax_by_code = _by_code(out) if not out.holds else None
    _net_negative_lines(out)
    exchange_rate(out, ctx.facts)
    return out


def _tax_rate(tax: dict) -> Decimal | None:
    percent = signed(tax.get("taxRatePercent"))
    if tax.get("taxRatePercent") not in (None, "") and percent.is_finite():
        return percent
    fraction = signed(tax.get("taxRate"))
    return fraction * 100 if tax.get("taxRate") not in (None, "") and fraction.is_finite() \
        else None


def _share_purchase_vat(doc: Resolved, taxes: list[dict], sign: Decimal, facts) -> None:
    """Each ConnectWise tax line over the lines whose code has its rate (see the module)."""
    taxed = [ln for ln in doc.lines if ln.tax_code is not None
             and (facts.rate_of(ln.tax_code) or ZERO) > 0]
    for tax in taxes:
        vat = -signed(tax.get("total")) * sign
        if vat == 0:
            continue
        rate = _tax_rate(tax)
        lines = [ln for ln in taxed if rate is None or facts.rate_of(ln.tax_code) == rate]
        if rate is None and len({facts.rate_of(ln.tax_code) for ln in lines}) > 1:
            lines = []
        if not lines:
            shown = f"{rate.normalize()}%" if rate is not None else "an unstated rate"
            doc.hold(f"ConnectWise charges input VAT {vat} at {shown} (tax line "
                     f"{tax.get('id')}) but no line carries a Sage tax code with that rate",
                     "correct the lines' tax codes in ConnectWise, or map their tax code "
                     f"to a Sage code of {shown} under the pipeline's tax_codes")
            continue
        _allocate(lines, vat)


def _allocate(lines: list[Line], vat: Decimal) -> None:
    """``vat`` (signed, in document terms) over ``lines`` in proportion to their signed net,
    the pennies left over to the largest line, so the shares add up to ``vat`` exactly."""
    base = sum((ln.signed_net for ln in lines), ZERO)
    shares = [money(vat * ln.signed_net / base) if base else ZERO for ln in lines]
    largest = max(range(len(lines)), key=lambda i: lines[i].net)
    shares[largest] += vat - sum(shares, ZERO)
    for line, share in zip(lines, shares):
        current = line.signed_tax + share
        line.tax = -current if line.negative else current   # negative: VAT against its net


def _net_negative_lines(doc: Resolved) -> None:
    """Net each line that runs against its document into a line of the same nominal and
    tax code (Sage's audit trail takes no negative split); hold when there is none."""
    for line in [ln for ln in doc.lines if ln.negative]:
        home = max((ln for ln in doc.lines if not ln.negative and ln.nominal == line.nominal
                    and ln.tax_code == line.tax_code), key=lambda ln: ln.net, default=None)
        if home is None:
            doc.hold(f"{line.extra['label']} is {line.signed_net} against the document, and "
                     f"Sage's audit trail takes no negative split; no other line has nominal "
                     f"{line.nominal} and tax code {line.tax_code} to net it into",
                     "post it in ConnectWise on the same GL account and tax code as the goods "
                     "it corrects, or raise it as a separate credit in ConnectWise",
                     line.extra["label"])
            continue
        net, tax = home.signed_net + line.signed_net, home.signed_tax + line.signed_tax
        home.net, home.negative = abs(net), net < 0
        home.tax = -tax if home.negative else tax
        home.text = f"{home.text} (net of {line.extra['label']})"
        doc.lines.remove(line)
        if net < 0:
            doc.hold(f"{home.extra['label']} nets to {net} with {line.extra['label']}: more "
                     f"comes back than was charged on that nominal and tax code",
                     "raise the refund as a separate credit in ConnectWise",
                     line.extra["label"])


def _header(doc: dict, key: str, ctx, doc_type: str, account: str | None,
            reference: str | None, total: Decimal, **header) -> Resolved:
    return Resolved(
        key=key, number=text(doc.get("documentNumber")), doc_type=doc_type, account=account,
        date=text(doc.get("documentDate")), due_date=text(doc.get("dueDate")),
        reference=short_reference(reference, REFERENCE_LIMIT), full_reference=reference,
        currency=currency_code(doc.get("currency")), exchange_rate=None, lines=[],
        cw_net=ZERO, cw_tax=ZERO, cw_gross=abs(total), cw_tax_by_code=None,
        header=dict(header, stated_total=total))
