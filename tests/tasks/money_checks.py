"""The money invariants that judge ``flows.preview.preview_json`` — shared by the adversarial
corpus (test_money_corpus.py) and the property test (test_money_property.py).

Two halves:

* **What ConnectWise says**, read straight from a GLExport with this module's own arithmetic
  (``connectwise_totals``), and whether an export is internally consistent
  (``export_problems``: header totals equal their lines, GL ids unique, parties present, and
  optionally VAT computed the way ConnectWise computes it).
* **Whether a preview report keeps ConnectWise's money** (``report_problems`` /
  ``document_problems``). A document that will post (``ready`` or ``warning``) must have
  Sage net == ConnectWise net, Sage gross - ConnectWise gross == Sage tax - ConnectWise tax,
  per tax code Sage's VAT within half a penny per Sage split of that code of ConnectWise's,
  every split's VAT in line with its code's rate, and splits that add up to the header. A
  blocked document has no Sage side and at least one reason, each with a fix.

Every function returns a list of problems (empty = fine) so one assertion shows them all.
Amounts are ``Decimal`` throughout; ConnectWise's JSON numbers go through ``str``.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Iterable

import yaml

from flows.spec import deep_merge

PENNY = Decimal("0.01")
HALF_PENNY = Decimal("0.005")
ZERO = Decimal("0")

# The Sage company's tax rates in percent (UK defaults the replica is set up with).
SAGE_RATES = {"T0": Decimal(0), "T1": Decimal(20), "T2": Decimal(0), "T5": Decimal(5),
              "T9": Decimal(0)}

SECTIONS = {"invoices": "transactions", "expenses": "expenseBills",
            "procurement": "purchaseTransactions"}
GLEXPORT_LISTS = ("vendors", "customers", "transactions", "expenses", "expenseBills",
                  "purchaseTransactions", "adjustmentTransactions", "inventoryTransfers")
SAGE_TYPES = {"invoices": ("SI", "SC"), "expenses": ("PI", "PC"),
              "procurement": ("PI", "PC")}
# Pipelines whose Sage documents are audit-trail transactions: Sage takes each split's VAT as
# given, so cwsage shares ConnectWise's VAT out over the splits and a split may carry the
# allocation's leftover pennies. Invoices are product invoices: Sage computes VAT per line.
TRANSACTION_PIPELINES = frozenset({"expenses", "procurement"})
STATUSES = ("ready", "warning", "blocked")
POSTS = ("ready", "warning")                 # statuses whose document goes to Sage
MONEY_TEXT = re.compile(r"^-?\d+\.\d{2}$")
REFERENCE_LIMIT = 10                          # Sage transaction Reference as the importers cap it


# -- numbers -----------------------------------------------------------------------------------
def cw_amount(value: Any) -> Decimal:
    """A ConnectWise JSON number as an exact Decimal (None and "" are zero)."""
    if value is None or value == "":
        return ZERO
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not an amount")
    return value if isinstance(value, Decimal) else Decimal(str(value))


def round_half_up(value: Decimal) -> Decimal:
    return value.quantize(PENNY, rounding=ROUND_HALF_UP)


def money_text(value: Decimal) -> str:
    return str(round_half_up(value))


def vat_on(net: Decimal, code: str) -> Decimal:
    """VAT the way ConnectWise charges it: once on the code's net, rounded half up."""
    return round_half_up(net * SAGE_RATES[code] / 100)


def vat_inside(gross: Decimal, code: str) -> Decimal:
    """The VAT contained in a VAT-inclusive amount (expense claims), rounded half up."""
    rate = SAGE_RATES[code]
    return round_half_up(gross * rate / (100 + rate)) if rate else ZERO


def parse_money(value: Any, where: str, problems: list[str], *,
                positive: bool = False) -> Decimal | None:
    """A report amount: a string with exactly two decimals ("120.00")."""
    if not isinstance(value, str) or not MONEY_TEXT.match(value):
        problems.append(f"{where} is {value!r}: expected money text with two decimals")
        return None
    out = Decimal(value)
    if out == 0 and value.startswith("-"):
        problems.append(f"{where} is {value}: a negative zero")
    if positive and out < 0:
        problems.append(f"{where} is {value}: document amounts are positive (the type says "
                        f"whether it is an invoice or a credit)")
    return out


def code_name(key: Any) -> str:
    """A tax code as the report may name it ("T1", "t1", "1", 1) → "T1"."""
    text = str(key).strip().upper()
    return f"T{int(text)}" if text.isdigit() else text


# -- the ConnectWise side ----------------------------------------------------------------------
def documents_of(pipeline: str, export: dict) -> list[dict]:
    return [d for d in export.get(SECTIONS[pipeline]) or [] if isinstance(d, dict)]


def is_tax_line(line: dict) -> bool:
    return str(line.get("glTypeId") or "").strip().upper() == "ST"


def is_credit_memo(doc: dict) -> bool:
    return "CREDIT" in str(doc.get("documentType") or "").upper()


def document_money(pipeline: str, doc: dict) -> dict[str, Decimal]:
    """ConnectWise's net, tax and gross of one document, positive in the document's own
    direction, from its lines (never from its header fields)."""
    if pipeline == "invoices":
        way = Decimal(1) if is_credit_memo(doc) else Decimal(-1)
        lines = doc.get("detail") or []
        net = sum((cw_amount(x.get("total")) * way for x in lines if not is_tax_line(x)), ZERO)
        tax = sum((cw_amount(x.get("total")) * way for x in lines if is_tax_line(x)), ZERO)
    elif pipeline == "expenses":
        lines = doc.get("detail") or []
        tax = sum((cw_amount(x.get("taxAmount")) for x in lines), ZERO)
        net = sum((cw_amount(x.get("total")) for x in lines), ZERO) - tax
    else:
        way = Decimal(1) if cw_amount(doc.get("total")) < 0 else Decimal(-1)
        net = sum((cw_amount(x.get("total")) * way for x in doc.get("purchaseDetail") or []),
                  ZERO)
        tax = sum((cw_amount(x.get("total")) * way for x in doc.get("purchaseDetailTax") or []),
                  ZERO)
    return {"net": net, "tax": tax, "gross": net + tax}


def connectwise_totals(pipeline: str, export: dict) -> dict[str, str]:
    """ConnectWise's money over every document of the pipeline in ``export``, as money text."""
    total = {"net": ZERO, "tax": ZERO, "gross": ZERO}
    for doc in documents_of(pipeline, export):
        for key, value in document_money(pipeline, doc).items():
            total[key] += value
    return {key: money_text(value) for key, value in total.items()}


def _line_code(line: dict, header_code: str | None, taxable_key: str) -> str | None:
    own = str(line.get("taxCodeXref") or "").strip()
    if own:
        return own
    return header_code if line.get(taxable_key) is not False else None


def export_problems(pipeline: str, export: dict, *, vat_consistent: bool = True) -> list[str]:
    """Whether ``export`` is a GLExport ConnectWise could have written: every section a list,
    GL ids unique, header totals equal to the lines, parties present — and, with
    ``vat_consistent``, VAT computed as ConnectWise computes it."""
    p: list[str] = []
    if pipeline not in SECTIONS:
        return [f"unknown pipeline {pipeline!r}"]
    for name in GLEXPORT_LISTS:
        if not isinstance(export.get(name), list):
            p.append(f"GLExport.{name} is not a list")
    docs = documents_of(pipeline, export)
    if not docs:
        p.append(f"GLExport.{SECTIONS[pipeline]} holds no document")
    for other, section in SECTIONS.items():
        if other != pipeline and export.get(section):
            p.append(f"GLExport.{section} is not empty in a {pipeline} case")
    ids: list[Any] = []
    check = {"invoices": _invoice_problems, "expenses": _expense_problems,
             "procurement": _purchase_problems}[pipeline]
    for doc in docs:
        check(doc, export, ids, vat_consistent, p)
    seen: set[Any] = set()
    for gl_id in ids:
        if gl_id in seen:
            p.append(f"GL id {gl_id} is used twice in the export")
        seen.add(gl_id)
    keys = [str(doc.get("id")) for doc in docs]
    if len(set(keys)) != len(keys):
        p.append("two documents share an id")
    return p


def _two_decimals(value: Any, where: str, p: list[str]) -> None:
    amount = cw_amount(value)
    if amount != amount.quantize(PENNY):
        p.append(f"{where} {value} has more than two decimals")


def _invoice_problems(doc: dict, export: dict, ids: list, vat_ok: bool, p: list[str]) -> None:
    name = f"transaction {doc.get('id')}"
    lines = doc.get("detail") or []
    ids += [int(x) for x in str(doc.get("glEntryIds") or "").split(",") if x.strip()]
    ids += [x.get("id") for x in lines]
    total = cw_amount(doc.get("total"))
    if sum((cw_amount(x.get("total")) for x in lines), ZERO) + total != 0:
        p.append(f"{name}: sum(detail.total) + total != 0")
    taxes = sum((cw_amount(x.get("total")) for x in lines if is_tax_line(x)), ZERO)
    if cw_amount(doc.get("salesTax")) + taxes != 0:
        p.append(f"{name}: salesTax does not equal its ST lines")
    if (total > 0) == is_credit_memo(doc) or total == 0:
        p.append(f"{name}: documentType {doc.get('documentType')} but total {total}")
    for x in lines:
        _two_decimals(x.get("total"), f"{name} line {x.get('id')} total", p)
    company = (doc.get("company") or {}).get("id")
    entries = [c for c in export.get("customers") or []
               if (c.get("company") or {}).get("id") == company]
    records = [c for c in export.get("companies") or [] if c.get("id") == company]
    if not entries:
        p.append(f"{name}: no customers[] entry for company {company}")
    elif entries[0].get("accountNumber") != doc.get("companyAccountNumber"):
        p.append(f"{name}: companyAccountNumber differs from the customer entry's")
    if not records:
        p.append(f"{name}: no companies[] record for company {company}")
    elif records[0].get("accountNumber") != doc.get("companyAccountNumber"):
        p.append(f"{name}: companyAccountNumber differs from the company record's")
    if vat_ok:
        way = Decimal(1) if is_credit_memo(doc) else Decimal(-1)
        header = str(doc.get("stateTaxXref") or "").strip() or None
        nets: dict[str, Decimal] = {}
        for x in lines:
            if not is_tax_line(x):
                code = _line_code(x, header, "taxableFlag")
                if code is not None:
                    nets[code] = nets.get(code, ZERO) + cw_amount(x.get("total")) * way
        stated: dict[str, Decimal] = {}
        for x in lines:
            if is_tax_line(x):
                code = str(x.get("taxCodeXref") or header or "")
                stated[code] = stated.get(code, ZERO) + cw_amount(x.get("total")) * way
        for code in set(nets) | set(stated):
            want = vat_on(nets.get(code, ZERO), code) if code in SAGE_RATES else ZERO
            if stated.get(code, ZERO) != want:
                p.append(f"{name}: ST lines say {stated.get(code, ZERO)} VAT at {code}, "
                         f"ConnectWise would charge {want}")


def _expense_problems(bill: dict, export: dict, ids: list, vat_ok: bool, p: list[str]) -> None:
    name = f"expense bill {bill.get('id')}"
    lines = bill.get("detail") or []
    ids.append(bill.get("id"))
    for x in lines:
        if not isinstance(x.get("id"), list):
            p.append(f"{name}: a detail id is not a list")
        else:
            ids += x["id"]
        _two_decimals(x.get("total"), f"{name} line {x.get('id')} total", p)
    if sum((cw_amount(x.get("total")) for x in lines), ZERO) != cw_amount(bill.get("total")):
        p.append(f"{name}: total != sum(detail.total)")
    member = (bill.get("member") or {}).get("id")
    entries = [v for v in export.get("vendors") or [] if (v.get("member") or {}).get("id") == member]
    if not entries:
        p.append(f"{name}: no vendors[] entry for member {member}")
    elif entries[0].get("vendorNumber") != bill.get("vendorNumber"):
        p.append(f"{name}: vendorNumber differs from the member's vendors[] entry")
    if vat_ok:
        for x in lines:
            code = str(x.get("taxCodeXref") or "")
            want = vat_inside(cw_amount(x.get("total")), code) if code in SAGE_RATES else ZERO
            if cw_amount(x.get("taxAmount")) != want:
                p.append(f"{name} line {x.get('id')}: taxAmount {x.get('taxAmount')}, the VAT "
                         f"inside {x.get('total')} at {code or 'no code'} is {want}")


def _purchase_problems(doc: dict, export: dict, ids: list, vat_ok: bool, p: list[str]) -> None:
    name = f"purchase {doc.get('id')!r}"
    lines, taxes = doc.get("purchaseDetail") or [], doc.get("purchaseDetailTax") or []
    ids += [x.get("id") for x in lines + taxes]
    total = cw_amount(doc.get("total"))
    if sum((cw_amount(x.get("total")) for x in lines + taxes), ZERO) + total != 0:
        p.append(f"{name}: sum(purchaseDetail.total) + sum(purchaseDetailTax.total) + total != 0")
    for x in lines + taxes:
        _two_decimals(x.get("total"), f"{name} line {x.get('id')} total", p)
    freight = sum((abs(cw_amount(x.get("total"))) for x in lines
                   if x.get("accountNumber") == "5100" and not x.get("glItemId")), ZERO)
    if cw_amount(doc.get("freightAmount")) != freight:
        p.append(f"{name}: freightAmount {doc.get('freightAmount')} but carriage lines {freight}")
    company = (doc.get("company") or {}).get("id")
    entries = [v for v in export.get("vendors") or [] if (v.get("vendor") or {}).get("id") == company]
    records = [c for c in export.get("companies") or [] if c.get("id") == company]
    if not entries:
        p.append(f"{name}: no vendors[] entry for company {company}")
    elif doc.get("vendorAccountNumber") and \
            entries[0].get("accountNumber") != doc.get("vendorAccountNumber"):
        p.append(f"{name}: vendorAccountNumber differs from the vendors[] entry")
    if not records:
        p.append(f"{name}: no companies[] record for company {company}")
    elif not (records[0].get("vendorIdentifier") or records[0].get("accountNumber")):
        p.append(f"{name}: the vendor's company record has no Vendor ID or account number")
    if vat_ok:
        way = Decimal(1) if total < 0 else Decimal(-1)
        header = str(doc.get("stateTaxXref") or "").strip() or None
        nets: dict[Decimal, Decimal] = {}
        for x in lines:
            code = _line_code(x, header, "taxable")
            if code in SAGE_RATES and SAGE_RATES[code] > 0:
                rate = SAGE_RATES[code]
                nets[rate] = nets.get(rate, ZERO) + cw_amount(x.get("total")) * way
        stated: dict[Decimal, Decimal] = {}
        for x in taxes:
            rate = cw_amount(x.get("taxRatePercent"))
            stated[rate] = stated.get(rate, ZERO) + cw_amount(x.get("total")) * way
        for rate in set(nets) | set(stated):
            want = round_half_up(nets.get(rate, ZERO) * rate / 100)
            if stated.get(rate, ZERO) != want:
                p.append(f"{name}: tax lines say {stated.get(rate, ZERO)} at {rate}%, "
                         f"ConnectWise would charge {want}")


# -- the report side ---------------------------------------------------------------------------
def status_matches(expected: str, actual: str) -> bool:
    """``ready`` is met by ``ready`` or ``warning`` (both post); ``blocked`` only by itself."""
    return actual in POSTS if expected == "ready" else actual == expected


def reason_texts(doc: dict) -> list[str]:
    """Each reason of a report document as one text: every string it holds."""
    out = []
    for reason in doc.get("reasons") or []:
        if isinstance(reason, dict):
            out.append(" ".join(str(v) for v in reason.values() if isinstance(v, (str, int))))
    return out


def mentions(doc: dict, wanted: str | Iterable[str]) -> bool:
    """Whether a reason of ``doc`` contains ``wanted`` (a text, or any of several)."""
    options = [wanted] if isinstance(wanted, str) else list(wanted)
    return any(option in text for text in reason_texts(doc) for option in options)


def fix_mentions(doc: dict, wanted: str) -> bool:
    return any(isinstance(r, dict) and wanted in str(r.get("fix") or "")
               for r in doc.get("reasons") or [])


def report_problems(report: Any, pipeline: str, export: dict) -> list[str]:
    """The whole report: its shape, one entry per ConnectWise document, each document sound."""
    if not isinstance(report, dict):
        return [f"preview_json returned {type(report).__name__}, not a dict"]
    p: list[str] = []
    if report.get("pipeline") != pipeline:
        p.append(f"report.pipeline is {report.get('pipeline')!r}, not {pipeline!r}")
    docs = report.get("documents")
    if not isinstance(docs, list):
        return p + ["report.documents is not a list"]
    want = len(documents_of(pipeline, export))
    if len(docs) != want:
        p.append(f"the report has {len(docs)} documents, the export {want}")
    keys = [d.get("key") for d in docs if isinstance(d, dict)]
    if len(set(keys)) != len(keys):
        p.append(f"two report documents share a key: {keys}")
    for doc in docs:
        p += document_problems(pipeline, doc)
    return p


def document_problems(pipeline: str, doc: Any) -> list[str]:
    """One report document: reasons well formed; a blocked one has reasons and no Sage side; a
    posting one keeps ConnectWise's money (see the module docstring)."""
    if not isinstance(doc, dict):
        return [f"a report document is {type(doc).__name__}, not a dict"]
    key = doc.get("key")
    p: list[str] = []
    status = doc.get("status")
    if status not in STATUSES:
        p.append(f"{key}: status {status!r} is not one of {STATUSES}")
    reasons = doc.get("reasons")
    if not isinstance(reasons, list):
        p.append(f"{key}: reasons is not a list")
        reasons = []
    for n, reason in enumerate(reasons):
        if not isinstance(reason, dict) or not str(reason.get("reason") or "").strip():
            p.append(f"{key}: reason {n} has no text")
        elif not str(reason.get("fix") or "").strip():
            p.append(f"{key}: reason {reason.get('reason')!r} has no fix")
    if status == "blocked":
        if not reasons:
            p.append(f"{key}: blocked without a reason")
        if doc.get("sage") is not None:
            p.append(f"{key}: blocked but has a Sage side")
    cw = doc.get("connectwise")
    if not isinstance(cw, dict):
        p.append(f"{key}: no ConnectWise figures")
    elif status not in POSTS:                   # a posting document's are checked below
        for field in ("net", "tax", "gross"):
            parse_money(cw.get(field), f"{key}: connectwise.{field}", p)
    if status in POSTS:
        p += money_problems(pipeline, doc)
    return p


def money_problems(pipeline: str, doc: dict) -> list[str]:
    """The money invariant of a document that will post."""
    key = doc.get("key")
    p: list[str] = []
    sage, cw = doc.get("sage"), doc.get("connectwise")
    if not isinstance(sage, dict):
        return [f"{key}: status {doc.get('status')} but no Sage side"]
    if not isinstance(cw, dict):
        return [f"{key}: no ConnectWise figures"]
    if sage.get("type") not in SAGE_TYPES[pipeline]:
        p.append(f"{key}: Sage type {sage.get('type')!r}, expected one of {SAGE_TYPES[pipeline]}")
    for field in ("account", "reference", "currency"):
        if not isinstance(sage.get(field), str) or not sage[field].strip():
            p.append(f"{key}: Sage {field} is {sage.get(field)!r}")
    transactions = pipeline in TRANSACTION_PIPELINES
    if transactions and isinstance(sage.get("reference"), str) and \
            len(sage["reference"]) > REFERENCE_LIMIT:
        p.append(f"{key}: Sage reference {sage['reference']!r} is longer than "
                 f"{REFERENCE_LIMIT} characters, so Sage would not hold it as shown")
    if sage.get("currency") == "GBP" and sage.get("exchange_rate") not in (None, ""):
        try:
            if Decimal(str(sage["exchange_rate"])) != 1:
                p.append(f"{key}: a GBP document with exchange rate {sage['exchange_rate']}")
        except InvalidOperation:
            p.append(f"{key}: exchange rate {sage['exchange_rate']!r} is not a number")
    s = {f: parse_money(sage.get(f), f"{key}: sage.{f}", p, positive=True)
         for f in ("net", "tax", "gross")}
    c = {f: parse_money(cw.get(f), f"{key}: connectwise.{f}", p) for f in ("net", "tax", "gross")}
    splits = sage.get("splits")
    if not isinstance(splits, list) or not splits:
        return p + [f"{key}: the Sage side has no splits"]
    if None in s.values() or None in c.values():
        return p
    if s["gross"] != s["net"] + s["tax"]:
        p.append(f"{key}: Sage gross {s['gross']} != net {s['net']} + tax {s['tax']}")
    if s["net"] != c["net"]:
        p.append(f"{key}: Sage net {s['net']} != ConnectWise net {c['net']}")
    if s["gross"] - c["gross"] != s["tax"] - c["tax"]:
        p.append(f"{key}: Sage gross - ConnectWise gross ({s['gross'] - c['gross']}) != Sage tax "
                 f"- ConnectWise tax ({s['tax'] - c['tax']})")

    per_code: dict[str, list[tuple[Decimal, Decimal]]] = {}
    net_sum = tax_sum = ZERO
    for n, split in enumerate(splits):
        where = f"{key}: split {n}"
        if not isinstance(split, dict):
            p.append(f"{where} is not an object")
            continue
        if not isinstance(split.get("nominal"), str) or not split["nominal"].strip():
            p.append(f"{where} has no nominal code")
        code = code_name(split.get("tax_code"))
        net = parse_money(split.get("net"), f"{where} net", p)
        tax = parse_money(split.get("tax"), f"{where} tax", p)
        if code not in SAGE_RATES:
            p.append(f"{where}: tax code {split.get('tax_code')!r} has no known Sage rate")
            continue
        if net is None or tax is None:
            continue
        if transactions and net < 0:
            p.append(f"{where}: net {net} — Sage's audit trail takes no negative split")
        per_code.setdefault(code, []).append((net, tax))
        net_sum, tax_sum = net_sum + net, tax_sum + tax
    if net_sum != s["net"]:
        p.append(f"{key}: the splits' net adds up to {net_sum}, the header says {s['net']}")
    if tax_sum != s["tax"]:
        p.append(f"{key}: the splits' tax adds up to {tax_sum}, the header says {s['tax']}")

    # Each split's VAT against its code's rate: Sage computes an invoice line's VAT itself
    # (half a penny of rounding); a transaction split carries ConnectWise's VAT shared out, so
    # it may also hold the share-out's leftover pennies (at most half a penny per split).
    for code, rows in per_code.items():
        rate = SAGE_RATES[code] / 100
        allowed = HALF_PENNY * (len(rows) + 1) if transactions else HALF_PENNY
        for net, tax in rows:
            if abs(tax - net * rate) > allowed:
                p.append(f"{key}: a {code} split of net {net} carries VAT {tax}; {code} at "
                         f"{SAGE_RATES[code]}% gives {net * rate} (allowed {allowed})")

    # Per tax code: Sage's VAT within half a penny per Sage split of that code of ConnectWise's.
    by_code = cw.get("by_tax_code")
    if isinstance(by_code, dict) and by_code:
        stated: dict[str, Decimal] = {}
        for raw, entry in by_code.items():
            if isinstance(entry, dict) and entry.get("tax") is not None:
                value = parse_money(entry.get("tax"), f"{key}: connectwise.by_tax_code[{raw}].tax",
                                    p)
                if value is not None:
                    stated[code_name(raw)] = stated.get(code_name(raw), ZERO) + value
        for code in set(stated) | set(per_code):
            if code not in stated:
                continue                       # ConnectWise states no VAT for it: total below
            rows = per_code.get(code, [])
            sage_tax = sum((t for _, t in rows), ZERO)
            if abs(sage_tax - stated[code]) > HALF_PENNY * len(rows):
                p.append(f"{key}: {code} VAT is {sage_tax} in Sage and {stated[code]} in "
                         f"ConnectWise, more than half a penny x {len(rows)} split(s) apart")
    lines = sum(len(rows) for rows in per_code.values())
    if abs(s["tax"] - c["tax"]) > HALF_PENNY * lines:
        p.append(f"{key}: Sage VAT {s['tax']} and ConnectWise VAT {c['tax']} are more than half "
                 f"a penny x {lines} split(s) apart")
    return p


def report_connectwise_totals(report: dict) -> dict[str, str] | None:
    """The report's ConnectWise net, tax and gross added over its documents (None when a
    document has no ConnectWise figures)."""
    total = {"net": ZERO, "tax": ZERO, "gross": ZERO}
    for doc in report.get("documents") or []:
        cw = doc.get("connectwise") if isinstance(doc, dict) else None
        if not isinstance(cw, dict):
            return None
        for field in total:
            try:
                total[field] += Decimal(str(cw.get(field)))
            except InvalidOperation:
                return None
    return {field: money_text(value) for field, value in total.items()}


# -- the spec a case runs against --------------------------------------------------------------
def spec_with_overlay(spec: Path, pipeline: str, overlay: dict, folder: Path) -> Path:
    """A copy of ``spec`` in ``folder`` whose pipeline ``pipeline`` has ``overlay`` merged in
    (e.g. ``{"mappings": {"tax_codes": {"T5": 5}}}``). Stylesheets and suites stay the
    original ones (absolute paths), so only the overlay differs."""
    raw = yaml.safe_load(spec.read_text(encoding="utf-8"))
    base = spec.resolve().parent
    for name, body in raw["pipelines"].items():
        body.setdefault("transform", {}).setdefault("stylesheet", str(base / f"xslt/{name}.xsl"))
        body.setdefault("validate", {}).setdefault("suite", str(base / f"expectations/{name}.json"))
    raw["pipelines"][pipeline] = deep_merge(raw["pipelines"][pipeline], overlay)
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / "pipelines.yaml"
    out.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return out
