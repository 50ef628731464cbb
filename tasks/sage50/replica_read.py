"""Reading the replica: what is there, what was posted, and whether the books balance."""

from __future__ import annotations

from decimal import Decimal
from typing import Iterable

from tasks.sage50.money import money
from tasks.sage50.protocol import DocumentTotals, LineTotals, SageFacts

CHUNK = 500                             # well under SQLite's bound-parameter limit
PENNIES = "SUM(CAST(ROUND({col} * 100) AS INTEGER))"    # exact sums of REAL money columns


def rate(value: float) -> Decimal:
    """A stored tax or exchange rate as a Decimal: 20.0 -> 20, 17.5 -> 17.5, 1.15 -> 1.15."""
    d = Decimal(str(value))
    return d.quantize(Decimal(1)) if d == d.to_integral_value() else d


def facts(cur) -> SageFacts:
    """Tax code rates, and currencies whose exchange rate is set (a rate of 0 is not set)."""
    rates = {n: rate(v) for n, v in cur.execute("SELECT TAX_CODE_ID, TAX_RATE FROM TAX_CODE")}
    currencies = cur.execute("SELECT CODE, RATE, BASE_CURRENCY FROM CURRENCY").fetchall()
    base = next((code for code, _, is_base in currencies if is_base), "GBP")
    return SageFacts(rates, {code: rate(v) for code, v, is_base in currencies
                             if not is_base and v and v > 0}, base,
                     "sage.sage50_replica.currency_rates")


def chunks(values: Iterable) -> Iterable[list]:
    values = list(values)
    for i in range(0, len(values), CHUNK):
        yield values[i:i + CHUNK]


def marks(values: list) -> str:
    return ",".join("?" * len(values))


def existing(cur, table: str, column: str, values: Iterable) -> set:
    out = set()
    for part in chunks(set(values)):
        sql = f"SELECT {column} FROM {table} WHERE {column} IN ({marks(part)})"
        out.update(v for (v,) in cur.execute(sql, part))
    return out


def split_owners(cur, split_ids: Iterable[int]) -> dict[int, str]:
    """Split Ids already posted, with the key of the document that holds them."""
    out = {}
    for part in chunks(set(split_ids)):
        sql = ("SELECT s.EXTERNAL_ID, h.EXTERNAL_ID FROM AUDIT_SPLIT s JOIN AUDIT_HEADER h "
               f"ON h.HEADER_NUMBER = s.HEADER_NUMBER WHERE s.EXTERNAL_ID IN ({marks(part)})")
        out.update(cur.execute(sql, part).fetchall())
    return out


def posted_refs(cur, keys: Iterable[str]) -> dict[str, str]:
    """Documents already in the replica, with their Sage reference ("SI 12 / invoice 10457")."""
    out = {}
    for part in chunks(set(keys)):
        sql = ("SELECT EXTERNAL_ID, TYPE, HEADER_NUMBER, ISP_REFERENCE, INV_REF FROM AUDIT_HEADER "
               f"WHERE EXTERNAL_ID IN ({marks(part)})")
        for key, typ, number, invoice_no, inv_ref in cur.execute(sql, part):
            tail = (f" / invoice {invoice_no}" if invoice_no is not None
                    else f" / ref {inv_ref}" if inv_ref else "")
            out[key] = f"{typ} {number}{tail}"
        sql = ("SELECT EXTERNAL_ID, INVOICE_NUMBER FROM INVOICE "
               f"WHERE EXTERNAL_ID IN ({marks(part)})")
        for key, number in cur.execute(sql, part):
            out.setdefault(key, f"invoice {number}")
    return out


def present(cur, keys: Iterable[str]) -> set[str]:
    keys = set(keys)
    found = set(posted_refs(cur, keys))
    for table in ("SALES_LEDGER", "PURCHASE_LEDGER"):
        found |= existing(cur, table, "EXTERNAL_ID", keys - found)
    return found


def totals(cur, keys: Iterable[str]) -> dict[str, DocumentTotals]:
    out: dict[str, DocumentTotals] = {}
    keys = set(keys)
    for part in chunks(keys):
        out.update(_invoice_totals(cur, part))
    for part in chunks(keys - set(out)):
        out.update(_audit_totals(cur, part))
    return out


def _invoice_totals(cur, keys: list[str]) -> dict[str, DocumentTotals]:
    sql = ("SELECT i.INVOICE_NUMBER, i.EXTERNAL_ID, i.INVOICE_OR_CREDIT, i.ACCOUNT_REF, c.CODE, "
           "i.FOREIGN_INVOICE_NET, i.FOREIGN_INVOICE_TAX, i.FOREIGN_INVOICE_GROSS FROM INVOICE i "
           f"JOIN CURRENCY c ON c.NUMBER = i.CURRENCY WHERE i.EXTERNAL_ID IN ({marks(keys)})")
    heads = {row[0]: row[1:] for row in cur.execute(sql, keys)}
    lines = _lines(cur, "SELECT INVOICE_NUMBER, NOMINAL_CODE, TAX_CODE_ID, FOREIGN_NET_AMOUNT, "
                   "FOREIGN_TAX_AMOUNT, TAX_RATE, DESCRIPTION FROM INVOICE_ITEM WHERE "
                   "TAX_CODE_ID IS NOT NULL AND INVOICE_NUMBER IN ({}) "
                   "ORDER BY INVOICE_NUMBER, ITEM_NUMBER", list(heads))
    return {key: DocumentTotals(key, "SC" if kind == "Credit" else "SI", ref, code, money(net),
                                money(tax), money(gross), tuple(lines.get(number, ())))
            for number, (key, kind, ref, code, net, tax, gross) in heads.items()}


def _audit_totals(cur, keys: list[str]) -> dict[str, DocumentTotals]:
    sql = ("SELECT h.HEADER_NUMBER, h.EXTERNAL_ID, h.TYPE, h.ACCOUNT_REF, c.CODE, "
           "h.FOREIGN_NET_AMOUNT, h.FOREIGN_TAX_AMOUNT, h.FOREIGN_GROSS_AMOUNT FROM AUDIT_HEADER h "
           f"JOIN CURRENCY c ON c.NUMBER = h.CURRENCY WHERE h.EXTERNAL_ID IN ({marks(keys)})")
    heads = {row[0]: row[1:] for row in cur.execute(sql, keys)}
    lines = _lines(cur, "SELECT HEADER_NUMBER, NOMINAL_CODE, CAST(SUBSTR(TAX_CODE, 2) AS INTEGER),"
                   " FOREIGN_NET_AMOUNT, FOREIGN_TAX_AMOUNT, TAX_RATE, DETAILS FROM AUDIT_SPLIT "
                   "WHERE HEADER_NUMBER IN ({}) ORDER BY SPLIT_NUMBER", list(heads))
    return {key: DocumentTotals(key, typ, ref, code, money(net), money(tax), money(gross),
                                tuple(lines.get(number, ())))
            for number, (key, typ, ref, code, net, tax, gross) in heads.items()}


def _lines(cur, sql: str, numbers: list[int]) -> dict[int, list[LineTotals]]:
    out: dict[int, list[LineTotals]] = {}
    for part in chunks(numbers):
        for number, nominal, code, net, tax, percent, text in cur.execute(sql.format(marks(part)),
                                                                       part):
            out.setdefault(number, []).append(
                LineTotals(nominal, code, money(net), money(tax), rate(percent), text or ""))
    return out


def trial_balance(cur) -> dict[str, Decimal]:
    """Nominal code -> debits minus credits over AUDIT_JOURNAL, exact to the penny."""
    sql = (f"SELECT NOMINAL_CODE, {PENNIES.format(col='AMOUNT')} FROM AUDIT_JOURNAL "
           "GROUP BY NOMINAL_CODE ORDER BY NOMINAL_CODE")
    return {code: money(Decimal(pennies).scaleb(-2)) for code, pennies in cur.execute(sql)}


def audit_balances(cur) -> tuple[Decimal, Decimal]:
    """(total debits, total credits) over AUDIT_JOURNAL; equal when the books balance."""
    sql = (f"SELECT {PENNIES.format(col='DEBIT')}, {PENNIES.format(col='CREDIT')} "
           "FROM AUDIT_JOURNAL")
    debit, credit = cur.execute(sql).fetchone()
    return money(Decimal(debit or 0).scaleb(-2)), money(Decimal(credit or 0).scaleb(-2))
