"""One load into the replica: Sage's import rules, document by document, in one transaction.

The caller opens the transaction; every document gets a SAVEPOINT, so a rejected document
leaves no trace and the others commit together. The chart (tax codes, nominals, currencies,
control accounts) and the accounts, products, invoice numbers and split Ids the XML names are
read once per load; ledger balances are summed in memory and written once at the end.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from decimal import Decimal

from tasks.sage50 import replica_read as rd
from tasks.sage50 import rules as r
from tasks.sage50.money import ZERO
from tasks.sage50.pricing import PricedDoc, price_invoice, price_transaction
from tasks.sage50.protocol import (ALREADY_PRESENT, HELD, LOADED, REJECTED, Check,
                                   DocumentResult, LoadReceipt)
from tasks.config.sage import ReplicaSettings
from tasks.sage50.replica_accounts import (LEDGER_TABLE, address_values, apply_account,
                                           create_account, document_account_problems,
                                           read_accounts)
from tasks.sage50.replica_ledger import BALANCE_SIGN, enter_in_ledgers
from tasks.sage50.sagexml import CompanyXml, Invoice

DEFAULT_PAYMENT_DAYS = 30


class Rejected(Exception):
    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


class LoadRun:
    Rejected = Rejected

    def __init__(self, conn: sqlite3.Connection, opt: ReplicaSettings,
                 check: Check | None = None):
        self.cur = conn.cursor()
        self.opt = opt
        self.check = check
        self.receipt = LoadReceipt()
        self._read_chart()
        self.next = self._counters()
        self.accounts: dict = {}
        self.rejected_accounts: dict[tuple[str, str], str] = {}
        self.nominal_delta: dict[str, Decimal] = defaultdict(lambda: ZERO)
        self.ledger_delta: dict = defaultdict(lambda: [ZERO, ZERO])
        self._on_success: list = []
        self._on_undo: list = []

    def run(self, company: CompanyXml) -> LoadReceipt:
        clashes = r.xml_problems(company)
        self._preload(company)
        keys = [i.key for i in company.invoices] + [g.key for g in company.transactions]
        done = rd.posted_refs(self.cur, keys)
        for acc in company.accounts:
            self._account(acc, clashes.get((acc.kind, acc.key)))
        for inv in company.invoices:
            self._document(inv.key, inv, price_invoice, clashes, done)
        for group in company.transactions:
            self._document(group.key, group, price_transaction, clashes, done)
        self._write_balances()
        return self.receipt

    # -- the chart and what the XML refers to, read once per load ---------------------------

    def _read_chart(self) -> None:
        cur = self.cur
        currencies = cur.execute("SELECT NUMBER, CODE, RATE, BASE_CURRENCY FROM CURRENCY")
        currencies = currencies.fetchall()
        self.rates = {code: rd.rate(value) for _, code, value, _ in currencies}
        self.currency_number = {code: number for number, code, _, _ in currencies}
        self.currency_code = {number: code for code, number in self.currency_number.items()}
        base = next((code for _, code, _, is_base in currencies if is_base), r.BASE_CURRENCY)
        controls = cur.execute("SELECT ROLE, NOMINAL_CODE, DIRECT_POSTING FROM CONTROL_ACCOUNT")
        controls = controls.fetchall()
        self.roles = {role: code for role, code, _ in controls}
        self.chart = r.Chart(
            tax_rates={n: rd.rate(value) for n, value in
                       cur.execute("SELECT TAX_CODE_ID, TAX_RATE FROM TAX_CODE")},
            no_direct={code: role.lower().replace("_", " ")
                       for role, code, direct in controls if not direct},
            nominals=dict(cur.execute("SELECT ACCOUNT_REF, NAME FROM NOMINAL_LEDGER")),
            currencies=self.rates, base_currency=base, lock_date=self.opt.lock_date)

    def _counters(self) -> dict[str, int]:
        """Next numbers, as Sage hands them out: one past the highest in use."""
        top = self.cur.execute("SELECT (SELECT MAX(INVOICE_NUMBER) FROM INVOICE), "
                               "(SELECT MAX(HEADER_NUMBER) FROM AUDIT_HEADER), "
                               "(SELECT MAX(SPLIT_NUMBER) FROM AUDIT_SPLIT)").fetchone()
        return {name: (n or 0) + 1 for name, n in zip(("invoice", "header", "split"), top)}

    def _preload(self, company: CompanyXml) -> None:
        refs = {"customer": set(), "supplier": set()}
        for a in company.accounts:
            refs[a.kind].add(a.account_ref)
        refs["customer"].update(i.account_ref for i in company.invoices)
        for g in company.transactions:
            s = g.splits[0]
            refs[r.LEDGER_OF.get(r.TRANSACTION_TYPES.get(s.transaction_type), "customer")].add(
                s.account_ref)
        for kind, names in refs.items():
            self.accounts.update(read_accounts(self.cur, kind, names - {None, ""},
                                               self.currency_code))
        self.stock = rd.existing(self.cur, "STOCK", "STOCK_CODE", {
            it.sku for i in company.invoices for it in i.items if it.sku})
        self.used_numbers = rd.existing(self.cur, "INVOICE", "INVOICE_NUMBER", {
            int(i.invoice_number) for i in company.invoices
            if i.invoice_number and r.INVOICE_NUMBER_RE.match(i.invoice_number)})
        self.used_splits = rd.split_owners(self.cur, {
            int(s.split_id) for g in company.transactions for s in g.splits
            if s.split_id and r.SPLIT_ID_RE.match(s.split_id)})

    # -- documents -----------------------------------------------------------------------------

    def _account(self, acc, clash: str | None) -> None:
        problems = ([clash] if clash else []) + r.check_account(acc, self.chart)
        if problems:
            self._reject(acc.key, problems, acc)
        else:
            self._write(acc.key, lambda: apply_account(self, acc), acc)

    def _document(self, key: str, source, price, clashes: dict, done: dict) -> None:
        if key in done:
            self._result(key, ALREADY_PRESENT, done[key])
            return
        clash = clashes.get(("document", key))
        doc, problems = (None, [clash]) if clash else price(source, self.chart)
        if doc is not None and self.check is not None and self.check(doc):
            self.receipt.results.append(DocumentResult(key, HELD, None, "held by the caller's "
                                                       "check before loading"))
            return
        if doc is not None:
            problems = self._ledger_problems(doc)
        if problems:
            self._reject(key, problems)
        else:
            self._write(key, lambda: self._enter(doc))

    def _ledger_problems(self, doc: PricedDoc) -> list[str]:
        is_invoice = isinstance(doc.source, Invoice)
        p = document_account_problems(self, doc, is_invoice)
        if is_invoice:
            n = doc.source.invoice_number
            if n and int(n) in self.used_numbers:
                p.append(f"InvoiceNumber {n} is already used by a Sage invoice (R-INV-1) — leave "
                         f"InvoiceNumber out to let Sage number it, or fix the numbering")
            if not self.opt.auto_create_products:
                p += [f"Item {ln.number} Sku {ln.sku!r} is not a Sage product and "
                      f"auto_create_products is off — create it in Sage, map the line to S1, "
                      f"or turn auto_create_products on"
                      for ln in doc.lines if ln.stock and ln.sku not in self.stock]
        for ln in doc.lines:
            owner = self.used_splits.get(ln.split_id) if ln.split_id is not None else None
            if owner:
                p.append(f"split {ln.split_id} Id is already posted in Sage for {owner} "
                         f"(R-ID-2) — give every split its own numeric Id")
        return p

    def _enter(self, doc: PricedDoc) -> tuple[str, str]:
        if (doc.ledger, doc.account_ref) not in self.accounts:      # invoices only, by now
            create_account(self, doc.ledger, doc.account_ref, doc.currency,
                           address_values(doc.account_ref, doc.source.address))
        posted = enter_in_ledgers(self, doc)

        def commit() -> None:
            for nominal, amount in posted.movements:
                self.nominal_delta[nominal] += amount
            delta = self.ledger_delta[doc.ledger, doc.account_ref]
            delta[0] += BALANCE_SIGN[doc.doc_type] * posted.base_gross
            delta[1] += BALANCE_SIGN[doc.doc_type] * posted.foreign_gross
        self.on_success(commit)
        return LOADED, posted.sage_ref

    # -- one SAVEPOINT per document --------------------------------------------------------------

    def _write(self, key: str, work, account=None) -> None:
        mark, self._on_success, self._on_undo = dict(self.next), [], []
        self.cur.execute("SAVEPOINT document")
        try:
            status, sage_ref = work()
        except (Rejected, sqlite3.IntegrityError) as exc:
            self._undo(mark)
            problems = getattr(exc, "problems", None) or [
                f"Sage refused the write ({exc}) — check the document's keys and numbers"]
            self._reject(key, problems, account)
            return
        except BaseException:
            self._undo(mark)
            raise
        self.cur.execute("RELEASE document")
        for hook in self._on_success:
            hook()
        self._result(key, status, sage_ref)

    def _undo(self, mark: dict) -> None:
        try:
            self.cur.execute("ROLLBACK TO document")
            self.cur.execute("RELEASE document")
        finally:
            for undo in reversed(self._on_undo):
                undo()
            self.next = mark

    def on_success(self, hook) -> None:
        self._on_success.append(hook)

    def on_undo(self, hook) -> None:
        self._on_undo.append(hook)

    def _result(self, key: str, status: str, sage_ref: str | None) -> None:
        self.receipt.results.append(DocumentResult(key, status, sage_ref, None))

    def _reject(self, key: str, problems: list[str], account=None) -> None:
        text = r.reason(key, problems)
        if account is not None:
            self.rejected_accounts[account.kind, account.account_ref] = text
        self.receipt.results.append(DocumentResult(key, REJECTED, None, text))

    # -- helpers for the posting modules ---------------------------------------------------------

    def take(self, counter: str) -> int:
        value = self.next[counter]
        self.next[counter] = value + 1
        return value

    def use_invoice_number(self, number: int) -> None:
        self.used_numbers.add(number)
        self.on_undo(lambda: self.used_numbers.discard(number))
        self.next["invoice"] = max(self.next["invoice"], number + 1)

    def new_stock(self, sku: str) -> None:
        self.stock.add(sku)
        self.on_undo(lambda: self.stock.discard(sku))

    def payment_days(self, doc: PricedDoc) -> int:
        row = self.accounts.get((doc.ledger, doc.account_ref))
        days = row.values.get("PAYMENT_DUE_DAYS") if row else None
        return DEFAULT_PAYMENT_DAYS if days is None else days

    def account_name(self, doc: PricedDoc) -> str:
        row = self.accounts.get((doc.ledger, doc.account_ref))
        return (row.values.get("NAME") if row else None) or doc.account_ref

    def _write_balances(self) -> None:
        self.cur.executemany(
            "UPDATE NOMINAL_LEDGER SET BALANCE = ROUND(BALANCE + ?, 2) WHERE ACCOUNT_REF = ?",
            [(float(v), k) for k, v in self.nominal_delta.items() if v])
        for kind, table in LEDGER_TABLE.items():
            self.cur.executemany(
                f"UPDATE {table} SET BALANCE = ROUND(BALANCE + ?, 2), "
                f"FOREIGN_BALANCE = ROUND(FOREIGN_BALANCE + ?, 2) WHERE ACCOUNT_REF = ?",
                [(float(b), float(f), ref) for (k, ref), (b, f) in self.ledger_delta.items()
                 if k == kind])
