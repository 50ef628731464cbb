"""``cwsage transform``: validate + transform a saved GLExport file, offline.

This is how a mapping is developed: edit pipelines.yaml or the stylesheet, run this on a saved
export, read the Sage XML (stdout or --output) and the quarantine report (stderr).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from flows.export_file import writable_output
from tasks.inert import terminal
from flows.preview import throwaway_replica
from flows.spec import load_spec
from tasks.entities import entity_for, resolve_offline
from tasks.errors import ConfigError
from tasks.export_shape import check_export, json_problem
from tasks.chunks import read_chunk
from tasks.transform import transform_export
from tasks.validate import validate_export


def transform_file(spec_path: str, pipeline: str, source: Path, target: Path | None) -> int:
    spec = load_spec(spec_path, need_connection=False)
    p = spec.pipeline(pipeline)
    if not source.is_file():
        raise ConfigError(f"{source}: file not found — pass a saved GLExport JSON with --input")
    if target:
        writable_output(target)                        # before the work, not after it
    try:
        export = read_chunk(source)
    except (ValueError, RecursionError) as exc:
        raise ConfigError(f"{source}: not valid JSON: {json_problem(exc)}") from exc
    check_export(export, entity_for(p.extract), source.name)
    resolved = resolve_offline(export, p, target_facts(spec, p))
    outcome = validate_export(export, p, spec.sage.control_accounts, resolved)
    result = transform_export(export, p, outcome.valid, 1, resolved)
    xml = result.xml or b'<?xml version="1.0" encoding="utf-8"?>\n<Company/>\n'
    if target:
        _write(target, xml)
    else:
        sys.stdout.write(xml.decode("utf-8"))
    _report(outcome, result, source)
    return 0


def _write(target: Path, xml: bytes) -> None:
    try:
        target.write_bytes(xml)
    except OSError as exc:
        raise ConfigError(f"{target}: cannot write the Sage XML ({exc.strerror}) — choose "
                          "another --output") from exc


def target_facts(spec, pipeline_spec):
    """The target's tax and exchange rates, read from a throwaway copy of it."""
    with tempfile.TemporaryDirectory(prefix="cwsage-facts-") as tmp:
        writer = throwaway_replica(spec, pipeline_spec, Path(tmp))
        try:
            return writer.facts()
        finally:
            writer.close()


def _report(outcome, result, source: Path) -> None:
    err = sys.stderr
    held = outcome.quarantined + list(result.failures)
    print(f"{terminal(source.name)}: {len(result.keys)} documents transformed, {len(held)} "
          f"quarantined", file=err)
    for f in outcome.findings:
        print(f"  {terminal(f.key)} ({terminal(f.document)}): {terminal(f.reason)}\n"
              f"      fix: {terminal(f.fix)}", file=err)
    for key, message in result.failures.items():
        print(f"  {terminal(key)}: {terminal(message)}", file=err)
