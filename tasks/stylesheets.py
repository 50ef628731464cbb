"""Stylesheets, locked down: compiled once per file version, run with lxml.

A stylesheet may ``xsl:import`` or ``xsl:include`` files from its own folder and nothing else;
it may not read documents (``document()``), write files (``exsl:document``) or touch the
network. That is checked when the stylesheet is compiled and enforced again while it runs.
Parameters always go in through ``XSLT.strparam``. No Prefect here: ``cwsage check`` compiles
every stylesheet through this module.
"""

from __future__ import annotations

import hashlib
import re
import threading
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from tasks.errors import ConfigError, TransformError

ACCESS = etree.XSLTAccessControl(read_file=True, write_file=False, create_dir=False,
                                 read_network=False, write_network=False)
_XPATH_CALLS = re.compile(r"(?<![\w.-])(document|unparsed-text|doc|collection)\s*\(")
_WRITERS = {"document", "result-document", "output-document"}
XSL = "http://www.w3.org/1999/XSL/Transform"
_EXPRESSIONS = {"select", "test", "match", "use", "count", "from", "value"}
_AVT = re.compile(r"\{([^}]*)\}")
_TOKEN = re.compile(r"[A-Za-z_][\w.\-]*")
_WILDCARD = re.compile(r"\*|\bnode\s*\(|(?<![\w-])(?:local-)?name\s*\(")
_CACHE: dict[tuple[str, str], "Stylesheet"] = {}
_CACHE_LOCK = threading.Lock()


def hardened_parser() -> etree.XMLParser:
    """The only XML parser this product uses on anything it did not build itself."""
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                           huge_tree=False, remove_comments=False)


class _FolderResolver(etree.Resolver):
    """Lets a stylesheet import siblings from its own folder; everything else is denied."""

    def __init__(self, folder: Path):
        super().__init__()
        self.folder = folder.resolve()

    def resolve(self, url, pubid, context):
        path = Path(url[7:] if url.startswith("file://") else url)
        if not path.is_absolute():
            path = self.folder / path
        path = path.resolve()
        if path.parent == self.folder and path.suffix == ".xsl" and path.is_file():
            return self.resolve_filename(str(path), context)
        return self.resolve_string(b"<denied/>", context)


@dataclass(frozen=True)
class Stylesheet:
    path: Path
    version: str
    xslt: etree.XSLT
    names: frozenset[str] | None = None     # what the canonical XML needs to hold; None: all

    def __call__(self, doc: etree._Element, **params: str) -> etree._XSLTResultTree:
        quoted = {k: etree.XSLT.strparam(v) for k, v in params.items()}
        try:
            return self.xslt(doc, **quoted)
        except etree.XSLTApplyError as exc:
            raise TransformError(f"{self.path.name}: {_log_text(self.xslt.error_log, exc)}"
                                 ) from exc


def stylesheet_version(path: Path) -> str:
    """sha256 over the stylesheet and its sibling .xsl files (what it may import)."""
    digest = hashlib.sha256()
    for file in sorted(path.parent.glob("*.xsl")):
        digest.update(file.name.encode() + b"\0" + file.read_bytes())
    return digest.hexdigest()[:16]


def compile_stylesheet(path: Path) -> Stylesheet:
    """Compile (or reuse) a stylesheet. Raises ConfigError naming the file and line."""
    path = path.resolve()
    if not path.is_file():
        raise ConfigError(f"{path}: stylesheet not found — create it or set transform.stylesheet")
    version = stylesheet_version(path)
    with _CACHE_LOCK:
        cached = _CACHE.get((str(path), version))
        if cached:
            return cached
        sheet = Stylesheet(path, version, _compile(path), referenced_names(path))
        _CACHE[(str(path), version)] = sheet
        return sheet


def _compile(path: Path) -> etree.XSLT:
    for file in [path, *sorted(p for p in path.parent.glob("*.xsl") if p != path)]:
        _refuse_unsafe(file)
    parser = hardened_parser()
    parser.resolvers.add(_FolderResolver(path.parent))
    try:
        doc = etree.fromstring(path.read_bytes(), parser, base_url=str(path))
        return etree.XSLT(doc, access_control=ACCESS)
    except etree.XMLSyntaxError as exc:
        raise ConfigError(f"{path}:{exc.lineno}: not well-formed XML: {exc.msg}") from exc
    except etree.XSLTParseError as exc:
        raise ConfigError(f"{path}: {_log_text(exc.error_log, exc)}") from exc


def referenced_names(path: Path) -> frozenset[str] | None:
    """Every name the stylesheet's XPath expressions mention, in the file and in what it
    imports or includes — a superset of the canonical elements it can read (see
    ``tasks.canonical``). None (render everything) when it selects by wildcard, copies a
    subtree, or applies templates to all children."""
    names: set[str] = set()
    todo, seen = [path.resolve()], set()
    while todo:
        file = todo.pop()
        if file in seen or not file.is_file():
            continue
        seen.add(file)
        tree = etree.fromstring(file.read_bytes(), hardened_parser(), base_url=str(file))
        for node in tree.iter(etree.Element):
            qname = etree.QName(node)
            xsl = qname.namespace == XSL
            if xsl and (qname.localname in ("copy", "copy-of") or
                        (qname.localname == "apply-templates" and "select" not in node.attrib)):
                return None
            if xsl and qname.localname in ("import", "include") and node.get("href"):
                todo.append((file.parent / node.get("href")).resolve())
            for attr, value in node.attrib.items():
                exprs = [value] if xsl and attr in _EXPRESSIONS else _AVT.findall(value)
                for expr in exprs:
                    if _WILDCARD.search(expr):
                        return None
                    names.update(_TOKEN.findall(expr))
    return frozenset(names)


def _refuse_unsafe(file: Path) -> None:
    """Refuse stylesheets that read documents or write files, naming the file and line."""
    try:
        tree = etree.fromstring(file.read_bytes(), hardened_parser(), base_url=str(file))
    except etree.XMLSyntaxError as exc:
        raise ConfigError(f"{file}:{exc.lineno}: not well-formed XML: {exc.msg}") from exc
    for node in tree.iter(etree.Element):
        local = etree.QName(node).localname
        if local in _WRITERS and etree.QName(node).namespace:
            _unsafe(file, node.sourceline, f"writes files (<{node.prefix}:{local}>)")
        for value in node.attrib.values():
            match = _XPATH_CALLS.search(value)
            if match:
                _unsafe(file, node.sourceline, f"calls {match.group(1)}()")


def _unsafe(file: Path, line: int | None, what: str) -> None:
    raise ConfigError(
        f"{file}:{line}: the stylesheet {what}, which cwsage does not allow — stylesheets "
        "read only the canonical XML; put lookup tables in pipelines.yaml mappings instead")


def _log_text(error_log, exc: Exception) -> str:
    entries = [e for e in error_log if e.message]
    if not entries:
        return str(exc)
    parts = []
    for entry in entries[:5]:
        where = f"{Path(entry.filename).name}:{entry.line}: " if entry.line else ""
        parts.append(f"{where}{entry.message.strip()}")
    return "; ".join(parts)


def run_stylesheet(sheet: Stylesheet, canonical: etree._Element, **params: str) -> bytes:
    """Run the stylesheet; return the Sage XML document as UTF-8 bytes."""
    return serialise_result(apply_stylesheet(sheet, canonical, **params))


def apply_stylesheet(sheet: Stylesheet, canonical: etree._Element, **params: str):
    result = sheet(canonical, **params)
    if result.getroot() is None:
        raise TransformError(f"{sheet.path.name}: the stylesheet produced no document")
    return result


def serialise_result(result) -> bytes:
    return etree.tostring(result, xml_declaration=True, encoding="utf-8", pretty_print=True)


def document_keys(sage_xml) -> list[str]:
    """The document keys a Sage XML document (bytes, or a tree already in hand) carries:
    Invoice Ids, Transaction SecondReferences (one per grouped document), Customer/Supplier
    Ids."""
    root = sage_xml.getroot() if hasattr(sage_xml, "getroot") else \
        etree.fromstring(sage_xml, hardened_parser())
    keys = root.xpath("Invoices/Invoice/Id/text() | Transactions/Transaction/SecondReference/text()"
                      " | Customers/Customer/Id/text() | Suppliers/Supplier/Id/text()")
    return list(dict.fromkeys(str(k) for k in keys))
