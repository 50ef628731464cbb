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
import zlib
from dataclasses import dataclass
from pathlib import Path

from lxml import etree
from prefect import task
from pydantic import BaseModel, ConfigDict

from tasks.caching import transform_key
from tasks.canonical import canonical_xml
from tasks.errors import ConfigError, TransformError
from tasks.faults import crash_point

log = logging.getLogger("cwsage.transform")

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
    return _serialise(_apply(sheet, canonical, **params))


def _apply(sheet: Stylesheet, canonical: etree._Element, **params: str):
    result = sheet(canonical, **params)
    if result.getroot() is None:
        raise TransformError(f"{sheet.path.name}: the stylesheet produced no document")
    return result


def _serialise(result) -> bytes:
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


@dataclass(frozen=True)
class TransformOutcome:
    xml: bytes | None
    keys: tuple[str, ...]
    failures: dict[str, str]


def transform_export(export: dict, pipeline_spec, keys: list[str], chunk: int,
                     resolved: dict | None = None) -> TransformOutcome:
    """Canonical XML (with each document's resolved form) → stylesheet → Sage XML for
    ``keys``. Pure: nothing it is given is changed. A stylesheet error is pinned to the
    documents that cause it (each is retried alone) and those are reported as failures; a
    document the stylesheet silently drops is a failure too — nothing is lost quietly."""
    from tasks.entities import entity_for, resolve_offline
    from tasks.resolved import canonical
    entity = entity_for(pipeline_spec.extract)
    resolved = resolve_offline(export, pipeline_spec) if resolved is None else resolved
    sheet = compile_stylesheet(pipeline_spec.stylesheet_path)
    failures: dict[str, str] = {}
    wanted = list(keys)
    laid_out = {key: canonical(doc) for key, doc in resolved.items() if key in set(wanted)}

    def run(subset: list[str]):
        doc = canonical_xml(pipeline_spec.name, entity.name, chunk, export,
                            mappings=pipeline_spec.mappings.model_dump(),
                            documents=entity.documents, key=entity.key, include=subset,
                            names=sheet.names, resolved=laid_out)
        return _apply(sheet, doc, pipeline=pipeline_spec.name)

    if not wanted:
        return TransformOutcome(None, (), {})
    try:
        xml = run(wanted)
    except TransformError:
        for key in wanted:
            try:
                run([key])
            except TransformError as exc:
                failures[key] = str(exc)
        wanted = [k for k in wanted if k not in failures]
        xml = run(wanted) if wanted else None
    produced = set(document_keys(xml)) if xml is not None else set()
    for key in wanted:
        if key not in produced:
            failures[key] = f"{sheet.path.name} produced no Sage document for it"
    done = tuple(k for k in wanted if k not in failures)
    return TransformOutcome(_serialise(xml) if done else None, done, failures)


@dataclass(frozen=True)
class SageChunk:
    """A chunk's Sage XML (zlib-compressed), the keys it carries, and the documents the
    stylesheet failed on (key → message)."""

    number: int
    packed: bytes | None
    keys: tuple[str, ...]
    failures: tuple[tuple[str, str], ...] = ()

    @property
    def xml(self) -> bytes | None:
        return zlib.decompress(self.packed) if self.packed else None


@task(name="transform", task_run_name="{ctx.pipeline}-transform", cache_key_fn=transform_key,
      persist_result=True, cache_result_in_memory=False)
def transform_task(ctx, chunk, checked) -> SageChunk:
    """Pure: stylesheet failures are recorded in the journal by the load stage."""
    from tasks.extract import chunk_export
    export = chunk_export(chunk.path)
    outcome = transform_export(export, ctx.pipeline_spec, list(checked.valid), checked.number,
                               ctx.resolve(export))
    if outcome.failures:
        log.warning("[%s] transform: chunk %d: %d documents failed in the stylesheet",
                    ctx.pipeline, checked.number, len(outcome.failures))
    log.info("[%s] transform: chunk %d: %d documents", ctx.pipeline, checked.number,
             len(outcome.keys))
    crash_point("after-transform")
    packed = zlib.compress(outcome.xml, 6) if outcome.xml else None
    return SageChunk(checked.number, packed, outcome.keys, tuple(outcome.failures.items()))
