"""The canonical XML form of a chunk: what every stylesheet reads.

``canonical_xml`` is the one function that turns a ConnectWise chunk (a GLExport, or a page of
any list endpoint) into XML. The rules, which the golden test in
``tests/tasks/test_transform.py`` pins down:

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
* Each document of a kind with money ends with ``<resolved>``: the document as Sage will hold
  it (``tasks.resolved.canonical``: type, account, dates, reference, currency and exchange
  rate, and ``<lines><item>`` with SKU, name, nominal, tax code, net, VAT, ``negative``,
  quantity and unit price). It is always complete, whatever the stylesheet names; stylesheets
  lay these values out rather than re-deriving them from the ConnectWise fields.
* With ``names`` (what ``tasks.transform`` passes: every name the stylesheet and the files it
  may import mention), an object's fields whose names the stylesheet never mentions are left
  out — ConnectWise records carry dozens of fields a stylesheet does not read, and rendering
  them was most of the cost of a chunk. A field the stylesheet names is always there, wherever
  it is (a key that is not an XML name is kept when the stylesheet mentions ``field``).
  Stylesheets therefore read fields by name; the run-together text of a whole object
  (``string(company)``) is not part of the contract. A stylesheet that selects by wildcard
  (``*``, ``node()``, ``name()``, ``local-name()``) or copies subtrees gets every field.

No text from the input is ever parsed as XML: the tree is built from escaped text, so entities
in ConnectWise data are never expanded — ``&amp;`` in a company name is the five characters it
was.
"""

from __future__ import annotations

import re
import threading
from decimal import Decimal
from typing import Any, Callable, Collection, Iterable, Mapping

from lxml import etree

VERSION = "1"
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
# JSON key → (open tag, close tag, nil element, element name)
_TAGS: dict[str, tuple[str, str, str, str]] = {}
_ITEM = ("<item>", "</item>", '<item nil="true"/>', "item")
_LOCAL = threading.local()


def canonical_xml(pipeline: str, entity: str, chunk: int, export: dict, *,
                  mappings: dict[str, Any], documents: str,
                  key: Callable[[dict], str], include: Iterable[str] | None = None,
                  names: Collection[str] | None = None,
                  resolved: Mapping[str, dict] | None = None) -> etree._Element:
    """Build the canonical XML tree of one chunk (see the module docstring for the rules)."""
    out = [f'<cwsage pipeline="{_attr(pipeline)}" entity="{_attr(entity)}" '
           f'chunk="{chunk}" version="{VERSION}">']
    _mappings(out, mappings)
    out.append("<export>")
    wanted = None if include is None else set(include)
    keep = None if names is None else frozenset(names)
    for name, value in export.items():
        if name == documents:
            _documents(out, name, value or [], key, wanted, keep, resolved or {})
        else:
            tag = _tag(str(name))
            if keep is None or tag[3] in keep:
                _member(out, tag, value, keep)
    if documents not in export:
        out += _tag(documents)[:2]                    # an empty documents element
    out.append("</export></cwsage>")
    return etree.fromstring("".join(out).encode("utf-8"), _parser())


def _parser() -> etree.XMLParser:
    """One parser per thread (lxml parsers must not be shared between threads). It only ever
    reads the text built here, where every character of the input is escaped."""
    parser = getattr(_LOCAL, "parser", None)
    if parser is None:
        parser = _LOCAL.parser = etree.XMLParser(resolve_entities=False, no_network=True,
                                                 load_dtd=False, huge_tree=True)
    return parser


def _documents(out: list[str], name: str, docs: list, key, wanted: set[str] | None,
               keep: frozenset[str] | None, resolved: Mapping[str, dict]) -> None:
    tag = _tag(name)
    out.append(tag[0])
    for doc in docs:
        doc_key = key(doc)
        if wanted is None or doc_key in wanted:
            out.append(f'<item key="{_attr(doc_key)}">')
            _content(out, doc, keep)
            if doc_key in resolved:
                _member(out, _tag("resolved"), resolved[doc_key], None)
            out.append("</item>")
    out.append(tag[1])


def _mappings(out: list[str], mappings: dict[str, Any]) -> None:
    out.append("<mappings>")
    for name, value in mappings.items():
        if value is None:
            continue
        if isinstance(value, dict):
            out.append(f'<map name="{_attr(name)}">')
            out += [f'<entry key="{_attr(_text(k))}">{_esc(_text(v))}</entry>'
                    for k, v in value.items()]
            out.append("</map>")
        elif isinstance(value, (list, tuple)):
            out.append(f'<list name="{_attr(name)}">')
            out += [f"<entry>{_esc(_text(v))}</entry>" for v in value]
            out.append("</list>")
        else:
            out.append(f'<value name="{_attr(name)}">{_esc(_text(value))}</value>')
    out.append("</mappings>")


def _member(out: list[str], tag: tuple[str, ...], value: Any,
            keep: frozenset[str] | None) -> None:
    kind = type(value)
    if kind is str:
        out += (tag[0], _esc(value), tag[1])
    elif value is None:
        out.append(tag[2])
    elif kind is dict or kind is list:
        out.append(tag[0])
        _content(out, value, keep)
        out.append(tag[1])
    else:
        out += (tag[0], _esc(_text(value)), tag[1])


def _content(out: list[str], value: dict | list, keep: frozenset[str] | None) -> None:
    """The children of an object (its fields) or of an array (one item per member)."""
    if type(value) is dict:
        for name, member in value.items():
            tag = _TAGS.get(name) or _tag(name if type(name) is str else str(name))
            if keep is None or tag[3] in keep:
                _member(out, tag, member, keep)
    else:
        for member in value:
            _member(out, _ITEM, member, keep)


def _tag(name: str) -> tuple[str, str, str, str]:
    tag = _TAGS.get(name)
    if tag is None:
        if _NAME.match(name) and not name.lower().startswith("xml"):
            tag = (f"<{name}>", f"</{name}>", f'<{name} nil="true"/>', name)
        else:
            quoted = _attr(name)
            tag = (f'<field name="{quoted}">', "</field>", f'<field name="{quoted}" nil="true"/>',
                   "field")
        if len(_TAGS) < 10_000:
            _TAGS[name] = tag
    return tag


def _esc(text: str, _sub=_ILLEGAL.sub) -> str:
    """Character data: illegal characters removed; ``& < >`` escaped; CR kept as a reference
    (a parser turns a literal CR into LF)."""
    text = _sub("", text)
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    if "\r" in text:
        text = text.replace("\r", "&#13;")
    return text


def _attr(text: str) -> str:
    """An attribute value: as ``_esc``, plus quotes, and the whitespace a parser normalises."""
    return (_esc(text).replace('"', "&quot;").replace("\n", "&#10;").replace("\t", "&#9;"))


def _text(value: Any) -> str:
    if type(value) is str:
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if type(value) is int:
        return str(value)
    if isinstance(value, float):
        value = Decimal(repr(value))
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)
