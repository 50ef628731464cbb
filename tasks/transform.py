"""Transform: canonical XML → XSLT (lxml, locked down) → Sage 50 UK XML (Zynk schema).

Stylesheets are compiled once per file version and reused. They may ``xsl:import`` or
``xsl:include`` files from their own folder and nothing else; they may not read documents
(``document()``), write files (``exsl:document``) or touch the network. That is checked when the
stylesheet is compiled and enforced again while it runs. Parameters always go in through
``XSLT.strparam``.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from dataclasses import dataclass
from pathlib import Path

from lxml import etree
from pydantic import BaseModel, ConfigDict

from tasks.errors import ConfigError, TransformError

log = logging.getLogger("cwsage.transform")

ACCESS = etree.XSLTAccessControl(read_file=True, write_file=False, create_dir=False,
                                 read_network=False, write_network=False)
_XPATH_CALLS = re.compile(r"(?<![\w.-])(document|unparsed-text|doc|collection)\s*\(")
_WRITERS = {"document", "result-document", "output-document"}
_CACHE: dict[tuple[str, str], "Stylesheet"] = {}
_CACHE_LOCK = threading.Lock()


class TransformConfig(BaseModel):
    """``pipelines.<name>.transform``: the stylesheet, default ``xslt/<pipeline>.xsl``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    stylesheet: str | None = None


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
        raise ConfigError(f"{path}: stylesheet not found")
    version = stylesheet_version(path)
    with _CACHE_LOCK:
        cached = _CACHE.get((str(path), version))
        if cached:
            return cached
        sheet = Stylesheet(path, version, _compile(path))
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
    result = sheet(canonical, **params)
    if result.getroot() is None:
        raise TransformError(f"{sheet.path.name}: the stylesheet produced no document")
    return etree.tostring(result, xml_declaration=True, encoding="utf-8", pretty_print=True)


def document_keys(sage_xml: bytes) -> list[str]:
    """The document keys a Sage XML document carries: Invoice Ids, Transaction
    SecondReferences (one per grouped document) and Customer/Supplier Ids."""
    root = etree.fromstring(sage_xml, hardened_parser())
    keys = root.xpath("Invoices/Invoice/Id/text() | Transactions/Transaction/SecondReference/text()"
                      " | Customers/Customer/Id/text() | Suppliers/Supplier/Id/text()")
    return list(dict.fromkeys(str(k) for k in keys))
