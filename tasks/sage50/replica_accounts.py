"""Customers and suppliers in the replica: create, update, and Sage's create-only fields.

A ``Customer``/``Supplier`` element creates the account when its A/C is new and otherwise
updates name, address and terms. Currency is create-only (R-ACC-5, R-CUR-1): an element that
asks for another currency is rejected rather than silently ignored. An A/C that already belongs
to another ConnectWise record (a different ``Id``) is rejected too (R-ACC-2).
Rule ids: ``docs/sage50-rules.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from tasks.sage50.protocol import ALREADY_PRESENT, LOADED
from tasks.sage50.replica_schema import now
from tasks.sage50.sagexml import Account, Address

LEDGER_TABLE = {"customer": "SALES_LEDGER", "supplier": "PURCHASE_LEDGER"}
UPDATABLE = ("NAME", "ADDRESS_1", "ADDRESS_2", "ADDRESS_3", "ADDRESS_4", "ADDRESS_5",
             "CONTACT_NAME", "TELEPHONE", "FAX", "E_MAIL", "WEB_ADDRESS", "COUNTRY_CODE",
             "VAT_REG_NUMBER", "DEF_NOM_CODE", "DEF_TAX_CODE", "PAYMENT_DUE_DAYS",
             "CREDIT_LIMIT", "TERMS", "EXTERNAL_ID")


@dataclass(slots=True)
class AccountRow:
    currency: str                       # ISO code of the account's currency
    values: dict[str, Any]              # UPDATABLE column -> stored value


def read_accounts(cur, kind: str, refs: set[str], codes: dict[int, str]) -> dict:
    """The stored accounts among ``refs``, keyed ``(kind, ref)``."""
    out: dict[tuple[str, str], AccountRow] = {}
    refs = sorted(refs)
    cols = ", ".join(UPDATABLE)
    for i in range(0, len(refs), 500):
        part = refs[i:i + 500]
        sql = (f"SELECT ACCOUNT_REF, CURRENCY, {cols} FROM {LEDGER_TABLE[kind]} "
               f"WHERE ACCOUNT_REF IN ({','.join('?' * len(part))})")
        for ref, number, *values in cur.execute(sql, part):
            out[kind, ref] = AccountRow(codes.get(number, "?"), dict(zip(UPDATABLE, values)))
    return out


def element_values(acc: Account) -> dict[str, Any]:
    """Column values an element gives; ``None`` means "not in the XML: leave as it is"."""
    a = acc.address
    days = int(acc.payment_days) if acc.payment_days else None
    limit = float(Decimal(acc.credit_limit)) if acc.credit_limit else None
    tax = f"T{int(acc.tax_code)}" if acc.tax_code else None
    return {"NAME": acc.name or a.contact, "ADDRESS_1": a.address1, "ADDRESS_2": a.address2,
            "ADDRESS_3": a.town, "ADDRESS_4": a.county, "ADDRESS_5": a.postcode,
            "CONTACT_NAME": a.contact, "TELEPHONE": a.telephone, "FAX": a.fax,
            "E_MAIL": a.email, "WEB_ADDRESS": a.website, "COUNTRY_CODE": a.country,
            "VAT_REG_NUMBER": acc.vat_number, "DEF_NOM_CODE": acc.nominal_code or None,
            "DEF_TAX_CODE": tax, "PAYMENT_DUE_DAYS": days, "CREDIT_LIMIT": limit,
            "TERMS": acc.terms, "EXTERNAL_ID": acc.key}


def address_values(ref: str, a: Address) -> dict[str, Any]:
    """An account made from an invoice's InvoiceAddress, as Zynk's Auto Create Account does
    (docs/zynk-importer.md, "Prevent Duplicates and Auto Create Account")."""
    line3 = ", ".join(x for x in (a.address3, a.town) if x) or None
    return {"NAME": a.company or a.contact or ref, "ADDRESS_1": a.address1,
            "ADDRESS_2": a.address2, "ADDRESS_3": line3, "ADDRESS_4": a.county,
            "ADDRESS_5": a.postcode, "CONTACT_NAME": a.contact, "TELEPHONE": a.telephone}


def apply_account(run, acc: Account) -> tuple[str, str]:
    """Create or update one account element; returns (status, sage_ref). Raises ``Rejected``."""
    label = f"{acc.kind} {acc.account_ref}"
    row = run.accounts.get((acc.kind, acc.account_ref))
    if row is None:
        create_account(run, acc.kind, acc.account_ref, acc.currency or run.chart.base_currency,
                       element_values(acc))
        return LOADED, label
    problems = _update_problems(acc, row)
    if problems:
        raise run.Rejected(problems)
    changed = {c: v for c, v in element_values(acc).items()
               if v is not None and row.values.get(c) != v}
    if not changed:
        return ALREADY_PRESENT, label
    sets = ", ".join(f"{c} = ?" for c in changed)
    run.cur.execute(f"UPDATE {LEDGER_TABLE[acc.kind]} SET {sets}, RECORD_MODIFY_DATE = ? "
                    f"WHERE ACCOUNT_REF = ?", (*changed.values(), now(), acc.account_ref))
    run.on_success(lambda: row.values.update(changed))
    return LOADED, label


def _update_problems(acc: Account, row: AccountRow) -> list[str]:
    p = []
    owner = row.values.get("EXTERNAL_ID")
    if owner and owner != acc.key:
        p.append(f"AccountReference {acc.account_ref!r} already belongs to {owner} in Sage; two "
                 f"ConnectWise records map to one A/C (R-ACC-2) — give this one another "
                 f"account number")
    if acc.currency and acc.currency != row.currency:
        p.append(f"Currency {acc.currency!r} differs from the {row.currency} that {acc.kind} "
                 f"{acc.account_ref} was created with; currency is fixed when an account is "
                 f"created (R-ACC-5) — correct the ConnectWise currency, or open a new A/C "
                 f"for {acc.currency}")
    return p


def create_account(run, kind: str, ref: str, currency: str, values: dict[str, Any]) -> None:
    given = {c: v for c, v in values.items() if v is not None}
    stamp = now()
    cols = ["ACCOUNT_REF", "CURRENCY", "DATE_ACCOUNT_OPENED", "RECORD_CREATE_DATE",
            "RECORD_MODIFY_DATE", *given]
    run.cur.execute(f"INSERT INTO {LEDGER_TABLE[kind]} ({', '.join(cols)}) VALUES "
                    f"({', '.join('?' * len(cols))})",
                    (ref, run.currency_number[currency], stamp[:10], stamp, stamp,
                     *given.values()))
    run.accounts[kind, ref] = AccountRow(currency, {c: given.get(c) for c in UPDATABLE})
    run.on_undo(lambda: run.accounts.pop((kind, ref), None))
    run.on_success(lambda: run.receipt.accounts_created.append(ref))


def document_account_problems(run, doc, is_invoice: bool) -> list[str]:
    """Is the document's account there, in the document's currency? (R-ACC-3, R-CUR-1)"""
    kind, ref = doc.ledger, doc.account_ref
    row = run.accounts.get((kind, ref))
    if row is not None:
        if row.currency == doc.currency:
            return []
        return [f"Currency {doc.currency!r} differs from {kind} {ref}'s currency "
                f"{row.currency}, which is fixed when the account is created (R-CUR-1) — "
                f"bill {ref} in {row.currency}, or open a separate {doc.currency} account"]
    refused = run.rejected_accounts.get((kind, ref))
    if refused:
        return [f"AccountReference {ref!r}: its {kind} record in this XML was rejected "
                f"({refused}) — fix that record and load again"]
    if is_invoice and run.opt.auto_create_accounts:
        return []
    fix = f"send its {kind.capitalize()} record in this XML or an earlier load"
    if is_invoice:
        return [f"AccountReference {ref!r} is not a Sage customer and auto_create_accounts is "
                f"off (R-ACC-3) — {fix}, or turn auto_create_accounts on"]
    return [f"AccountReference {ref!r} is not a Sage {kind} (R-ACC-3) — {fix}"]
