"""Decide what one outbox load writes: each document is new, already written, or rejected.

The outbox cannot see the Sage company, so it applies the rules that need none (``rules``,
``pricing``: A/C format, text lengths, positive prices, known tax codes, control accounts, lock
date) and the ones its manifest can answer (document key or split Id written before).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from lxml import etree

from tasks.sage50 import rules as r
from tasks.sage50.outbox_manifest import AccountEntry, DocEntry, Manifest
from tasks.sage50.pricing import PricedDoc, price_invoice, price_transaction
from tasks.sage50.protocol import (ALREADY_PRESENT, HANDED_OFF, HELD, LOADED, REJECTED,
                                   Check,
                                   DocumentResult, LoadReceipt)
from tasks.sage50.sagexml import Account, CompanyXml, Invoice, TransactionGroup


@dataclass
class Plan:
    receipt: LoadReceipt = field(default_factory=LoadReceipt)
    docs: list[DocEntry] = field(default_factory=list)          # to record in the manifest
    accounts: list[AccountEntry] = field(default_factory=list)
    elements: dict[str, list] = field(default_factory=dict)      # collection -> elements
    sha256: str = ""
    priced: list[PricedDoc] = field(default_factory=list)       # the documents to write
    _written: list[int] = field(default_factory=list)           # results that await the file

    def add(self, key: str, status: str, sage_ref: str | None = None,
            reason: str | None = None, pending: bool = False) -> None:
        if pending:
            self._written.append(len(self.receipt.results))
        self.receipt.results.append(DocumentResult(key, status, sage_ref, reason))

    def refuse(self, key: str, reason: str) -> None:
        """A planned document the file format cannot carry: rejected, never written."""
        for i in list(self._written):
            if self.receipt.results[i].key == key:
                self._written.remove(i)
                self.receipt.results[i] = DocumentResult(key, REJECTED, None, reason)
        self.docs = [d for d in self.docs if d.key != key]
        self.priced = [d for d in self.priced if d.key != key]

    def written_to(self, name: str, where: str = "outbox") -> None:
        """The file is written: its documents wait for the Sage side's importer."""
        for i in self._written:
            self.receipt.results[i] = DocumentResult(self.receipt.results[i].key, HANDED_OFF,
                                                     f"{where} {name}", None)


def plan_load(company: CompanyXml, chart: r.Chart, manifest: Manifest,
              check: Check | None = None) -> Plan:
    plan, clashes = Plan(), r.xml_problems(company)
    candidates, refused = _accounts(plan, company, chart, manifest, clashes)
    accepted = plan.priced = _documents(plan, company, chart, manifest, clashes, refused, check)
    named = {(doc.ledger, doc.account_ref) for doc in accepted}
    for acc, entry, changed in candidates:
        if changed or (acc.kind, acc.account_ref) in named:
            plan.accounts.append(entry)
            plan.elements.setdefault(f"{acc.element.tag}s", []).append(acc.element)
    plan.elements["Invoices"] = [d.source.element for d in accepted
                                 if isinstance(d.source, Invoice)]
    plan.elements["Transactions"] = [s.element for d in accepted
                                     if isinstance(d.source, TransactionGroup)
                                     for s in d.source.splits]
    return plan


def _accounts(plan: Plan, company: CompanyXml, chart: r.Chart, manifest: Manifest,
              clashes: dict) -> tuple[list, dict]:
    digests = manifest.account_digests(a.key for a in company.accounts)
    candidates, refused = [], {}
    for acc in company.accounts:
        clash = clashes.get((acc.kind, acc.key))
        problems = ([clash] if clash else []) + r.check_account(acc, chart)
        if problems:
            refused[acc.kind, acc.account_ref] = r.reason(acc.key, problems)
            plan.add(acc.key, REJECTED, reason=refused[acc.kind, acc.account_ref])
            continue
        entry = account_entry(acc)
        changed = digests.get((acc.kind, acc.key)) != entry.digest
        candidates.append((acc, entry, changed))
        if changed:
            plan.add(acc.key, LOADED, pending=True)
        else:
            plan.add(acc.key, ALREADY_PRESENT, f"{acc.kind} {acc.account_ref}")
    return candidates, refused


def _documents(plan: Plan, company: CompanyXml, chart: r.Chart, manifest: Manifest,
               clashes: dict, refused: dict, check: Check | None) -> list[PricedDoc]:
    sources = [(i, price_invoice) for i in company.invoices]
    sources += [(g, price_transaction) for g in company.transactions]
    written = manifest.document_files(s.key for s, _ in sources)
    owners = manifest.split_owners(
        int(s.split_id) for g in company.transactions for s in g.splits
        if s.split_id and r.SPLIT_ID_RE.match(s.split_id))
    accepted = []
    for source, price in sources:
        key = source.key
        if key in written:
            plan.add(key, ALREADY_PRESENT, f"outbox {written[key]}")
            continue
        clash = clashes.get(("document", key))
        doc, problems = (None, [clash]) if clash else price(source, chart)
        if doc is not None and check is not None and check(doc):
            plan.add(key, HELD, reason="held by the caller's check before writing")
            continue
        if doc is not None:
            problems = _known_problems(doc, refused, owners)
        if problems:
            plan.add(key, REJECTED, reason=r.reason(key, problems))
            continue
        accepted.append(doc)
        plan.docs.append(DocEntry(key, doc.totals(), _split_ids(doc)))
        plan.add(key, LOADED, pending=True)
    return accepted


def _known_problems(doc: PricedDoc, refused: dict, owners: dict[int, str]) -> list[str]:
    p = []
    refusal = refused.get((doc.ledger, doc.account_ref))
    if refusal:
        p.append(f"AccountReference {doc.account_ref!r}: its {doc.ledger} record in this XML was "
                 f"rejected ({refusal}) — fix that record and load again")
    for ln in doc.lines:
        owner = owners.get(ln.split_id) if ln.split_id is not None else None
        if owner and owner != doc.key:
            p.append(f"split {ln.split_id} Id was already written to the outbox for {owner} "
                     f"(R-ID-2) — give every split its own numeric Id")
    return p


def _split_ids(doc: PricedDoc) -> tuple[int, ...]:
    return tuple(ln.split_id for ln in doc.lines if ln.split_id is not None)


def account_entry(acc: Account) -> AccountEntry:
    digest = hashlib.sha256(etree.tostring(acc.element, method="c14n")).hexdigest()
    return AccountEntry(acc.kind, acc.key, acc.account_ref, digest)


def doc_entry(source: Invoice | TransactionGroup, chart: r.Chart) -> DocEntry:
    """A document found in an outbox file: its key, its totals when it still prices."""
    price = price_invoice if isinstance(source, Invoice) else price_transaction
    doc, _ = price(source, chart)
    ids = () if isinstance(source, Invoice) else tuple(
        int(s.split_id) for s in source.splits if s.split_id and r.SPLIT_ID_RE.match(s.split_id))
    return DocEntry(source.key, doc.totals() if doc else None, ids)
