"""Transform: canonical XML → XSLT (lxml, locked down) → Sage 50 UK XML (Zynk schema).

The stylesheet is compiled once per file version and run locked down (``tasks.stylesheets``).
"""

from __future__ import annotations

import logging
import zlib
from dataclasses import dataclass

from prefect import task

from tasks.caching import transform_key
from tasks.canonical import canonical_xml
from tasks.errors import TransformError
from tasks.stylesheets import (apply_stylesheet, compile_stylesheet, document_keys,
                               serialise_result)
from tasks.faults import crash_point
from tasks.held import plural

log = logging.getLogger("cwsage.transform")

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
        return apply_stylesheet(sheet, doc, pipeline=pipeline_spec.name)

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
    return TransformOutcome(serialise_result(xml) if done else None, done, failures)


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


@task(name="transform", task_run_name="{run.pipeline}-transform", cache_key_fn=transform_key,
      persist_result=True, cache_result_in_memory=False)
def transform_task(run, resolver, chunk, checked) -> SageChunk:
    """Pure: stylesheet failures are recorded in the journal by the load stage."""
    from tasks.chunks import chunk_export
    export = chunk_export(chunk.path)
    outcome = transform_export(export, run.pipeline_spec, list(checked.valid), checked.number,
                               resolver.resolve(export))
    if outcome.failures:
        log.warning("[%s] transform: chunk %d: %s failed in the stylesheet", run.pipeline,
                    checked.number, plural(len(outcome.failures), "document"))
    log.info("[%s] transform: chunk %d: %s", run.pipeline, checked.number,
             plural(len(outcome.keys), "document"))
    crash_point("after-transform")
    packed = zlib.compress(outcome.xml, 6) if outcome.xml else None
    return SageChunk(checked.number, packed, outcome.keys, tuple(outcome.failures.items()))
