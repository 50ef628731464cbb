"""Resolve a document of a declared kind (``tasks.declared``) — see ``tasks.resolved``.

Every value is read where the kind says ConnectWise states it; nothing is computed that
ConnectWise did not state. Money is Decimal, exactly as given:

* the **document's direction** is the sign of its gross: a negative gross is a credit, and
  every amount is turned into document terms by that sign (a line whose net then runs against
  the document is kept, marked negative, as a discount line is);
* the **Sage type** is the one the kind names, or the one for the gross's sign
  (``{positive: SI, negative: SC}``); a negative gross on a kind with one fixed type is held;
* each line's **net and VAT** are ConnectWise's; its nominal and Sage tax code come from the
  pipeline's mappings (``tasks.resolved.tax_code_of``), as for every kind;
* ConnectWise's **totals** are the document's; where the lines do not add up to them, the
  view's ``lines_difference`` says by how much, and the money gate compares Sage's pricing
  with the totals.

A money value that is missing or not a number, a lines path that holds no array, a line that
is not an object, or (for a kind posted back) a GL entry id that is not a whole number holds
the document with the path to look at and the fix — it is never guessed at.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tasks.config.kind import SignedType
from tasks.declared import DeclaredEntity
from tasks.declared_paths import value_at, whole_number
from tasks.resolved import (Line, Resolved, exchange_rate, price_layout, short_reference,
                            signed, text, tax_code_of)
from tasks.sage50.money import ZERO


def _money(record: Any, path: str) -> tuple[Decimal | None, str | None]:
    """(the amount, None) or (None, what is wrong with it)."""
    value = value_at(record, path)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, f"has no value at {path}"
    amount = signed(value) if not isinstance(value, (bool, dict, list)) else Decimal("NaN")
    if not amount.is_finite():
        return None, f"has {str(value)[:40]!r} at {path}, which is not an amount"
    return amount, None


def _fix(entity: DeclaredEntity, section: str) -> str:
    return (f"check the record in ConnectWise ({entity.unposted_path}); if ConnectWise states "
            f"that amount elsewhere, correct the path under {section} in pipelines.yaml")


def resolve_declared(entity: DeclaredEntity, doc: dict, key: str, ctx) -> Resolved:
    kind = entity.config
    header = kind.header
    totals = {name: _money(doc, getattr(kind.totals, name)) for name in ("net", "tax", "gross")}
    gross = totals["gross"][0] if totals["gross"][0] is not None else ZERO
    sign = Decimal(-1) if gross < 0 else Decimal(1)
    number = text(value_at(doc, header.number))
    reference = text(value_at(doc, header.reference)) if header.reference else number
    account = text(value_at(doc, header.account))
    out = Resolved(
        key=key, number=number, doc_type=_doc_type(header.type, sign),
        account=account.upper() if account else None, date=text(value_at(doc, header.date)),
        due_date=text(value_at(doc, header.due_date)),
        reference=short_reference(reference, header.reference_limit), full_reference=reference,
        currency=text(value_at(doc, header.currency)) if header.currency
        else ctx.facts.base_currency, exchange_rate=None, lines=[],
        cw_net=(totals["net"][0] or ZERO) * sign, cw_tax=(totals["tax"][0] or ZERO) * sign,
        cw_gross=abs(gross), cw_tax_by_code=None)
    section = ctx.section.removesuffix(".mappings") + ".extract.kind"
    for name, (_, problem) in totals.items():
        if problem:
            out.hold(f"the document {problem} (its {name} total)", _fix(entity, section))
    if not isinstance(header.type, SignedType) and sign < 0:
        out.hold(f"ConnectWise states a gross of {gross}, a credit, but the kind declares "
                 f"type {header.type}", f"declare type: {{positive: …, negative: …}} under "
                 f"{section}.header, or check the document in ConnectWise")
    _lines(out, entity, doc, sign, ctx, section)
    _check_gl_ids(out, entity, doc, section)
    _settle(out)
    exchange_rate(out, ctx.facts)
    return out


def _doc_type(declared, sign: Decimal) -> str:
    if isinstance(declared, SignedType):
        return declared.negative if sign < 0 else declared.positive
    return declared


def _lines(out: Resolved, entity: DeclaredEntity, doc: dict, sign: Decimal, ctx,
           section: str) -> None:
    spec = entity.config.lines
    items = entity.lines_of(doc)
    if not isinstance(items, list):
        out.hold(f"the document has no array of lines at {spec.path}",
                 _fix(entity, f"{section}.lines"))
        return
    for n, line in enumerate(items, 1):
        label = f"line {n}"
        if not isinstance(line, dict):
            out.hold(f"{label} is not a JSON object", _fix(entity, f"{section}.lines"), label)
            continue
        resolved = _line(out, entity, line, n, doc, sign, ctx, section)
        if resolved is not None:
            out.lines.append(resolved)


def _line(out: Resolved, entity: DeclaredEntity, line: dict, n: int, doc: dict,
          sign: Decimal, ctx, section: str) -> Line | None:
    spec = entity.config.lines
    ident = value_at(line, spec.id) if spec.id else \
        (entity.source_id(doc) if spec.path is None else n)
    words = text(value_at(line, spec.description))
    label = f"line {ident}" + (f" ({words})" if words else "")
    (net, net_problem), (vat, vat_problem) = _money(line, spec.net), _money(line, spec.tax)
    for problem in (net_problem, vat_problem):
        if problem:
            out.hold(f"{label} {problem}", _fix(entity, f"{section}.lines"), label)
    if net is None or vat is None or (net == 0 and vat == 0):
        return None
    amount, tax = net * sign, vat * sign
    if tax != 0 and (tax < 0) != (amount < 0):
        out.hold(f"{label} states VAT {vat} against a net of {net}: VAT cannot run against "
                 "its own line", "correct the line's VAT in ConnectWise", label)
    xref = text(value_at(line, spec.tax_code))
    code, code_fix = tax_code_of(xref, ctx.mappings, ctx.facts, None, ctx.section)
    gl = text(value_at(line, spec.gl_account))
    qty, price = price_layout(abs(amount), value_at(line, spec.quantity) if spec.quantity
                              else 1, value_at(line, spec.unit_price))
    sku = text(value_at(line, spec.sku))
    line_id = str(ident)
    return Line(line_id=line_id, kind="item", text=words or "", details=None, gl_account=gl,
                nominal=ctx.mappings.nominal(gl), tax_xref=xref, tax_code=code,
                net=abs(amount), negative=amount < 0, tax=abs(tax),
                sku=sku.upper() if sku else ctx.mappings.default_stock_code, qty=qty,
                unit_price=price, split_id=line_id if whole_number(line_id) is not None
                and len(line_id) <= 8 else None, tax_code_fix=code_fix,
                extra={"label": label})


def _check_gl_ids(out: Resolved, entity: DeclaredEntity, doc: dict, section: str) -> None:
    bad = [v for v in entity.gl_values(doc) if whole_number(v) is None]
    if bad:
        out.hold(f"GL entry ids {bad[:5]!r} at {', '.join(entity.config.gl_ids or [])} are "
                 "not whole numbers, so the document could not be batched back in full",
                 _fix(entity, f"{section}.gl_ids"))


def _settle(out: Resolved) -> None:
    """VAT per tax code when every line has one; how far the lines are from the totals."""
    if out.lines and all(ln.tax_code is not None for ln in out.lines):
        by_code: dict[int, Decimal] = {}
        for ln in out.lines:
            by_code[ln.tax_code] = by_code.get(ln.tax_code, ZERO) + ln.signed_tax
        out.cw_tax_by_code = by_code
    nets = sum((ln.signed_net for ln in out.lines), ZERO)
    taxes = sum((ln.signed_tax for ln in out.lines), ZERO)
    out.header["lines_difference"] = (abs(nets - out.cw_net) + abs(taxes - out.cw_tax)
                                      + abs(out.cw_net + out.cw_tax - out.cw_gross))
