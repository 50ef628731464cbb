"""The replica's tables: Sage 50 UK's own ODBC table and column names, and the UK defaults.

Tables and columns follow Sage's data model (SALES_LEDGER, INVOICE, AUDIT_HEADER, …; column
names as Sage's ODBC driver reports them), holding the subset cwsage writes. Additions, all for
traceability: ``EXTERNAL_ID`` (the document's XML key; UNIQUE on INVOICE and AUDIT_HEADER, the
split ``Id`` on AUDIT_SPLIT, the account's ``Id`` on the ledgers), ``DEBIT``/``CREDIT`` on
AUDIT_JOURNAL next to Sage's signed ``AMOUNT``, ``QTY_SOLD`` on STOCK, ``TAX_RATE`` on
AUDIT_SPLIT, and two replica tables: ``CONTROL_ACCOUNT`` (Sage keeps control accounts in its
settings, not in a table) and ``SCHEMA_VERSION``.

Money columns are REAL like Sage's doubles and always hold whole pennies; sum them exactly with
``SUM(CAST(ROUND(col * 100) AS INTEGER))`` (pennies) or read them through ``money()``. Currency
columns hold ``CURRENCY.NUMBER`` as Sage does (1 = GBP). Dates are ``YYYY-MM-DD`` text.
"""

from __future__ import annotations

from datetime import datetime, timezone

from tasks.keys import legacy_key

SCHEMA_VERSION = 3

_PARTY = """
    ACCOUNT_REF TEXT PRIMARY KEY, NAME TEXT, ADDRESS_1 TEXT, ADDRESS_2 TEXT, ADDRESS_3 TEXT,
    ADDRESS_4 TEXT, ADDRESS_5 TEXT, CONTACT_NAME TEXT, TELEPHONE TEXT, FAX TEXT, E_MAIL TEXT,
    WEB_ADDRESS TEXT, COUNTRY_CODE TEXT, VAT_REG_NUMBER TEXT, CURRENCY INTEGER NOT NULL DEFAULT 1,
    DEF_NOM_CODE TEXT, DEF_TAX_CODE TEXT, PAYMENT_DUE_DAYS INTEGER, CREDIT_LIMIT REAL DEFAULT 0,
    TERMS TEXT, BALANCE REAL NOT NULL DEFAULT 0, FOREIGN_BALANCE REAL NOT NULL DEFAULT 0,
    DATE_ACCOUNT_OPENED TEXT, EXTERNAL_ID TEXT, RECORD_CREATE_DATE TEXT, RECORD_MODIFY_DATE TEXT
"""

_AMOUNTS = """NET_AMOUNT REAL, TAX_AMOUNT REAL, GROSS_AMOUNT REAL, FOREIGN_NET_AMOUNT REAL,
    FOREIGN_TAX_AMOUNT REAL, FOREIGN_GROSS_AMOUNT REAL"""

DDL_V1 = f"""
CREATE TABLE SCHEMA_VERSION (VERSION INTEGER PRIMARY KEY, APPLIED_AT TEXT NOT NULL,
    DESCRIPTION TEXT NOT NULL);
CREATE TABLE CURRENCY (NUMBER INTEGER PRIMARY KEY, CODE TEXT NOT NULL UNIQUE, SYMBOL TEXT,
    NAME TEXT, RATE REAL NOT NULL, BASE_CURRENCY INTEGER NOT NULL DEFAULT 0);
CREATE TABLE TAX_CODE (TAX_CODE_ID INTEGER PRIMARY KEY, TAX_CODE TEXT NOT NULL UNIQUE,
    DESCRIPTION TEXT, TAX_RATE REAL NOT NULL, VAT_INCLUDE INTEGER NOT NULL DEFAULT 1);
CREATE TABLE NOMINAL_LEDGER (ACCOUNT_REF TEXT PRIMARY KEY, NAME TEXT NOT NULL,
    ACCOUNT_TYPE INTEGER NOT NULL DEFAULT 0, BALANCE REAL NOT NULL DEFAULT 0);
CREATE TABLE CONTROL_ACCOUNT (ROLE TEXT PRIMARY KEY, NOMINAL_CODE TEXT NOT NULL,
    DIRECT_POSTING INTEGER NOT NULL);
CREATE TABLE SALES_LEDGER ({_PARTY});
CREATE TABLE PURCHASE_LEDGER ({_PARTY});
CREATE INDEX SALES_LEDGER_EXTERNAL_ID ON SALES_LEDGER (EXTERNAL_ID);
CREATE INDEX PURCHASE_LEDGER_EXTERNAL_ID ON PURCHASE_LEDGER (EXTERNAL_ID);
CREATE TABLE STOCK (STOCK_CODE TEXT PRIMARY KEY, DESCRIPTION TEXT, NOMINAL_CODE TEXT,
    TAX_CODE TEXT, SALES_PRICE REAL, QTY_IN_STOCK REAL NOT NULL DEFAULT 0,
    QTY_SOLD REAL NOT NULL DEFAULT 0, LAST_SALE_DATE TEXT, RECORD_CREATE_DATE TEXT);
CREATE TABLE INVOICE (INVOICE_NUMBER INTEGER PRIMARY KEY, INVOICE_TYPE_CODE INTEGER NOT NULL,
    INVOICE_TYPE TEXT, INVOICE_OR_CREDIT TEXT, INVOICE_DATE TEXT NOT NULL,
    ACCOUNT_REF TEXT NOT NULL,
    NAME TEXT, ADDRESS_1 TEXT, ADDRESS_2 TEXT, ADDRESS_3 TEXT, ADDRESS_4 TEXT, ADDRESS_5 TEXT,
    CUST_ORDER_NUMBER TEXT, TAKEN_BY TEXT, CURRENCY INTEGER NOT NULL, FOREIGN_RATE REAL NOT NULL,
    ITEMS_NET REAL, ITEMS_TAX REAL, ITEMS_GROSS REAL, INVOICE_NET REAL, INVOICE_TAX REAL,
    INVOICE_GROSS REAL, FOREIGN_ITEMS_NET REAL, FOREIGN_ITEMS_TAX REAL, FOREIGN_ITEMS_GROSS REAL,
    FOREIGN_INVOICE_NET REAL, FOREIGN_INVOICE_TAX REAL, FOREIGN_INVOICE_GROSS REAL,
    PAYMENT_DUE_DATE TEXT, POSTED TEXT, POSTED_CODE INTEGER NOT NULL DEFAULT 0,
    EXTERNAL_ID TEXT UNIQUE, RECORD_CREATE_DATE TEXT);
CREATE TABLE INVOICE_ITEM (INVOICE_NUMBER INTEGER NOT NULL, ITEM_NUMBER INTEGER NOT NULL,
    SERVICE_FLAG INTEGER NOT NULL DEFAULT 0, STOCK_CODE TEXT, DESCRIPTION TEXT, COMMENT_1 TEXT,
    QUANTITY REAL, UNIT_PRICE REAL, FOREIGN_UNIT_PRICE REAL, NOMINAL_CODE TEXT, TAX_CODE_ID INTEGER,
    TAX_CODE TEXT, TAX_RATE REAL, FULL_NET_AMOUNT REAL, {_AMOUNTS},
    PRIMARY KEY (INVOICE_NUMBER, ITEM_NUMBER)) WITHOUT ROWID;
CREATE TABLE AUDIT_HEADER (HEADER_NUMBER INTEGER PRIMARY KEY, TRAN_NUMBER INTEGER,
    ITEM_COUNT INTEGER, TYPE TEXT NOT NULL, DATE TEXT NOT NULL, ACCOUNT_REF TEXT NOT NULL,
    NOMINAL_CODE TEXT, INV_REF TEXT, DETAILS TEXT, DUE_DATE TEXT, {_AMOUNTS}, OUTSTANDING REAL,
    FOREIGN_OUTSTANDING REAL, CURRENCY INTEGER NOT NULL, FOREIGN_RATE REAL NOT NULL,
    ISP_REFERENCE INTEGER, USER_NAME TEXT, DATE_ENTERED TEXT, EXTERNAL_ID TEXT UNIQUE);
CREATE TABLE AUDIT_SPLIT (SPLIT_NUMBER INTEGER PRIMARY KEY, TRAN_NUMBER INTEGER,
    HEADER_NUMBER INTEGER NOT NULL, TYPE TEXT NOT NULL, DATE TEXT NOT NULL, ACCOUNT_REF TEXT,
    NOMINAL_CODE TEXT NOT NULL, INV_REF TEXT, DETAILS TEXT, EXTRA_REF TEXT, TAX_CODE TEXT,
    TAX_RATE REAL, {_AMOUNTS}, EXTERNAL_ID INTEGER UNIQUE);
CREATE INDEX AUDIT_SPLIT_HEADER ON AUDIT_SPLIT (HEADER_NUMBER);
CREATE TABLE AUDIT_JOURNAL (JOURNAL_NUMBER INTEGER PRIMARY KEY, HEADER_NUMBER INTEGER NOT NULL,
    SPLIT_NUMBER INTEGER, TYPE TEXT NOT NULL, DATE TEXT NOT NULL, ACCOUNT_REF TEXT,
    NOMINAL_CODE TEXT NOT NULL, INV_REF TEXT, DETAILS TEXT, TAX_CODE TEXT, AMOUNT REAL NOT NULL,
    FOREIGN_AMOUNT REAL, DEBIT REAL NOT NULL, CREDIT REAL NOT NULL);
CREATE INDEX AUDIT_JOURNAL_HEADER ON AUDIT_JOURNAL (HEADER_NUMBER);
"""

CURRENCIES = ((1, "GBP", "£", "Pound Sterling", 1, 1), (2, "EUR", "€", "Euro", 1.15, 0),
              (3, "USD", "$", "US Dollar", 1.27, 0))

TAX_CODES = ((0, "Zero rated", 0), (1, "Standard rate", 20), (2, "Exempt", 0),
             (4, "Sales of goods to VAT registered EC customers", 0), (5, "Lower rate", 5),
             (7, "Zero rated purchases of goods from EC suppliers", 0),
             (8, "Standard rated purchases of goods from EC suppliers", 20),
             (9, "Transactions not involving VAT", 0), (20, "Reverse charge", 0))

# (nominal, name, control role or None, takes direct postings)
NOMINALS = (
    ("1100", "Debtors Control Account", "DEBTORS", 0), ("1103", "Prepayments", "PREPAYMENTS", 1),
    ("1200", "Bank Current Account", "BANK", 1), ("1230", "Petty Cash", None, 1),
    ("1240", "Company Credit Card", None, 1),
    ("2100", "Creditors Control Account", "CREDITORS", 0), ("2109", "Accruals", "ACCRUALS", 1),
    ("2200", "Sales Tax Control Account", "SALES_TAX", 0),
    ("2201", "Purchase Tax Control Account", "PURCHASE_TAX", 0),
    ("2202", "VAT Liability", "VAT_LIABILITY", 0),
    ("2204", "Manual Adjustments", "VAT_MANUAL_ADJUSTMENTS", 0),
    ("3200", "Profit and Loss Account", "RETAINED_EARNINGS", 1),
    ("4000", "Sales Type A", "DEFAULT_SALES", 1), ("4001", "Sales Type B", None, 1),
    ("4002", "Sales Type C", None, 1), ("4009", "Discounts Allowed", "SALES_DISCOUNT", 1),
    ("4100", "Sales Type D", None, 1), ("4200", "Sales of Assets", None, 1),
    ("4400", "Credit Charges (Late Payments)", "CREDIT_CHARGES", 1),
    ("4900", "Miscellaneous Income", None, 1), ("4905", "Distribution and Carriage", None, 1),
    ("5000", "Materials Purchased", None, 1), ("5001", "Materials Imported", None, 1),
    ("5009", "Discounts Taken", "PURCHASE_DISCOUNT", 1), ("5100", "Carriage", None, 1),
    ("6201", "Advertising", None, 1), ("6900", "Miscellaneous Expenses", None, 1),
    ("7000", "Gross Wages", None, 1), ("7100", "Rent", None, 1), ("7200", "Electricity", None, 1),
    ("7300", "Fuel and Oil", None, 1), ("7301", "Repairs and Servicing", None, 1),
    ("7304", "Miscellaneous Motor Expenses", None, 1), ("7400", "Travelling", None, 1),
    ("7401", "Car Hire", None, 1), ("7402", "Hotels", None, 1),
    ("7403", "U.K. Entertainment", None, 1), ("7404", "Overseas Entertainment", None, 1),
    ("7405", "Overseas Travelling", None, 1), ("7406", "Subsistence", None, 1),
    ("7500", "Printing", None, 1), ("7501", "Postage and Carriage", None, 1),
    ("7906", "Exchange Rate Variance", "EXCHANGE_VARIANCE", 1),
    ("8100", "Bad Debt Write Off", "BAD_DEBTS", 1), ("9998", "Suspense Account", "SUSPENSE", 1),
    ("9999", "Mispostings Account", "MISPOSTINGS", 1),
)


def migrate(conn) -> None:
    """Bring a replica to ``SCHEMA_VERSION``; the caller holds the write transaction."""
    has_table = conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'SCHEMA_VERSION'").fetchone()
    current = conn.execute("SELECT MAX(VERSION) FROM SCHEMA_VERSION").fetchone()[0] \
        if has_table else 0
    if current is not None and current > SCHEMA_VERSION:
        raise ValueError(f"the replica has schema version {current}; this cwsage knows up to "
                         f"{SCHEMA_VERSION} — upgrade cwsage")
    if not current and conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()[0]:
        raise ValueError("the file is a SQLite database but not a cwsage Sage 50 replica")
    for version in range((current or 0) + 1, SCHEMA_VERSION + 1):
        MIGRATIONS[version](conn)
        conn.execute("INSERT INTO SCHEMA_VERSION VALUES (?, ?, ?)",
                     (version, now(), MIGRATION_NOTES[version]))


def _v1(conn) -> None:
    for statement in DDL_V1.split(";"):
        if statement.strip():
            conn.execute(statement)
    conn.executemany("INSERT INTO CURRENCY VALUES (?, ?, ?, ?, ?, ?)", CURRENCIES)
    conn.executemany("INSERT INTO TAX_CODE VALUES (?, ?, ?, ?, 1)",
                     [(n, f"T{n}", text, rate) for n, text, rate in TAX_CODES])
    conn.executemany("INSERT INTO NOMINAL_LEDGER (ACCOUNT_REF, NAME) VALUES (?, ?)",
                     [(code, name) for code, name, _, _ in NOMINALS])
    conn.executemany("INSERT INTO CONTROL_ACCOUNT VALUES (?, ?, ?)",
                     [(role, code, direct) for code, _, role, direct in NOMINALS if role])


def _v2(conn) -> None:
    """Exchange rates are the company's to set, never cwsage's: foreign currencies start with
    no rate (0), and ``currency_rates`` in the spec sets them (``set_currency_rates``)."""
    conn.execute("UPDATE CURRENCY SET RATE = 0 WHERE BASE_CURRENCY = 0")


def _v3(conn) -> None:
    """Document keys are shell-safe (``tasks.keys``): purchase keys written as the ConnectWise
    label (``CW-PO-PO #4707, Packing Slip: 4707``) take their new form."""
    for table in ("INVOICE", "AUDIT_HEADER"):
        rows = conn.execute(f"SELECT EXTERNAL_ID FROM {table} WHERE EXTERNAL_ID LIKE 'CW-PO-%'")
        conn.executemany(f"UPDATE {table} SET EXTERNAL_ID = ? WHERE EXTERNAL_ID = ?",
                         [(new, old) for (old,) in rows.fetchall() if (new := legacy_key(old))])


MIGRATIONS = {1: _v1, 2: _v2, 3: _v3}
MIGRATION_NOTES = {1: "Sage 50 UK tables with the UK default chart, tax codes and currencies",
                   2: "foreign currencies without a built-in exchange rate",
                   3: "shell-safe purchase document keys"}


def set_currency_rates(conn, rates: dict) -> None:
    """Apply ``currency_rates`` settings: update known currencies, add the others."""
    for code, rate in rates.items():
        if conn.execute("UPDATE CURRENCY SET RATE = ? WHERE CODE = ?",
                        (float(rate), code)).rowcount == 0:
            conn.execute("INSERT INTO CURRENCY (NUMBER, CODE, NAME, RATE) VALUES "
                         "((SELECT MAX(NUMBER) + 1 FROM CURRENCY), ?, ?, ?)",
                         (code, code, float(rate)))


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
