"""``cwsage transform``: validate + transform a saved GLExport file, offline.

This is how a mapping is developed: edit pipelines.yaml or the stylesheet, run this on a saved
export, read the Sage XML (stdout or --output) and the quarantine report (stderr).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from flows.spec import load_spec
from flows.preview import throwaway_replica
from tasks.entities import resolve_offline
from tasks.errors import ConfigError
from tasks.extract import read_chunk
from tasks.transform import transform_export
from tasks.validate import validate_export


def transform_file(spec_path: str, pipeline: str, source: Path, target: Path | None) -> int:
    spec = load_spec(spec_path, need_connection=False)
    p = spec.pipeline(pipeline)
    if not source.is_file():
        raise ConfigError(f"{source}: file not found — pass a saved GLExport JSON with --input")
    try:
        export = read_chunk(source)
    except ValueError as exc:
        raise ConfigError(f"{source}: not valid JSON: {exc}") from exc
    if not isinstance(export, dict):
        raise ConfigError(f"{source}: expected a GLExport object ({{\"transactions\": …}})")
    resolved = resolve_offline(export, p, target_facts(spec, p))
    outcome = validate_export(export, p, spec.sage.control_accounts, resolved)
    result = transform_export(export, p, outcome.valid, 1, resolved)
    xml = result.xml or b'<?xml version="1.0" encoding="utf-8"?>\n<Company/>\n'
    if target:
        target.write_bytes(xml)
    else:
        sys.stdout.write(xml.decode("utf-8"))
    _report(outcome, result, source)
    return 0


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
    print(f"{source.name}: {len(result.keys)} documents transformed, {len(held)} quarantined",
          file=err)
    for f in outcome.findings:
        print(f"  {f.key} ({f.document}): {f.reason}\n      fix: {f.fix}", file=err)
    for key, message in result.failures.items():
        print(f"  {key}: {message}", file=err)
