"""Sage 50 UK's import rules that need no database: field formats, lengths, codes, dates.

Both writers apply these before anything is written; the replica adds the rules that need its
ledgers (accounts, stock, used invoice numbers). Each check appends one problem to a list, in
the form ``<Field> <value> <what is wrong> — <how to fix it>``; ``reason`` joins them behind the
document key, which is what a rejected ``DocumentResult`` carries. The rule ids the messages
carry (``R-ACC-1`` …) are defined in ``docs/sage50-rules.md``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Iterable, Mapping

from tasks.sage50.sagexml import Account, CompanyXml

AC_RE = re.compile(r"^[A-Z0-9]{1,8}$")                  # R-ACC-1
SKU_RE = re.compile(r"^[A-Z0-9/.\-#]{1,30}$")           # R-INV-2
TAX_CODE_RE = re.compile(r"^[0-9]{1,2}$")
SPLIT_ID_RE = re.compile(r"^[0-9]{1,8}$")               # R-ID-2
INVOICE_NUMBER_RE = re.compile(r"^[0-9]{1,7}$")         # R-INV-1
CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")
# No product record, no stock (docs/sage50-rules.md, "Special product codes (S1, S2, S3, M)").
SPECIAL_SKUS = frozenset({"S1", "S2", "S3", "M"})
MESSAGE_SKU = "M"
MAX_AMOUNT = Decimal("100000000")                       # 8 digits + 2 dp
BASE_CURRENCY = "GBP"

INVOICE_TYPES = {"ProductInvoice": "SI", "ProductCredit": "SC"}
TRANSACTION_TYPES = {"SalesInvoice": "SI", "SalesCredit": "SC",
                     "PurchaseInvoice": "PI", "PurchaseCredit": "PC"}
LEDGER_OF = {"SI": "customer", "SC": "customer", "PI": "supplier", "PC": "supplier"}

# Control accounts of the UK default chart that take no direct postings: Sage posts to them
# itself for every SI/SC/PI/PC, so a line or split that names one would post twice
# (docs/sage50-rules.md, "Control accounts").
NO_DIRECT_POSTING = {"1100": "debtors", "2100": "creditors", "2200": "VAT on sales",
                     "2201": "VAT on purchases", "2202": "VAT liability",
                     "2204": "VAT manual adjustments"}

UK_TAX_RATES = {0: Decimal("0"), 1: Decimal("20"), 2: Decimal("0"), 4: Decimal("0"),
                5: Decimal("5"), 7: Decimal("0"), 8: Decimal("20"), 9: Decimal("0"),
                20: Decimal("0")}

ACCOUNT_TEXT_LIMITS = (("CompanyName", "name", 60), ("VatNumber", "vat_number", 20),
                       ("Terms", "terms", 30))
ADDRESS_TEXT_LIMITS = (("Company", "company", 60), ("Address1", "address1", 60),
                       ("Address2", "address2", 60), ("County", "county", 60),
                       ("Postcode", "postcode", 60), ("Country", "country", 2),
                       ("Telephone", "telephone", 30), ("Fax", "fax", 30),
                       ("Email", "email", 255), ("Website", "website", 255),
                       ("Forename/Surname", "contact", 30))


@dataclass(frozen=True)
class Chart:
    """What a writer knows of the target company. ``None`` means "not known here: don't check"."""
    tax_rates: Mapping[int, Decimal]
    no_direct: Mapping[str, str]
    nominals: Mapping[str, str] | None = None
    currencies: Mapping[str, Decimal] | None = None
    base_currency: str = BASE_CURRENCY
    lock_date: date | None = None


def reason(key: str, problems: Iterable[str]) -> str:
    return f"{key}: " + "; ".join(problems)


def fixes(text: str | None) -> str:
    """The fixes a rejection's reason carries (each problem ends ``— <how to fix it>``), joined;
    a generic fix only when a problem names none."""
    found = [p.rsplit(" — ", 1)[1].strip() for p in (text or "").split("; ") if " — " in p]
    return "; ".join(dict.fromkeys(found)) or \
        "correct the data in ConnectWise or the mapping in pipelines.yaml and run again"


def show(value: str) -> str:
    """A value as quoted in a message, shortened so a 500-character field stays readable."""
    return repr(value if len(value) <= 40 else value[:37] + "...")


def check_text(p: list[str], field: str, value: str | None, limit: int) -> None:
    if value is None:
        return
    if len(value) > limit:
        p.append(f"{field} {show(value)} is {len(value)} characters, Sage allows {limit} "
                 f"(R-TXT-1) — truncate it in the stylesheet")
    if CONTROL_CHARS.search(value):
        p.append(f"{field} {show(value)} contains a line break or control character "
                 f"(R-TXT-1) — strip it in the stylesheet")


def check_ac(p: list[str], value: str | None, field: str = "AccountReference") -> None:
    if not value:
        p.append(f"{field} is missing — every document names its Sage A/C")
    elif not AC_RE.match(value):
        p.append(f"{field} {show(value)} is not a valid Sage A/C: 1-8 characters, A-Z and 0-9 "
                 f"only, upper case (R-ACC-1) — fix the account number in ConnectWise or the "
                 f"A/C mapping")


def check_nominal(p: list[str], field: str, code: str | None, chart: Chart) -> None:
    if not code:
        p.append(f"{field} is missing — send the nominal code explicitly (R-INV-5)")
    elif code in chart.no_direct:
        p.append(f"{field} {show(code)} is the {chart.no_direct[code]} control account, which "
                 f"takes no direct postings — map the line to an income or expense nominal")
    elif chart.nominals is not None and code not in chart.nominals:
        p.append(f"{field} {show(code)} is not in the Sage nominal ledger — create it in Sage "
                 f"or fix the nominal code mapping")


def tax_code(p: list[str], field: str, text: str | None,
             chart: Chart) -> tuple[int, Decimal] | None:
    if not text:
        p.append(f"{field} is missing — send the tax code explicitly (R-INV-5, R-TAX-4)")
        return None
    if not TAX_CODE_RE.match(text):
        p.append(f"{field} {show(text)} is not a Sage tax code number 0-99 (T1 is sent as 1) "
                 f"— fix the tax code mapping")
        return None
    code = int(text)
    rate = chart.tax_rates.get(code)
    if rate is None:
        p.append(f"{field} {code} (T{code}) is not set up in Sage's tax codes — add T{code} in "
                 f"Sage or fix the tax code mapping")
        return None
    return code, rate


def decimal(p: list[str], field: str, text: str | None, *, pennies: bool = False,
            positive: bool = False) -> Decimal | None:
    """A number from the XML; ``pennies`` = an amount (2 dp at most, 8 digits)."""
    if text is None or text == "":
        p.append(f"{field} is missing — the stylesheet must send it")
        return None
    try:
        d = Decimal(text)
    except InvalidOperation:
        d = None
    if d is None or not d.is_finite():
        p.append(f"{field} {show(text)} is not a number — fix the stylesheet output")
        return None
    if pennies and (d.as_tuple().exponent < -2 or abs(d) >= MAX_AMOUNT):
        p.append(f"{field} {show(text)} is not an amount Sage holds (8 digits, 2 decimal "
                 f"places) — round it in the stylesheet")
    if positive and d < 0:
        p.append(f"{field} {show(text)} is negative; Sage takes positive amounts and the "
                 f"document type gives the sign (R-CR-1) — send a credit type instead")
    return d


@lru_cache(maxsize=4096)
def _iso_date(text: str) -> date | None:
    try:
        return datetime.fromisoformat(text).date()
    except ValueError:
        return None


def iso_date(p: list[str], field: str, text: str | None, chart: Chart, *,
             required: bool = True, locked: bool = True) -> date | None:
    if not text:
        if required:
            p.append(f"{field} is missing — cwsage always sends the document date")
        return None
    d = _iso_date(text)
    if d is None:
        p.append(f"{field} {show(text)} is not an ISO date (yyyy-MM-ddTHH:mm:ss, R-DATE-1) — "
                 f"fix the date format in the stylesheet")
    elif locked and chart.lock_date is not None and d <= chart.lock_date:
        p.append(f"{field} {d.isoformat()} is on or before the lock date "
                 f"{chart.lock_date.isoformat()} (R-DATE-2) — date it in an open period or "
                 f"ask finance to move the lock date")
    return d


def currency(p: list[str], text: str | None, chart: Chart) -> str:
    code = text or chart.base_currency
    if chart.currencies is not None and code not in chart.currencies:
        p.append(f"Currency {show(code)} is not set up in Sage's currency table (R-CUR-3) — add "
                 f"it in Sage or fix the currency mapping")
    return code


def exchange_rate(p: list[str], field: str, code: str, text: str | None,
                  chart: Chart) -> Decimal:
    """The document's rate (foreign units per base unit): 1 for the base currency; for any
    other, the rate the XML carries — Sage would otherwise apply whatever rate it holds."""
    if code == chart.base_currency:
        if text not in (None, "") and decimal(p, field, text) not in (None, Decimal(1)):
            p.append(f"{field} {show(text)} is given for a {code} document, whose rate is 1 — "
                     f"leave it out")
        return Decimal(1)
    if text in (None, ""):
        p.append(f"{field} is missing for a {code} document — send the exchange rate the Sage "
                 f"company holds for {code}; cwsage never lets Sage pick one")
        return Decimal(1)
    rate = decimal(p, field, text)
    if rate is not None and rate <= 0:
        p.append(f"{field} {show(text)} is not a rate above 0 — configure the {code} rate")
    return rate if rate is not None and rate > 0 else Decimal(1)


def check_account(acc: Account, chart: Chart) -> list[str]:
    """Problems with a Customer/Supplier element on its own (no ledger lookups)."""
    p: list[str] = []
    if not acc.has_id:
        p.append("Id is missing — cwsage keys every account by its ConnectWise id")
    check_ac(p, acc.account_ref)
    if not acc.name and not acc.address.contact:
        p.append("CompanyName is missing — Sage needs an account name")
    for field, attr, limit in ACCOUNT_TEXT_LIMITS:
        check_text(p, field, getattr(acc, attr), limit)
    check_address(p, f"{acc.element.tag}InvoiceAddress", acc.address, town_alone=True)
    if acc.currency is not None:
        currency(p, acc.currency, chart)
    if acc.credit_limit:
        decimal(p, "CreditLimit", acc.credit_limit, pennies=True, positive=True)
    if acc.payment_days and not acc.payment_days.isdigit():
        p.append(f"PaymentDays {show(acc.payment_days)} is not a whole number of days — fix "
                 f"the payment terms mapping")
    if acc.tax_code:
        tax_code(p, "TaxCode", acc.tax_code, chart)
    if acc.nominal_code:
        check_nominal(p, "NominalCode", acc.nominal_code, chart)
    return p


def check_address(p: list[str], where: str, a, *, town_alone: bool) -> None:
    for field, attr, limit in ADDRESS_TEXT_LIMITS:
        check_text(p, f"{where}/{field}", getattr(a, attr), limit)
    line3 = a.town if town_alone else ", ".join(x for x in (a.address3, a.town) if x)
    check_text(p, f"{where}/Address3+Town", line3 or None, 60)


def xml_problems(company: CompanyXml) -> dict[tuple[str, str], str]:
    """Problems that only show across documents of one XML: repeated keys, A/Cs, split Ids.

    Keyed by ``(kind, key)``: kind is "customer"/"supplier" for accounts, "document" otherwise.
    """
    out: dict[tuple[str, str], str] = {}
    docs = [i.key for i in company.invoices if i.has_id]
    docs += [g.key for g in company.transactions if g.splits[0].second_reference]
    for key in repeated(docs):
        out["document", key] = (f"Id {show(key)} appears more than once in this XML — each "
                                f"ConnectWise document must appear once, its transaction splits "
                                f"adjacent (R-GRP-1)")
    _account_clashes(company.accounts, out)
    ids = [s.split_id for g in company.transactions for s in g.splits if s.split_id]
    twice = repeated(ids)
    for g in company.transactions:
        for s in g.splits:
            if s.split_id in twice:
                out.setdefault(("document", g.key), f"split Id {show(s.split_id)} appears more "
                               f"than once in this XML — split Ids must be unique (R-ID-2)")
    return out


def _account_clashes(accounts: list[Account], out: dict) -> None:
    by_ref: dict[tuple[str, str], set[str]] = {}
    for a in accounts:
        by_ref.setdefault((a.kind, a.account_ref or ""), set()).add(a.key)
    dup_ids = repeated((a.kind, a.key) for a in accounts)
    for a in accounts:
        keys = by_ref[a.kind, a.account_ref or ""]
        if len(keys) > 1:
            out[a.kind, a.key] = (f"AccountReference {show(a.account_ref or '')} is given to "
                                  f"{len(keys)} {a.kind} records in this XML "
                                  f"({', '.join(sorted(keys))}) — give each a distinct A/C "
                                  f"(R-ACC-2)")
        elif (a.kind, a.key) in dup_ids:
            out[a.kind, a.key] = (f"Id {show(a.key)} appears more than once in this XML — send "
                                  f"each ConnectWise record once")


def repeated(values: Iterable) -> set:
    seen, twice = set(), set()
    for v in values:
        (twice if v in seen else seen).add(v)
    return twice
