"""``cwsage export``: save what a pipeline would extract, as the file ``cwsage transform`` reads.

The documents are chosen as a run chooses them (``plan_extraction``: the pipeline's
``conditions``), or are the ``--ids`` given, which must be among them; each chunk of
``chunk_size`` is exported as a run exports it (``extract_chunk``: the export flag,
``thruDate``, ``locationId``, the completeness check, the ``companies`` records). No batch is
created and neither the journal nor anything under $CWSAGE_HOME is touched: chunks are spilled
to a temporary folder, merged section by section into one JSON file (a GLExport with
``companies``, or ``{"records": [...]}`` for a list endpoint) and renamed into place.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sys
import tempfile
from contextlib import contextmanager
from decimal import Decimal
from json.encoder import encode_basestring_ascii as _quote
from pathlib import Path
from typing import IO, Any, Iterator

from flows.spec import load_spec
from tasks.config.spec import PipelineSpec
from tasks.context import make_client
from tasks.entities import entity_for
from tasks.errors import ConfigError, FatalError, RetriableError, stage_message
from tasks.extract import count_lines, extract_chunk, plan_extraction

STDOUT = "-"


def export_command(spec_path: str, pipeline: str, output: str,
                   ids: list[str] | None = None) -> int:
    spec = load_spec(spec_path)
    p = spec.pipeline(pipeline)
    target = None if output == STDOUT else writable_output(Path(output))
    try:
        with _quiet_logs():
            merged = _export(spec, p, target, ids)
    except (RetriableError, FatalError) as exc:
        raise type(exc)(stage_message(p.name, "export", f"{exc} — nothing was written")) from exc
    if merged.entity.kind == "list":
        counted = _plural(merged.documents, "record")
    else:
        counted = f"{_plural(merged.documents, 'document')}, {_plural(merged.lines, 'line')}"
    print(f"{p.name}: {counted} → {target or 'stdout'}", file=sys.stderr)
    return 0


def _export(spec, p: PipelineSpec, target: Path | None, ids: list[str] | None) -> "MergedExport":
    entity = entity_for(p.extract)
    client = make_client(spec.connectwise)
    try:
        with tempfile.TemporaryDirectory(prefix=".cwsage-export-",
                                         dir=target.parent if target else None) as tmp:
            merged = MergedExport(Path(tmp), entity)
            for export in _export_chunks(client, entity, p, _select(client, entity, p, ids),
                                         Path(tmp) / "chunk.json"):
                merged.add(export)
            _save(merged, target, Path(tmp) / "export.json")
            return merged
    finally:
        client.close()


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _export_chunks(client, entity, p: PipelineSpec, ids: list[Any],
                   spill: Path) -> Iterator[dict]:
    """Each chunk of ``ids`` exported as a run exports it (spilled to ``spill``, overwritten
    by the next); company records already fetched are not asked for again."""
    known: dict[int, dict] = {}
    identifier = f"{p.post.batch_prefix}-EXPORT"[:50]
    for start in range(0, len(ids), p.extract.chunk_size):
        export = extract_chunk(client, entity, p.extract, p.name,
                               ids[start:start + p.extract.chunk_size], identifier, spill, known)
        known.update((int(c["id"]), c) for c in export.get("companies") or [])
        yield export


@contextmanager
def _quiet_logs() -> Iterator[None]:
    """The export prints one line; the extract stage's progress and the client's retry
    warnings are for a run's log (CWSAGE_LOG_LEVEL, when set, still decides)."""
    logger = logging.getLogger("cwsage")
    level = logger.level
    if not os.environ.get("CWSAGE_LOG_LEVEL"):
        logger.setLevel(max(level, logging.ERROR))
    try:
        yield
    finally:
        logger.setLevel(level)


def writable_output(path: Path) -> Path:
    """The output file, checked before anything is asked of ConnectWise."""
    path = path.resolve()
    folder = path.parent
    if path.is_dir():
        raise ConfigError(f"{path}: is a folder — give a file name with --output, "
                          "e.g. --output export.json")
    if not folder.is_dir():
        raise ConfigError(f"{path}: folder {folder} does not exist — create it or choose "
                          "another --output")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ConfigError(f"{path}: cannot write in folder {folder} — choose another --output")
    return path


def _select(client, entity, p: PipelineSpec, ids: list[str] | None) -> list[Any]:
    """The ids to export: every one the plan lists, or those of ``ids`` — all of which the
    plan must list (an id ConnectWise does not list as unposted cannot be exported)."""
    plan = plan_extraction(client, entity, p.extract, p.name)
    listed = [i for chunk in plan.chunks for i in chunk]
    if not ids:
        return listed
    by_text = {str(i): i for i in listed}
    unknown = [i for i in dict.fromkeys(ids) if i not in by_text]
    if unknown:
        raise _not_listed(p, entity, unknown)
    return [by_text[i] for i in dict.fromkeys(ids)]


def _not_listed(p: PipelineSpec, entity, unknown: list[str]) -> ConfigError:
    shown = ", ".join(unknown[:20])
    if len(unknown) > 20:
        shown += f" … ({len(unknown)} in all)"
    where = f" with conditions '{p.extract.conditions}'" if p.extract.conditions else ""
    if entity.kind == "list":
        return ConfigError(f"{p.name}: ConnectWise lists no record {shown} under "
                           f"{p.extract.endpoint}{where} — check the ids; nothing was exported")
    return ConfigError(f"{p.name}: ConnectWise does not list {shown} as unposted {entity.name}"
                       f"{where} — check the ids (a posted document is no longer listed); "
                       "nothing was exported")


def _save(merged: "MergedExport", target: Path | None, staged: Path) -> None:
    """Write the merged file: to stdout, or beside the target and renamed over it."""
    if target is None:
        merged.write(sys.stdout)
        sys.stdout.flush()
        return
    with staged.open("w", encoding="utf-8") as out:
        merged.write(out)
    staged.replace(target)


class MergedExport:
    """Chunks of an export merged into one JSON object without holding them all: each list
    section (``transactions``, ``customers``, ``companies``, ``records`` …) is appended to its
    own part file as chunks arrive; parties repeated across chunks are kept once; any other
    top-level value (``exportSettings``) is taken from the first chunk."""

    def __init__(self, folder: Path, entity):
        self.folder, self.entity = folder, entity
        self.keys: list[str] = [entity.documents]       # the file's keys, in first-seen order
        self.items: dict[str, int] = {}                  # list section -> items in its part
        self.values: dict[str, Any] = {}                 # any other top-level value
        self.seen: dict[str, set[str]] = {}
        self.documents = self.lines = 0

    def add(self, export: dict) -> None:
        for key, value in export.items():
            if key not in self.keys:
                self.keys.append(key)
            if isinstance(value, list):
                self._append(key, value)
            else:
                self.values.setdefault(key, value)
        self.documents += len(export.get(self.entity.documents) or [])
        self.lines += count_lines(self.entity, export)

    def _append(self, key: str, items: list) -> None:
        seen = self.seen.setdefault(key, set())
        count = self.items.get(key, 0)
        with self._part(key).open("a", encoding="utf-8") as part:
            for item in items:
                text = dump_json(item)
                if key != self.entity.documents:
                    if text in seen:
                        continue
                    seen.add(text)
                part.write(("," if count else "") + text)
                count += 1
        self.items[key] = count

    def _part(self, key: str) -> Path:
        return self.folder / f"part-{self.keys.index(key)}.json"

    def write(self, out: IO[str]) -> None:
        out.write("{")
        for n, key in enumerate(self.keys):
            out.write(("," if n else "") + json.dumps(key) + ":")
            if key in self.values:
                out.write(dump_json(self.values[key]))
                continue
            out.write("[")
            if key in self.items:
                with self._part(key).open(encoding="utf-8") as part:
                    shutil.copyfileobj(part, out)
            out.write("]")
        out.write("}\n")


def dump_json(value: Any) -> str:
    """JSON text of a parsed export, with each Decimal written exactly as ConnectWise sent it
    (``json.dumps`` would need it turned into a float or a string)."""
    out: list[str] = []
    _put(value, out.append)
    return "".join(out)


def _put(value: Any, put) -> None:
    kind = type(value)
    if kind is str:
        put(_quote(value))
    elif kind is dict:
        put("{")
        for n, (key, item) in enumerate(value.items()):
            put(("," if n else "") + _quote(str(key)) + ":")
            _put(item, put)
        put("}")
    elif kind is list:
        put("[")
        for n, item in enumerate(value):
            if n:
                put(",")
            _put(item, put)
        put("]")
    elif kind is Decimal:
        put(str(value))
    elif kind is int:
        put(int.__repr__(value))
    else:
        put(json.dumps(value))           # true, false, null, a float
