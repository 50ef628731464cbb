"""Zynk's Success and Fail files: what a Sage-side Zynk import task says it did with each record.

A Zynk import task writes every record it imported to its Success File and every record it did
not import to its Fail File. Both are Zynk XML (``<Company><Invoices><Invoice>…``), the records
as they were given; a failed record carries ``<Errors><Error><Date/><Name/><Description/>
</Error></Errors>`` as its last child. With Prevent Duplicates on, a record whose ``Id`` was
imported before is skipped into the Fail File with an error saying so (``is_duplicate_skip``).
See ``docs/zynk-importer.md``.

The files come from another machine, so they are parsed as hostile: no DTD, no entities, no
network, lxml's size limits on; a file that is empty, cut off, not XML or not Zynk's raises
``UnreadableOutcome`` naming the file. Text from a file is data and is never interpreted.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Iterable

from lxml import etree

COLLECTIONS = {"Customers": "Customer", "Suppliers": "Supplier",
               "Invoices": "Invoice", "Transactions": "Transaction"}
COLLECTION_OF = {record: collection for collection, record in COLLECTIONS.items()}
ZYNK_NSMAP = {"xsd": "http://www.w3.org/2001/XMLSchema",
              "xsi": "http://www.w3.org/2001/XMLSchema-instance"}

# What the local importer (``sage_import``) writes for a Prevent Duplicates skip; Zynk's own
# wording is not documented, so ``is_duplicate_skip`` also accepts the usual variants.
DUPLICATE_DESCRIPTION = ("Skipped: a record with this Id has already been imported "
                         "(Prevent Duplicates)")
DUPLICATE_MARKERS = ("already imported", "already been imported", "duplicate")
NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class UnreadableOutcome(ValueError):
    """A Success or Fail file that cannot be read: empty, cut off, not XML, or not Zynk's."""


@dataclass(frozen=True)
class ZynkError:
    date: str | None
    name: str | None
    description: str | None


@dataclass(frozen=True)
class ZynkRecord:
    collection: str                  # "Invoices" | "Transactions" | "Customers" | "Suppliers"
    record_id: str | None            # the record's <Id> text (a split Id for a transaction)
    second_reference: str | None     # a transaction's SecondReference (cwsage's document key)
    errors: tuple[ZynkError, ...]    # empty in a Success File
    element: etree._Element          # the record with <Errors> removed (to re-price it)


def is_duplicate_skip(errors: Iterable[ZynkError]) -> bool:
    """True when every error says the record was skipped as already imported (and there is
    at least one): a record with any other error failed for real."""
    errors = list(errors)
    return bool(errors) and all(_says_duplicate(e.description) for e in errors)


def _says_duplicate(text: str | None) -> bool:
    low = (text or "").lower()
    return any(marker in low for marker in DUPLICATE_MARKERS)


# -- reading -------------------------------------------------------------------------------------

def read_outcome_file(data: bytes, name: str) -> list[ZynkRecord]:
    """The records of one Success or Fail file, in file order."""
    root = _parse(data, name)
    out: list[ZynkRecord] = []
    for coll in root:
        record_tag = COLLECTIONS.get(coll.tag)
        if record_tag is None:
            raise UnreadableOutcome(f"{name}: <Company> holds <{_tag(coll)}>, which is not one "
                                    f"of {', '.join(COLLECTIONS)} — not a Zynk Success/Fail file "
                                    f"of a cwsage import")
        for el in coll:
            if el.tag != record_tag:
                raise UnreadableOutcome(f"{name}: <{coll.tag}> holds <{_tag(el)}>, expected "
                                        f"<{record_tag}> — not a Zynk Success/Fail file")
            out.append(_record(coll.tag, el))
    return out


def _parse(data: bytes, name: str) -> etree._Element:
    if not data or not data.strip():
        raise UnreadableOutcome(f"{name}: the file is empty — the importer may still be writing "
                                f"it or have stopped; read it again when it has finished")
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                             remove_comments=True, remove_pis=True, huge_tree=False)
    try:
        root = etree.fromstring(data, parser)
    except (etree.XMLSyntaxError, ValueError) as exc:
        raise UnreadableOutcome(f"{name}: not complete, well-formed XML ({exc}) — a half-written "
                                f"file, or not an import result; read it again when the "
                                f"importer has finished") from exc
    tree = root.getroottree()
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise UnreadableOutcome(f"{name}: carries a DOCTYPE, which Zynk files never do — "
                                f"refused unread")
    if next(root.iter(etree.Entity), None) is not None:
        raise UnreadableOutcome(f"{name}: uses XML entities, which Zynk files never do — "
                                f"refused unread")
    if root.tag != "Company":
        raise UnreadableOutcome(f"{name}: the root element is <{_tag(root)}>, expected "
                                f"<Company> — not a Zynk file")
    return root


def _tag(el) -> str:
    return el.tag if isinstance(el.tag, str) else "?"


def _record(collection: str, el: etree._Element) -> ZynkRecord:
    clean = copy.deepcopy(el)
    clean.tail = None
    errors: list[ZynkError] = []
    for block in [c for c in clean if c.tag == "Errors"]:
        errors += [ZynkError(_child_text(e, "Date"), _child_text(e, "Name"),
                             _child_text(e, "Description")) for e in block if e.tag == "Error"]
        clean.remove(block)
    second = _child_text(clean, "SecondReference") if collection == "Transactions" else None
    return ZynkRecord(collection, _child_text(clean, "Id"), second, tuple(errors), clean)


def _child_text(el: etree._Element, tag: str) -> str | None:
    child = el.find(tag)
    return None if child is None else (child.text or None)


# -- writing -------------------------------------------------------------------------------------

def outcome_document(records: list[tuple[etree._Element, list[ZynkError]]]) -> bytes:
    """A Success or Fail file: the records grouped into their collections (Customers,
    Suppliers, Invoices, Transactions), each followed by ``<Errors>`` when it has any. The
    elements are copied; the caller's are never changed."""
    root = etree.Element("Company", nsmap=ZYNK_NSMAP)
    groups: dict[str, list[etree._Element]] = {c: [] for c in COLLECTIONS}
    for el, errors in records:
        collection = COLLECTION_OF.get(el.tag)
        if collection is None:
            raise ValueError(f"<{_tag(el)}> is not a Zynk record cwsage writes "
                             f"(expected one of {', '.join(COLLECTION_OF)})")
        groups[collection].append(_with_errors(el, errors))
    for collection, elements in groups.items():
        if elements:
            etree.SubElement(root, collection).extend(elements)
    return etree.tostring(root, xml_declaration=True, encoding="utf-8", pretty_print=True)


def _with_errors(el: etree._Element, errors: list[ZynkError]) -> etree._Element:
    out = copy.deepcopy(el)
    out.tail = None
    for old in [c for c in out if c.tag == "Errors"]:
        out.remove(old)
    if errors:
        block = etree.SubElement(out, "Errors")
        for e in errors:
            error = etree.SubElement(block, "Error")
            for tag, value in (("Date", e.date), ("Name", e.name),
                               ("Description", e.description)):
                etree.SubElement(error, tag).text = _xml_text(value)
    return out


def _xml_text(value: str | None) -> str | None:
    """The text with the characters XML 1.0 cannot hold (most control characters) dropped."""
    return None if value is None else NOT_XML.sub("", value)
