"""Sage 50 UK's own Data Import CSV files (File > Import): audit trail transactions, customer
and supplier records, and the IMPORT.txt that tells a finance user how to import them.

Pure functions: they lay files out and return text or bytes, nothing else. The column orders,
limits and the reasons behind each choice are in ``docs/sage50-csv-import.md``. In short:

- no header row (Sage's columns are fixed A, B, C …); CRLF; Windows-1252, as Sage 50 desktop
  reads ANSI files (to verify, see the doc) — what cp1252 cannot hold becomes its closest
  ASCII, else ``?``;
- every text cell is made inert (``tasks.inert.csv_cell``) and folded to cp1252 *before* it is
  cut to Sage's limit, so what ``csv_bytes`` writes is exactly the row and within the limit;
- one transaction row per (nominal, tax code) of a document, amounts positive (the type gives
  the sign), so the rows sum to the document's priced net and VAT to the penny.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from decimal import Decimal

from tasks import inert
from tasks.errors import DataError
from tasks.sage50 import rules as r
from tasks.sage50.money import ZERO, money
from tasks.sage50.pricing import PricedDoc, PricedLine
from tasks.sage50.sagexml import Account, Address

TRANSACTION_COLUMNS: tuple[str, ...] = (
    "Type", "Account Reference", "Nominal A/C Ref", "Department Code", "Date", "Reference",
    "Details", "Net Amount", "Tax Code", "Tax Amount", "Exchange Rate", "Extra Reference",
    "User Name", "Project Refn", "Cost Code Refn")
ACCOUNT_COLUMNS: tuple[str, ...] = (
    "A/C", "Name", "Street1", "Street2", "Town", "County", "Post Code", "Contact Name",
    "Telephone", "Fax", "Analysis 1", "Analysis 2", "Analysis 3", "Department", "VAT Number",
    "Turnover MTD", "Turnover YTD", "Prior YTD", "Credit Limit", "Terms", "Settlement Due Days",
    "Settlement Discount", "Default Nominal Code", "Default Tax Code", "Trade Contact",
    "Telephone 2", "E-mail", "Website")

ENCODING = "cp1252"
DATE_FORMAT = "%d/%m/%Y"
REFERENCE_MAX, DETAILS_MAX, EXTRA_REF_MAX, USER_MAX, CODE_MAX = 30, 60, 30, 32, 8
# Account text limits are the ones rules.check_account applies, so both writers agree.
LIMITS = {attr: n for _, attr, n in r.ACCOUNT_TEXT_LIMITS + r.ADDRESS_TEXT_LIMITS} | {"town": 60}
# Numbers and telephone numbers (digits, spaces, . ( ) after one sign) cannot call a function
# or name a cell, so they keep a leading - or + (see the doc).
NUMERIC = re.compile(r"[+-]?[0-9][0-9 .()]*")
SCREENS = {"customers": "Customer Records", "suppliers": "Supplier Records",
           "transactions": "Audit Trail Transactions"}
TYPE_ORDER = ("SI", "SC", "PI", "PC")
CAUTIONS = (
    "The files have no header row: Sage's columns are in a fixed order. If the wizard asks,",
    "say the file has no header. Do not open and re-save the files in Excel: it drops the",
    "leading zeros of nominal codes and rewrites dates. Import each file once: Sage's",
    "import does not know a file it has imported before, and would post it twice. If the",
    "wizard reports errors, cancel, do not edit the file, and tell cwsage what happened:",
    "  cwsage confirm <file> --failed \"<Sage's error>\"")


def _fold(text: str) -> str:
    """``text`` with every character cp1252 lacks as its closest ASCII (NFKD), else ``?``."""
    try:
        text.encode(ENCODING)
        return text
    except UnicodeEncodeError:
        return "".join(_fold_char(c) for c in text)


def _fold_char(c: str) -> str:
    try:
        c.encode(ENCODING)
        return c
    except UnicodeEncodeError:
        return unicodedata.normalize("NFKD", c).encode("ascii", "ignore").decode() or "?"


def clean(value: object) -> str:
    """A cell as written: one line, cp1252 only, no spreadsheet formula. Idempotent."""
    text = _fold(inert.terminal(value))
    return text if NUMERIC.fullmatch(text.strip()) else inert.csv_cell(text)


def _cut(value: object, limit: int) -> str:
    return clean(value)[:limit]


def _amount(value: Decimal) -> str:
    return f"{money(value):.2f}"


def _plain(value: Decimal) -> str:
    """A rate as a plain decimal, never in exponent form (1.5E+1 is written 15)."""
    return format(value.normalize() if value == value.to_integral() else value, "f")


def csv_bytes(rows: list[list[str]]) -> bytes:
    """The rows as a Sage import file: no header, QUOTE_MINIMAL, CRLF, Windows-1252."""
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerows([clean(cell) for cell in row] for row in rows)
    return out.getvalue().encode(ENCODING)


def transaction_rows(doc: PricedDoc, *,
                     user: str = "cwsage") -> tuple[list[list[str]], list[str]]:
    """Rows for one document, and problems: empty when it can be written, else no rows.

    One row per (nominal, tax code) of the non-message lines, in first-appearance order, with
    the group's summed net and VAT written positive; zero groups are left out. Problems are in
    ``rules``' form (``<field> <value> <what is wrong> — <fix>``): wrap them with
    ``rules.reason(doc.key, problems)``."""
    problems = _document_problems(doc)
    rows = []
    for (nominal, code), lines in _groups(doc).items():
        net = sum((ln.net for ln in lines), ZERO)
        tax = sum((ln.tax for ln in lines), ZERO)
        if net == 0 and tax == 0:
            continue
        found = _group_problems(doc, nominal, code, net, tax)
        problems += found
        if not found:
            rows.append(_row(doc, nominal, code, lines, net, tax, user))
    if not rows and not problems:
        problems.append(f"Document {doc.key} has no line with an amount, and Sage's import needs "
                        f"at least one — post it by hand in Sage or leave it out of the export")
    return ([] if problems else rows), problems


def _groups(doc: PricedDoc) -> dict[tuple[str, int], list[PricedLine]]:
    groups: dict[tuple[str, int], list[PricedLine]] = {}
    for ln in doc.lines:
        if not ln.message:
            groups.setdefault((ln.nominal_code, ln.tax_code), []).append(ln)
    return groups


def _document_problems(doc: PricedDoc) -> list[str]:
    p: list[str] = []
    r.check_ac(p, doc.account_ref)
    if len(doc.key) > EXTRA_REF_MAX:
        p.append(f"Extra Reference {r.show(doc.key)} (the document key) is {len(doc.key)} "
                 f"characters, Sage's import holds {EXTRA_REF_MAX}, and it is how cwsage finds "
                 f"the document in Sage again — shorten the ConnectWise id (a purchase labelled "
                 f"'PO #n, Packing Slip: x' gets a short key) or use the XML outbox writer")
    return p


def _group_problems(doc: PricedDoc, nominal: str, code: int, net: Decimal,
                    tax: Decimal) -> list[str]:
    where = f"Nominal {r.show(nominal)} with T{code} on {doc.key}"
    if len(nominal) > CODE_MAX:
        return [f"{where}: the code is over Sage's {CODE_MAX} characters — fix the nominal "
                f"code mapping"]
    if net < 0 or tax < 0:
        return [f"{where} sums to net {_amount(net)}, VAT {_amount(tax)}; a row of one Sage "
                f"{doc.doc_type} is positive (the type gives the sign) — map such lines to the "
                f"nominal of what they discount, or raise a separate credit in ConnectWise"]
    if max(net, tax) >= r.MAX_AMOUNT:
        return [f"{where} sums to net {_amount(net)}, VAT {_amount(tax)}, over Sage's import "
                f"limit of 8 digits before the point — split the document in ConnectWise"]
    return []


def _row(doc: PricedDoc, nominal: str, code: int, lines: list[PricedLine], net: Decimal,
         tax: Decimal, user: str) -> list[str]:
    return [doc.doc_type, doc.account_ref, nominal, "0", doc.date.strftime(DATE_FORMAT),
            _cut(doc.reference or doc.key, REFERENCE_MAX), _details(lines), _amount(net),
            f"T{code}", _amount(tax), _plain(doc.exchange_rate), doc.key,
            _cut(user, USER_MAX), "", ""]


def _details(lines: list[PricedLine]) -> str:
    """The line's description; for a group, the first description and `` +N more``."""
    first = next((d for ln in lines if (d := clean(ln.description).strip())), "")
    if len(lines) == 1:
        return first[:DETAILS_MAX]
    if not first:
        return f"{len(lines)} lines"
    suffix = f"+{len(lines) - 1} more"
    return f"{first[:DETAILS_MAX - len(suffix) - 1].rstrip()} {suffix}"


def account_row(acc: Account) -> list[str]:
    """One Customer Records / Supplier Records row (columns A-AB). The account must have passed
    ``rules.check_account``; an A/C, credit limit, tax or nominal code Sage cannot hold raises
    ``DataError`` rather than being cut. Turnover, analysis, department and settlement cells
    stay blank."""
    _check_account(acc)
    a = acc.address
    t = _account_text
    return [acc.account_ref, t(acc.name or a.contact, "name"), t(a.address1, "address1"),
            t(a.address2, "address2"), t(_town(a), "town"), t(a.county, "county"),
            t(a.postcode, "postcode"), t(a.contact, "contact"), t(a.telephone, "telephone"),
            t(a.fax, "fax"), "", "", "", "", t(acc.vat_number, "vat_number"), "", "", "",
            _amount(Decimal(acc.credit_limit)) if acc.credit_limit else "",
            t(acc.terms, "terms"), "", "", acc.nominal_code or "",
            f"T{int(acc.tax_code)}" if acc.tax_code else "", "", "", t(a.email, "email"),
            t(a.website, "website")]


def _account_text(value: str | None, attr: str) -> str:
    return _cut(value, LIMITS[attr]) if value else ""


def _town(a: Address) -> str:
    """Sage's third address line: address line 3 and town, as invoice addresses join them."""
    return ", ".join(x for x in (a.address3, a.town) if x)


def _check_account(acc: Account) -> None:
    p: list[str] = []
    r.check_ac(p, acc.account_ref)
    if acc.credit_limit:
        r.decimal(p, "CreditLimit", acc.credit_limit, pennies=True, positive=True)
    if acc.tax_code and not r.TAX_CODE_RE.match(acc.tax_code):
        p.append(f"TaxCode {r.show(acc.tax_code)} is not a Sage tax code number 0-99 — fix the "
                 f"tax code mapping")
    if acc.nominal_code and len(acc.nominal_code) > CODE_MAX:
        p.append(f"NominalCode {r.show(acc.nominal_code)} is over Sage's {CODE_MAX} characters "
                 f"— fix the nominal code mapping")
    if p:
        raise DataError(r.reason(acc.key, p))


def import_instructions(stem: str, files: dict[str, str], documents: int, net: Decimal,
                        tax: Decimal, types: dict[str, int],
                        foreign: dict[str, tuple[int, Decimal, Decimal, list[str]]] | None = None
                        ) -> str:
    """IMPORT.txt: the files in import order, the Sage screen for each, the totals to expect
    (``net``/``tax``: the base-currency documents; ``foreign``: currency → documents, net, VAT
    and the accounts that must hold that currency in Sage first), and the confirm step that
    must follow before ConnectWise is marked exported."""
    lines = [f"Sage 50 import: {stem}", "",
             "Take a Sage backup first (File > Backup). Then import these files in this order,",
             "each with File > Import (the Data Import wizard), choosing the import type shown:"]
    steps = [k for k in SCREENS if k in files]
    lines += [f"  {n}. {files[k]}  ->  {SCREENS[k]}" for n, k in enumerate(steps, 1)]
    lines += ["", *CAUTIONS, ""]
    lines += _totals(documents, net, tax, types)
    lines += _foreign(foreign or {})
    last = files.get("transactions") or next((files[k] for k in reversed(SCREENS)
                                              if k in files), None)
    if last:        # the records of a customers pipeline are confirmed like documents
        lines += ["", *_confirm(last)]
    return "\n".join(lines) + "\n"


def _totals(documents: int, net: Decimal, tax: Decimal, types: dict[str, int]) -> list[str]:
    order = [t for t in TYPE_ORDER if t in types] + [t for t in types if t not in TYPE_ORDER]
    counts = ", ".join(f"{t} {types[t]}" for t in order) or "none"
    return ["What these files carry (check it in Sage after importing):",
            f"  documents: {documents} ({counts})",
            f"  in pounds sterling — net: {_amount(net)}   VAT: {_amount(tax)}   gross: "
            f"{_amount(net + tax)}"]


def _foreign(foreign: dict[str, tuple[int, Decimal, Decimal, list[str]]]) -> list[str]:
    if not foreign:
        return []
    lines = ["", "Foreign-currency documents (amounts in their currency; the rate in column K).",
             "Sage's customer/supplier import cannot set an account's currency: before the",
             "transactions file, set each account below to its currency in Sage."]
    for code, (n, net, tax, accounts) in sorted(foreign.items()):
        lines.append(f"  {code}: {n} document{'s' if n != 1 else ''}, net {_amount(net)} "
                     f"VAT {_amount(tax)} — accounts {', '.join(sorted(accounts))}")
    return lines


def _confirm(name: str) -> list[str]:
    return ["Once the files are imported, run:",
            f"  cwsage confirm {name}",
            "(When cwsage is set up with an ODBC DSN for this Sage company, it confirms by",
            "reading Sage itself.) Nothing is marked exported in ConnectWise before that."]
