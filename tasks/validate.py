"""Validate: run a pipeline's Great Expectations suite on the DataFrame view of a chunk.

Documents with a failing row are quarantined — recorded with the expectation they failed, the
offending value and the fix, in the words the suite's ``meta.reason`` / ``meta.fix`` give — and
the rest go on. The stage is pure (its findings are written to the journal by the load stage),
so a cached result has exactly the effect of a computed one. Suites: ``tasks.suites``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from prefect import task
from pydantic import BaseModel, ConfigDict

from tasks.artifacts import publish_table
from tasks.caching import validate_key
from tasks.extract import ChunkRef, chunk_export
from tasks.faults import crash_point
from tasks.suites import (Suite, ValidationOutcome, check_columns, load_suite,  # noqa: F401
                          run_suite)
from tasks.views import view_for

log = logging.getLogger("cwsage.validate")


class ValidateConfig(BaseModel):
    """``pipelines.<name>.validate``: the suite, default ``expectations/<pipeline>.json``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    suite: str | None = None


_SUITES: dict[tuple[str, int], Suite] = {}


def suite_for(path: Path) -> Suite:
    """Load a suite once per file version (mtime), checked against its view's columns."""
    path = Path(path)
    if not path.is_file():
        return load_suite(path)              # raises the ConfigError that names the file
    key = (str(path), path.stat().st_mtime_ns)
    if key not in _SUITES:
        _SUITES[key] = load_suite(path)
    return _SUITES[key]


@dataclass(frozen=True)
class CheckedChunk:
    number: int
    valid: tuple[str, ...]
    findings: tuple[dict, ...]

    @property
    def quarantined(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(f["key"] for f in self.findings))

    def reasons(self) -> dict[str, list[dict]]:
        grouped: dict[str, list[dict]] = {}
        for finding in self.findings:
            grouped.setdefault(finding["key"], []).append(finding)
        return grouped


def validate_export(export: dict, pipeline_spec, control_accounts: list[str]) -> ValidationOutcome:
    """Build the view of a chunk and run the pipeline's suite on it (no journal, no Prefect)."""
    from tasks.entities import entity_for
    entity = entity_for(pipeline_spec.extract)
    build, columns = view_for(entity)
    suite = suite_for(pipeline_spec.suite_path)
    if columns is not None:
        check_columns(suite, columns)
    view = build(export, entity, pipeline_spec.mappings, control_accounts)
    return run_suite(suite, view)


@task(name="validate", task_run_name="{ctx.pipeline}-validate", cache_key_fn=validate_key,
      persist_result=True, cache_result_in_memory=False)
def validate_task(ctx, chunk: ChunkRef) -> CheckedChunk:
    """Pure: the findings are recorded in the journal by the load stage, so a cached result
    and a computed one have the same effect."""
    outcome = validate_export(chunk_export(chunk.path), ctx.pipeline_spec,
                              ctx.spec.sage.control_accounts)
    log.info("[%s] validate: chunk %d: %d valid, %d quarantined", ctx.pipeline, chunk.number,
             len(outcome.valid), len(outcome.quarantined))
    publish_table(ctx.pipeline, "validation", outcome.table,
                  f"Expectations on chunk {chunk.number} of run {ctx.run_id}")
    if outcome.findings:
        publish_table(ctx.pipeline, "quarantine", [f.as_dict() for f in outcome.findings],
                      f"Documents held back in chunk {chunk.number}: reason and fix")
    crash_point("after-validate")
    return CheckedChunk(chunk.number, tuple(outcome.valid),
                        tuple(f.as_dict() for f in outcome.findings))
