"""Enter a priced document in the replica's ledgers, as Sage's import plus Update Ledgers do
(Sage calls this posting; in cwsage, "post" is the ConnectWise batch).

An invoice becomes an INVOICE with its INVOICE_ITEMs, posted at once (POSTED 'Y'): one
AUDIT_HEADER (SI/SC), one AUDIT_SPLIT per line that carries money, and its double entry in
AUDIT_JOURNAL. Transaction splits (SI/SC/PI/PC) go straight to AUDIT_HEADER/SPLIT/JOURNAL.

Double entry, in base currency, debits positive in AMOUNT:

    SI  Dr debtors control (gross)    Cr each line's nominal (net)   Cr VAT on sales (VAT)
    SC  the reverse of SI
    PI  Cr creditors control (gross)  Dr each split's nominal (net)  Dr VAT on purchases (VAT)
    PC  the reverse of PI

A foreign document's lines are converted to base one by one (``money.to_base``); the control
line takes the sum of the converted lines, so the rounding difference against the converted
document total sits there and debits always equal credits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from tasks.sage50.money import ZERO, to_base
from tasks.sage50.pricing import PricedDoc, PricedLine
from tasks.sage50.replica_schema import now
from tasks.sage50.sagexml import Invoice

SIDE = {"SI": -1, "SC": 1, "PI": 1, "PC": -1}     # sign of the line side; control is opposite
BALANCE_SIGN = {"SI": 1, "SC": -1, "PI": 1, "PC": -1}  # what the document does to A/C balance
ROLES = {"SI": ("DEBTORS", "SALES_TAX"), "SC": ("DEBTORS", "SALES_TAX"),
         "PI": ("CREDITORS", "PURCHASE_TAX"), "PC": ("CREDITORS", "PURCHASE_TAX")}
INVOICE_KIND = {"SI": (0, "Product Invoice", "Invoice"), "SC": (2, "Product Credit", "Credit")}
USER_NAME = "CWSAGE"

HEADER_SQL = ("INSERT INTO AUDIT_HEADER (HEADER_NUMBER, TRAN_NUMBER, ITEM_COUNT, TYPE, DATE, "
              "ACCOUNT_REF, NOMINAL_CODE, INV_REF, DETAILS, DUE_DATE, NET_AMOUNT, TAX_AMOUNT, "
              "GROSS_AMOUNT, FOREIGN_NET_AMOUNT, FOREIGN_TAX_AMOUNT, FOREIGN_GROSS_AMOUNT, "
              "OUTSTANDING, FOREIGN_OUTSTANDING, CURRENCY, FOREIGN_RATE, ISP_REFERENCE, "
              f"USER_NAME, DATE_ENTERED, EXTERNAL_ID) VALUES ({','.join('?' * 24)})")
SPLIT_SQL = ("INSERT INTO AUDIT_SPLIT (SPLIT_NUMBER, TRAN_NUMBER, HEADER_NUMBER, TYPE, DATE, "
             "ACCOUNT_REF, NOMINAL_CODE, INV_REF, DETAILS, EXTRA_REF, TAX_CODE, TAX_RATE, "
             "NET_AMOUNT, TAX_AMOUNT, GROSS_AMOUNT, FOREIGN_NET_AMOUNT, FOREIGN_TAX_AMOUNT, "
             f"FOREIGN_GROSS_AMOUNT, EXTERNAL_ID) VALUES ({','.join('?' * 19)})")
JOURNAL_SQL = ("INSERT INTO AUDIT_JOURNAL (HEADER_NUMBER, SPLIT_NUMBER, TYPE, DATE, ACCOUNT_REF, "
               "NOMINAL_CODE, INV_REF, DETAILS, TAX_CODE, AMOUNT, FOREIGN_AMOUNT, DEBIT, CREDIT) "
               f"VALUES ({','.join('?' * 13)})")
INVOICE_SQL = ("INSERT INTO INVOICE (INVOICE_NUMBER, INVOICE_TYPE_CODE, INVOICE_TYPE, "
               "INVOICE_OR_CREDIT, INVOICE_DATE, ACCOUNT_REF, NAME, ADDRESS_1, ADDRESS_2, "
               "ADDRESS_3, ADDRESS_4, ADDRESS_5, CUST_ORDER_NUMBER, TAKEN_BY, CURRENCY, "
               "FOREIGN_RATE, ITEMS_NET, ITEMS_TAX, ITEMS_GROSS, INVOICE_NET, INVOICE_TAX, "
               "INVOICE_GROSS, FOREIGN_ITEMS_NET, FOREIGN_ITEMS_TAX, FOREIGN_ITEMS_GROSS, "
               "FOREIGN_INVOICE_NET, FOREIGN_INVOICE_TAX, FOREIGN_INVOICE_GROSS, "
               "PAYMENT_DUE_DATE, POSTED, POSTED_CODE, EXTERNAL_ID, RECORD_CREATE_DATE) "
               f"VALUES ({','.join('?' * 33)})")
ITEM_SQL = ("INSERT INTO INVOICE_ITEM (INVOICE_NUMBER, ITEM_NUMBER, STOCK_CODE, DESCRIPTION, "
            "COMMENT_1, QUANTITY, UNIT_PRICE, FOREIGN_UNIT_PRICE, NOMINAL_CODE, TAX_CODE_ID, "
            "TAX_CODE, TAX_RATE, FULL_NET_AMOUNT, NET_AMOUNT, TAX_AMOUNT, GROSS_AMOUNT, "
            "FOREIGN_NET_AMOUNT, FOREIGN_TAX_AMOUNT, FOREIGN_GROSS_AMOUNT) "
            f"VALUES ({','.join('?' * 19)})")


@dataclass(slots=True)
class Posted:
    sage_ref: str
    movements: list[tuple[str, Decimal]]    # (nominal, signed base amount) for balances
    base_gross: Decimal
    foreign_gross: Decimal


@dataclass(slots=True)
class Header:
    number: int
    type: str
    date: str
    account: str
    inv_ref: str


def enter_in_ledgers(run, doc: PricedDoc) -> Posted:
    rate = doc.exchange_rate
    base = [(to_base(ln.net, rate), to_base(ln.tax, rate)) for ln in doc.lines]
    due = (doc.due_date or doc.date + timedelta(days=run.payment_days(doc))).isoformat()
    invoice_no = None
    if isinstance(doc.source, Invoice):
        invoice_no = _invoice(run, doc, base, rate, due)
    h = Header(run.take("header"), doc.doc_type, doc.date.isoformat(), doc.account_ref,
               str(invoice_no) if invoice_no is not None else (doc.reference or ""))
    movements, journal = [], []
    splits = _splits(run, doc, base, h, movements, journal)
    net_b = sum((b[0] for b in base), ZERO)
    gross_b = net_b + sum((b[1] for b in base), ZERO)
    control = run.roles[ROLES[h.type][0]]
    _journal(h, None, control, _details(doc), None, -SIDE[h.type] * gross_b,
             -SIDE[h.type] * doc.gross, movements, journal)
    run.cur.execute(HEADER_SQL, _header_row(run, doc, h, splits, net_b, gross_b, rate, due,
                                            invoice_no))
    run.cur.executemany(SPLIT_SQL, splits)
    run.cur.executemany(JOURNAL_SQL, journal)
    ref = f"{h.type} {h.number}" + (f" / invoice {invoice_no}" if invoice_no is not None
                                    else f" / ref {h.inv_ref}" if h.inv_ref else "")
    return Posted(ref, movements, gross_b, doc.gross)


def _splits(run, doc: PricedDoc, base, h: Header, movements, journal) -> list[tuple]:
    side = SIDE[h.type]
    vat_nominal = run.roles[ROLES[h.type][1]]
    rows = []
    for ln, (net_b, tax_b) in zip(doc.lines, base):
        if ln.message:
            continue
        number = run.take("split")
        code = f"T{ln.tax_code}"
        rows.append((number, number, h.number, h.type, h.date, h.account, ln.nominal_code,
                     h.inv_ref, ln.description, ln.extra_ref, code, float(ln.rate),
                     float(net_b), float(tax_b), float(net_b + tax_b), float(ln.net),
                     float(ln.tax), float(ln.net + ln.tax), ln.split_id))
        _journal(h, number, ln.nominal_code, ln.description, code, side * net_b,
                 side * ln.net, movements, journal)
        _journal(h, number, vat_nominal, ln.description, code, side * tax_b, side * ln.tax,
                 movements, journal)
    return rows


def _journal(h: Header, split, nominal, details, tax_code, amount: Decimal, foreign: Decimal,
             movements: list, journal: list) -> None:
    if not amount:
        return
    a = float(amount)
    journal.append((h.number, split, h.type, h.date, h.account, nominal, h.inv_ref, details,
                    tax_code, a, float(foreign), a if a > 0 else 0.0, -a if a < 0 else 0.0))
    movements.append((nominal, amount))


def _header_row(run, doc, h, splits, net_b, gross_b, rate, due, invoice_no) -> tuple:
    first = splits[0] if splits else None
    return (h.number, first[0] if first else None, len(splits), h.type, h.date, h.account,
            first[6] if first else None, h.inv_ref, _details(doc), due, float(net_b),
            float(gross_b - net_b), float(gross_b), float(doc.net), float(doc.tax),
            float(doc.gross), float(gross_b), float(doc.gross),
            run.currency_number[doc.currency], float(rate), invoice_no, USER_NAME,
            now()[:10], doc.key)


def _details(doc: PricedDoc) -> str:
    first = next((ln for ln in doc.lines if not ln.message), None)
    return first.description if first else ""


def _invoice(run, doc: PricedDoc, base, rate: Decimal, due: str) -> int:
    inv: Invoice = doc.source
    number = int(inv.invoice_number) if inv.invoice_number else run.take("invoice")
    run.use_invoice_number(number)
    net_b = sum((b[0] for b in base), ZERO)
    tax_b = sum((b[1] for b in base), ZERO)
    money = (float(net_b), float(tax_b), float(net_b + tax_b)) * 2 + \
        (float(doc.net), float(doc.tax), float(doc.gross)) * 2
    code, kind, label = INVOICE_KIND[doc.doc_type]
    run.cur.execute(INVOICE_SQL, (
        number, code, kind, label, doc.date.isoformat(), doc.account_ref,
        *_invoice_address(run, doc), inv.order_number, inv.taken_by,
        run.currency_number[doc.currency], float(rate), *money, due, "Y", 1, doc.key, now()))
    run.cur.executemany(ITEM_SQL, [_item_row(number, ln, b, rate) for ln, b in
                                   zip(doc.lines, base)])
    _move_stock(run, doc)
    return number


def _invoice_address(run, doc: PricedDoc) -> tuple:
    a = doc.source.address
    line3 = ", ".join(x for x in (a.address3, a.town) if x) or None
    lines = (a.company, a.address1, a.address2, line3, a.county, a.postcode)
    if any(lines):
        return (a.company or run.account_name(doc),) + lines[1:]
    stored = run.accounts[doc.ledger, doc.account_ref].values
    return tuple(stored.get(c) for c in ("NAME", "ADDRESS_1", "ADDRESS_2", "ADDRESS_3",
                                         "ADDRESS_4", "ADDRESS_5"))


def _item_row(number: int, ln: PricedLine, base, rate: Decimal) -> tuple:
    net_b, tax_b = base
    qty = float(ln.qty) if ln.qty is not None else 0.0
    price = ln.unit_price if ln.unit_price is not None else ZERO
    tax = (None, None, None) if ln.message else (ln.tax_code, f"T{ln.tax_code}", float(ln.rate))
    return (number, ln.number, ln.sku, ln.description, ln.comment, qty, float(price / rate),
            float(price), ln.nominal_code or None, *tax, float(net_b), float(net_b),
            float(tax_b), float(net_b + tax_b), float(ln.net), float(ln.tax),
            float(ln.net + ln.tax))


def _move_stock(run, doc: PricedDoc) -> None:
    """Stock lines take stock out on an invoice and put it back on a credit; special codes
    never move stock (docs/sage50-rules.md, "Special product codes (S1, S2, S3, M)")."""
    sign = -1 if doc.doc_type == "SC" else 1
    moves = []
    for ln in doc.lines:
        if not ln.stock:
            continue
        if ln.sku not in run.stock:
            run.cur.execute("INSERT INTO STOCK (STOCK_CODE, DESCRIPTION, NOMINAL_CODE, TAX_CODE,"
                            " SALES_PRICE, RECORD_CREATE_DATE) VALUES (?, ?, ?, ?, ?, ?)",
                            (ln.sku, ln.description, ln.nominal_code, f"T{ln.tax_code}",
                             float(ln.unit_price), now()))
            run.new_stock(ln.sku)
        qty = float(ln.qty) * sign * (-1 if ln.net < 0 else 1)
        moves.append((qty, qty, doc.date.isoformat(), ln.sku))
    run.cur.executemany("UPDATE STOCK SET QTY_IN_STOCK = QTY_IN_STOCK - ?, QTY_SOLD = QTY_SOLD + "
                        "?, LAST_SALE_DATE = ? WHERE STOCK_CODE = ?", moves)
