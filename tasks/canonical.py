"""The canonical XML form of a chunk: what every stylesheet reads.

``canonical_xml`` is the one function that turns a ConnectWise chunk (a GLExport, or a page of
any list endpoint) into XML. The rules, which the golden test in
``tests/tasks/test_canonical.py`` pins down:

* The root is ``<cwsage pipeline="…" entity="…" chunk="N" version="1">`` holding
  ``<mappings>`` and ``<export>``.
* ``<mappings>`` renders the pipeline's mapping tables: a table (dict) becomes
  ``<map name="tax_codes"><entry key="T1">1</entry>…</map>``, a list becomes
  ``<list name="currencies"><entry>GBP</entry></list>``, a single value becomes
  ``<value name="default_stock_code">S1</value>``; unset values are left out. Stylesheets look
  codes up with ``xsl:key`` on these entries — no ``document()`` and no literals in XSLT.
* ``<export>`` renders the JSON: an object's keys become child elements in their order; a
  key that is not a valid XML name becomes ``<field name="the key">``; an array becomes its key's
  element holding one ``<item>`` per member; ``null`` becomes an empty element with
  ``nil="true"``; booleans are ``true``/``false``; numbers are written in plain decimal
  notation exactly as received (never in exponent form, never through a float); strings are
  kept as they are except that characters XML 1.0 cannot carry (control characters other than
  tab, CR and LF) are removed.
* Only the documents being transformed appear in the documents array (quarantined ones are left
  out), each ``<item>`` carrying ``key="…"`` — the document's stable key, which stylesheets
  emit as the Sage ``Id``.

No text from the input is ever parsed as XML, so entities in ConnectWise data are never
expanded: ``&amp;`` in a company name is the five characters it was.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any, Callable, Iterable

from lxml import etree

VERSION = "1"
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")
_TAGS: dict[str, str] = {}        # JSON key → element name ("" when not a valid XML name)
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def canonical_xml(pipeline: str, entity: str, chunk: int, export: dict, *,
                  mappings: dict[str, Any], documents: str,
                  key: Callable[[dict], str], include: Iterable[str] | None = None
                  ) -> etree._Element:
    """Build the canonical XML tree of one chunk (see the module docstring for the rules)."""
    root = etree.Element("cwsage", pipeline=pipeline, entity=entity, chunk=str(chunk),
                         version=VERSION)
    root.append(_mappings(mappings))
    wanted = None if include is None else set(include)
    out = etree.SubElement(root, "export")
    for name, value in export.items():
        if name == documents:
            _documents(out, name, value or [], key, wanted)
        else:
            _append(out, name, value)
    if documents not in export:
        etree.SubElement(out, documents)
    return root


def _documents(parent, name: str, docs: list, key, wanted: set[str] | None) -> None:
    holder = etree.SubElement(parent, name)
    for doc in docs:
        doc_key = key(doc)
        if wanted is None or doc_key in wanted:
            item = etree.SubElement(holder, "item", key=doc_key)
            _fill(item, doc)


def _mappings(mappings: dict[str, Any]) -> etree._Element:
    node = etree.Element("mappings")
    for name, value in mappings.items():
        if value is None:
            continue
        if isinstance(value, dict):
            table = etree.SubElement(node, "map", name=name)
            for k, v in value.items():
                etree.SubElement(table, "entry", key=_text(k)).text = _text(v)
        elif isinstance(value, (list, tuple)):
            table = etree.SubElement(node, "list", name=name)
            for v in value:
                etree.SubElement(table, "entry").text = _text(v)
        else:
            etree.SubElement(node, "value", name=name).text = _text(value)
    return node


def _append(parent, name: str, value: Any) -> None:
    _fill(_child(parent, name), value)


def _child(parent, name: str, _sub=etree.SubElement):
    tag = _TAGS.get(name)
    if tag is None:
        tag = name if _NAME.match(name) and not name.lower().startswith("xml") else ""
        if len(_TAGS) < 10_000:
            _TAGS[name] = tag
    return _sub(parent, tag) if tag else _sub(parent, "field", name=_text(name))


def _fill(node, value: Any, _sub=etree.SubElement) -> None:
    kind = type(value)
    if kind is dict:
        for k, v in value.items():
            _fill(_child(node, str(k)), v)
    elif kind is list:
        for v in value:
            _fill(_sub(node, "item"), v)
    elif value is None:
        node.set("nil", "true")
    elif kind is str:
        node.text = _ILLEGAL.sub("", value)
    else:
        node.text = _text(value)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        value = Decimal(repr(value))
    if isinstance(value, Decimal):
        return format(value, "f")
    return _ILLEGAL.sub("", str(value))
