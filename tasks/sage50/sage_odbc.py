"""Read-only questions to a Sage 50 company through its ODBC driver: is this document there?

Sage 50 Accounts installs an ODBC driver on the Windows machine that holds the company; a DSN
names the company's data folder (``docs/sage50-confirmation.md``). The SQL below uses only
Sage's own tables and columns — the same names the replica uses — so it runs unchanged against
the replica's SQLite file (``odbc_dsn: sqlite:<path>``), which is how it is tested and shown
here. Nothing is ever written: the connection is opened read-only.

A document written to Sage's import files carries no Id of ours that Sage keeps in a header,
so it is found the way a person would: audit-trail headers with its account, reference, type
and date. Sage's own import may make one header per row, so the headers found are summed; a
sum of twice the document means it was imported twice.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Iterable

from tasks.errors import ConfigError, RetriableError
from tasks.sage50.money import money

SQLITE_PREFIX = "sqlite:"
CHUNK = 200                  # references per query: well inside any driver's parameter limit
HEADERS_SQL = ("SELECT HEADER_NUMBER, TYPE, ACCOUNT_REF, INV_REF, DATE, NET_AMOUNT, TAX_AMOUNT,"
               " FOREIGN_NET_AMOUNT, FOREIGN_TAX_AMOUNT, CURRENCY FROM AUDIT_HEADER WHERE "
               "INV_REF IN ({})")
CURRENCIES_SQL = "SELECT NUMBER, CODE FROM CURRENCY"
ACCOUNTS_SQL = "SELECT ACCOUNT_REF FROM {} WHERE ACCOUNT_REF IN ({})"
LEDGERS = {"customer": "SALES_LEDGER", "supplier": "PURCHASE_LEDGER"}


class Unanswered(RetriableError):
    """Sage could not be asked now; the documents keep waiting and are asked again."""


@dataclass(frozen=True)
class Header:
    number: int
    doc_type: str
    account_ref: str
    reference: str
    date: str                # ISO
    net: Decimal             # positive, in the document's currency when foreign
    tax: Decimal
    currency: str            # ISO code, through Sage's CURRENCY table


@dataclass(frozen=True)
class Login:
    """The DSN of the Sage company, and the Sage user it logs on as (the password comes from
    the environment through the spec; it is never shown: ``redact``)."""

    dsn: str
    user: str | None = None
    password: str | None = None

    def connection_string(self) -> str:
        parts = [f"DSN={_braced(self.dsn)}"]
        parts += [f"UID={_braced(self.user)}"] if self.user else []
        parts += [f"PWD={_braced(self.password)}"] if self.password else []
        return ";".join(parts)

    def redact(self, text: str) -> str:
        return text.replace(self.password, "********") if self.password else text


def _braced(value: str) -> str:
    """An ODBC attribute value, braced when it holds a character that would end it."""
    return "{" + value.replace("}", "}}") + "}" if any(c in value for c in ";{}=") else value


def connect(login: Login):
    """A read-only DB-API connection to the Sage company ``login`` names."""
    dsn = login.dsn
    if dsn.startswith(SQLITE_PREFIX):
        path = dsn[len(SQLITE_PREFIX):]
        try:
            uri = f"{Path(path).absolute().as_uri()}?mode=ro"    # '#', '?', '%' escaped
            return sqlite3.connect(uri, uri=True, timeout=30)
        except sqlite3.Error as exc:
            raise Unanswered(f"{path} cannot be opened read-only ({exc}) — is odbc_dsn "
                             "the replica's path?") from exc
    try:
        import pyodbc
    except ImportError as exc:
        raise ConfigError("sage50_import_csv settings: odbc_dsn needs the pyodbc package and "
                          "Sage 50's ODBC driver on this machine — pip install 'cwsage[odbc]' "
                          "on the Windows machine with Sage, or leave odbc_dsn out and confirm "
                          "each imported file with `cwsage confirm FILE`") from exc
    try:
        return pyodbc.connect(login.connection_string(), autocommit=True, readonly=True,
                              timeout=30)
    except pyodbc.Error as exc:
        raise Unanswered(f"Sage 50 ODBC DSN {dsn!r} did not answer "
                         f"({login.redact(str(exc))}) — is Sage's data folder reachable, the "
                         "DSN set up and the Sage user's password right?") from None


def db_errors() -> tuple[type[BaseException], ...]:
    """The exceptions a query through either driver raises when Sage cannot answer now (busy,
    locked, the connection lost) — not a wrong query, which is a bug and is raised."""
    try:
        import pyodbc
        return (sqlite3.OperationalError, pyodbc.OperationalError, pyodbc.InterfaceError)
    except (ImportError, AttributeError):
        return (sqlite3.OperationalError,)


def headers(conn, references: Iterable[str],
            foreign: set[tuple[str, str]]) -> list[Header]:
    """Audit-trail headers whose reference is one of ``references``; amounts of the
    (account, reference) pairs in ``foreign`` are read in the foreign currency."""
    refs, out = sorted(set(references)), []
    codes = _currencies(conn)
    for start in range(0, len(refs), CHUNK):
        part = refs[start:start + CHUNK]
        cur = conn.cursor()
        try:
            cur.execute(HEADERS_SQL.format(",".join("?" * len(part))), part)
            for row in cur.fetchall():
                out.append(_header(row, foreign, codes))
        finally:
            cur.close()
    return out


def _header(row, foreign: set[tuple[str, str]], codes: dict[int, str]) -> Header:
    number, doc_type, account, ref, when, net, tax, f_net, f_tax, currency = row
    use_foreign = (str(account).strip(), str(ref).strip()) in foreign and f_net is not None
    return Header(int(number), str(doc_type).strip(), str(account).strip(), str(ref).strip(),
                  _iso(when), abs(money(f_net if use_foreign else net)),
                  abs(money(f_tax if use_foreign else tax)),
                  codes.get(int(currency or 0), f"currency {currency}"))


def _currencies(conn) -> dict[int, str]:
    cur = conn.cursor()
    try:
        cur.execute(CURRENCIES_SQL)
        return {int(n): str(code).strip() for n, code in cur.fetchall()}
    finally:
        cur.close()


def accounts(conn, kind: str, refs: Iterable[str]) -> set[str]:
    refs = sorted(set(refs))
    found: set[str] = set()
    for start in range(0, len(refs), CHUNK):
        part = refs[start:start + CHUNK]
        cur = conn.cursor()
        try:
            cur.execute(ACCOUNTS_SQL.format(LEDGERS[kind], ",".join("?" * len(part))), part)
            found.update(str(r[0]).strip() for r in cur.fetchall())
        finally:
            cur.close()
    return found


def _iso(value) -> str:
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)[:10]
