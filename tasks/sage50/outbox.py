"""``zynk_xml_outbox``: drop each load's Sage XML into a folder a Sage-side Zynk importer reads.

Each load writes at most one file, atomically: a hidden temp file in the same folder, written
and fsynced, renamed with ``os.replace`` to ``{source}-{UTC timestamp}-{hash}.xml``, then the
folder fsynced. Only then does the manifest (``outbox_manifest``) record the file's document
keys with their totals, priced by the same rules as the replica. A document key already in the
manifest is never written again: it is reported "already_present", and a load with nothing new
writes no file. Customer/Supplier records travel with the documents that name them. On start,
a file in the folder that the manifest does not know (a crash between rename and manifest
write) has its keys added to the manifest.

Documents written are ``handed_off``: in Sage only once Zynk's Success File names them
(``outbox_confirm``); ``confirmations`` reads what Zynk wrote since the last call.

Settings (``pipelines.yaml`` resolves relative paths against the spec's folder):
    folder      required: the folder Zynk's import task reads
    success_folder / fail_folder   where Zynk writes its Success and Fail Files (default
                ``<folder>/success`` and ``<folder>/fail``)
    tax_rates   ``{1: 20, 14: 0, …}`` tax code number -> percent, over the UK defaults
    lock_date   ISO date; documents dated on or before it are rejected (R-DATE-2,
                ``docs/sage50-rules.md``)
    currency_rates  ``{EUR: 1.15}`` units per pound sterling, as the Sage company holds them;
                a foreign-currency document without one is held before it is written
"""

from __future__ import annotations

import hashlib
import logging
import re
import sqlite3
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable

from lxml import etree

from tasks.errors import LoadError
from tasks.files import write_atomic
from tasks.sage50.claim import exclusive
from tasks.sage50 import rules as r
from tasks.sage50.outbox_manifest import AccountEntry, DocEntry
from tasks.sage50.handoff import ManifestHandoff
from tasks.sage50.outbox_confirm import read_zynk
from tasks.sage50.outbox_plan import Plan, account_entry, doc_entry, plan_load
from tasks.sage50.protocol import Check, ConfirmationRead, LoadReceipt
from tasks.sage50.sagexml import CompanyXml, parse_company, parse_for, serialize
from tasks.config.sage import OutboxSettings

log = logging.getLogger("cwsage.load")
FILE_RE = re.compile(r"^[a-z0-9-]+-\d{8}T\d{6}Z-(?P<hash>[0-9a-f]{8})\.xml$")
ORDER = ("Customers", "Suppliers", "Invoices", "Transactions")


class OutboxWriter(ManifestHandoff):
    name = "zynk_xml_outbox"

    def __init__(self, settings: OutboxSettings, home: Path):
        """``settings`` validated and resolved (``OutboxSettings.resolved``): the Success and
        Fail folders are set."""
        self._open(settings, ".*.xml.tmp", Path.unlink, "as the outbox")

    def load(self, company_xml: bytes, *, source: str,
             check: Check | None = None) -> LoadReceipt:
        company = parse_for(company_xml, source)
        with self._lock, exclusive(self.folder):     # one writer at a time, any process
            manifest = self._live()
            self.repair_manifest()
            plan = plan_load(company, self.chart, manifest, check)
            if plan.docs or plan.accounts:
                name = self._write(company, plan, source)
                try:
                    manifest.record(name, source, plan.sha256, plan.docs, plan.accounts)
                except sqlite3.Error as exc:
                    raise LoadError(f"{source}: {name} was written to the outbox but the "
                                    f"manifest could not record it ({exc}); the next load "
                                    f"records it from the file") from exc
                plan.written_to(name)
            return plan.receipt

    def _write(self, company: CompanyXml, plan: Plan, source: str) -> str:
        data = serialize(_document(company, plan.elements))
        plan.sha256 = hashlib.sha256(data).hexdigest()
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        name = f"{slug(source)}-{stamp}-{plan.sha256[:8]}.xml"
        try:
            write_atomic(self.folder / name, data, durable=True)
        except OSError as exc:
            raise LoadError(f"{source}: could not write {name} to the outbox {self.folder}: "
                            f"{exc}") from exc
        return name

    def repair_manifest(self) -> list[str]:
        """Record the keys of outbox files the manifest does not know (a crash between the
        rename and the manifest write); returns their names. Runs on open and before a load."""
        with self._lock:
            manifest = self._live()
            known, added = manifest.files(), []
            for path in sorted(self.folder.glob("*.xml")):
                match = FILE_RE.match(path.name)
                if path.name in known or not match:
                    continue
                data = path.read_bytes()
                sha = hashlib.sha256(data).hexdigest()
                if sha[:8] != match["hash"]:
                    log.warning("%s: named like an outbox file but not one written whole by "
                                "cwsage; left alone", path)
                    continue
                docs, accounts = _entries(parse_company(data), self.chart)
                manifest.record(path.name, "reconciled", sha, docs, accounts, reconciled=True)
                added.append(path.name)
            return added

    def confirmations(self, keys: Iterable[str]) -> ConfirmationRead:
        """Read Zynk's new Success and Fail files, then say what is known of ``keys``."""
        read = ConfirmationRead()
        with self._lock:
            manifest = self._live()
            read_zynk(manifest, self.chart, self.settings.success_folder,
                      self.settings.fail_folder, read)
            read.confirmations = manifest.confirmations(keys)
        return read



def _document(company: CompanyXml, elements: dict[str, list]) -> etree._Element:
    root = etree.Element("Company", nsmap=company.root.nsmap)
    for collection in ORDER:
        if elements.get(collection):
            parent = etree.SubElement(root, collection)
            for el in elements[collection]:
                el.tail = None
                parent.append(el)
    return root


def _entries(company: CompanyXml, chart: r.Chart) -> tuple[list[DocEntry], list[AccountEntry]]:
    """What a file already in the outbox carries, for the manifest."""
    docs = [doc_entry(i, chart) for i in company.invoices]
    docs += [doc_entry(g, chart) for g in company.transactions]
    return docs, [account_entry(a) for a in company.accounts]


def slug(source: str) -> str:
    text = re.sub(r"[^a-z0-9]+", "-", source.lower()).strip("-")
    return text[:40].strip("-") or "load"
