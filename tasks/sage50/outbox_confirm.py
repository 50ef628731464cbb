"""What Zynk says of the outbox's documents: its Success and Fail files, read once each.

Zynk's import task writes every record it imported to its Success File and every record it did
not import to its Fail File (``docs/zynk-importer.md``). Each new file in the two folders is
read, judged against what the manifest says was handed off, and recorded in the manifest's
outcomes together with the file's name and hash, in one transaction; files are never modified.

* a record in a success file whose content prices to what was handed off → imported;
* a record skipped as a duplicate (Prevent Duplicates) with that same content → imported: an
  earlier run of the importer already put it in Sage;
* a record in a fail file for any other reason → failed, with Zynk's words; the next load
  writes the document again;
* content other than what was handed off, or only some splits of a transaction → differs;
* an Id the outbox never handed off → reported, ignored;
* a fail file never turns imported into anything else, nor differs into failed: Sage already
  holds (part of) the document, and a resend would post it twice.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from tasks.sage50 import rules as r
from tasks.sage50.outbox_manifest import Manifest
from tasks.sage50.pricing import price_invoice, price_transaction
from tasks.sage50.protocol import (DIFFERS, FAILED, IMPORTED, ConfirmationRead,
                                   DocumentTotals)
from tasks.sage50.sagexml import parse_company
from tasks.sage50.zynk_files import (UnreadableOutcome, ZynkRecord, is_duplicate_skip,
                                     read_outcome_file)

FAILED_FIX = ("correct the cause in Sage (Zynk's words say what), then `cwsage resend {key}` "
              "to write it to the outbox again; a document corrected in ConnectWise instead is "
              "written again by the next run by itself")
DIFFERS_FIX = ("compare the document in Sage with ConnectWise and correct Sage by hand; it is "
               "not batched in ConnectWise until they agree")


@dataclass
class _Said:
    """Everything one file says of one document."""

    records: list[ZynkRecord]
    failed: bool


def read_zynk(manifest: Manifest, chart: r.Chart, success: Path, fail: Path,
              read: ConfirmationRead) -> None:
    """Read every success and fail file not read before into the manifest's outcomes."""
    for folder, failed in ((success, False), (fail, True)):
        if folder.is_dir():
            for path in sorted(p for p in folder.glob("*.xml") if not p.name.startswith(".")):
                _read_file(manifest, chart, path, failed, read)


def _read_file(manifest: Manifest, chart: r.Chart, path: Path, failed: bool,
               read: ConfirmationRead) -> None:
    try:
        data = path.read_bytes()
    except OSError as exc:
        read.unreadable.append(f"{path}: cannot be read ({exc.strerror or exc})")
        return
    sha = hashlib.sha256(data).hexdigest()
    if manifest.was_read(str(path), sha):
        return
    try:
        records = read_outcome_file(data, path.name)
    except UnreadableOutcome as exc:        # half-written, perhaps: read again next time
        read.unreadable.append(str(exc))
        return
    said = _by_document(manifest, records, failed, path.name, read.strays)
    known = manifest.outcomes(said)
    rows = [row for key, s in said.items()
            if (row := _judge(manifest, chart, key, s, path.name, known.get(key)))]
    manifest.record_outcomes(rows, read=(str(path), sha))


def _by_document(manifest: Manifest, records: list[ZynkRecord], failed: bool, name: str,
                 strays: list[str]) -> dict[str, _Said]:
    split_ids = [int(x.record_id) for x in records if x.collection == "Transactions"
                 and x.record_id and r.SPLIT_ID_RE.match(x.record_id)]
    owners = manifest.split_owners(split_ids)
    ids = {x.record_id for x in records if x.record_id}
    known = set(manifest.totals(ids)) | manifest.accounts_of(ids)
    out: dict[str, _Said] = {}
    for x in records:
        key = x.record_id
        if x.collection == "Transactions":
            owner = owners.get(int(x.record_id)) if _split_id(x) else None
            key = owner or (x.second_reference if x.second_reference in
                            manifest.totals([x.second_reference or ""]) else None)
        if key is None or (x.collection != "Transactions" and key not in known):
            strays.append(f"{x.collection[:-1]} Id {x.record_id or '(none)'} in {name}")
            continue
        out.setdefault(key, _Said([], failed)).records.append(x)
    return out


def _judge(manifest: Manifest, chart: r.Chart, key: str, said: _Said, name: str,
           known: tuple | None) -> tuple | None:
    """(key, outcome, evidence, reason, fix) for what one file says of one document."""
    where = f"Zynk {'fail' if said.failed else 'success'} file {name}"
    errors = [e for x in said.records for e in x.errors]
    duplicate = said.failed and is_duplicate_skip(errors)
    if said.failed and known and (known[0] == IMPORTED or
                                  (known[0] == DIFFERS and not duplicate)):
        return None     # a late failure or skip says nothing of what Sage already holds
    if said.failed and not duplicate:
        words = "; ".join(dict.fromkeys(e.description or e.name or "no description"
                                        for e in errors)) or "no error given"
        return (key, FAILED, where, f"Zynk did not import it: {words}",
                FAILED_FIX.format(key=key))
    if said.records[0].collection in ("Customers", "Suppliers"):
        return (key, IMPORTED, where, None, None)
    held = manifest.totals([key]).get(key)
    difference = _difference(manifest, chart, key, said.records, held)
    if difference:
        return (key, DIFFERS, where, f"Zynk {'skipped' if duplicate else 'imported'} it "
                f"({where}), but {difference}", DIFFERS_FIX)
    how = " (skipped as already imported, with the content handed off)" if duplicate else ""
    return (key, IMPORTED, where + how, None, None)


def _difference(manifest: Manifest, chart: r.Chart, key: str, records: list[ZynkRecord],
                held: DocumentTotals | None) -> str | None:
    if held is None:
        return "the outbox cannot price what it handed off"
    if records[0].collection == "Transactions":
        written = {i for i, owner in manifest.split_owners(
            int(x.record_id) for x in records if _split_id(x)).items() if owner == key}
        expected = len(held.lines) if held.lines else len(written)
        if len(records) < expected:
            return (f"the file names {len(records)} of its {expected} splits: Sage holds part "
                    "of the document")
    found = _price(records, chart)
    if found is None:
        return "what it names no longer prices by Sage's rules"
    if found.currency != held.currency:
        return (f"it holds it in {found.currency}, and the outbox handed it off in "
                f"{held.currency}")
    if (found.doc_type, found.account_ref, found.net, found.tax) != \
            (held.doc_type, held.account_ref, held.net, held.tax):
        return (f"it holds {found.doc_type} {found.account_ref} net {found.net} VAT "
                f"{found.tax}, and the outbox handed off {held.doc_type} {held.account_ref} "
                f"net {held.net} VAT {held.tax}")
    return None


def _split_id(x: ZynkRecord) -> bool:
    """The record's Id is a split Id cwsage could have written (the file is untrusted)."""
    return bool(x.record_id and r.SPLIT_ID_RE.match(x.record_id))


def _price(records: list[ZynkRecord], chart: r.Chart) -> DocumentTotals | None:
    root = etree.Element("Company")
    parent = etree.SubElement(root, records[0].collection)
    for x in records:
        parent.append(etree.fromstring(etree.tostring(x.element)))
    company = parse_company(etree.tostring(root))
    sources = [(i, price_invoice) for i in company.invoices]
    sources += [(g, price_transaction) for g in company.transactions]
    if len(sources) != 1:
        return None
    doc, _ = sources[0][1](sources[0][0], chart)
    return doc.totals() if doc is not None else None
