"""Validate: run a pipeline's Great Expectations suite on the DataFrame view of a chunk.

Documents with a failing row are quarantined — recorded with the expectation they failed, the
offending value and the fix, in the words the suite's ``meta.reason`` / ``meta.fix`` give — and
the rest go on. The stage is pure (its findings are written to the journal by the load stage),
so a cached result has exactly the effect of a computed one. Suites: ``tasks.suites``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from prefect import task

from tasks.caching import validate_key
from tasks.chunks import ChunkRef, chunk_export
from tasks.faults import crash_point
from tasks.resolved import Resolved
from tasks.suites import Finding, ValidationOutcome, check_columns, run_suite, suite_for
from tasks.views import record_view, view_for

log = logging.getLogger("cwsage.validate")


@dataclass(frozen=True)
class CheckedChunk:
    number: int
    valid: tuple[str, ...]
    findings: tuple[dict, ...]
    table: tuple[dict, ...] = ()        # per expectation: rows, failures, examples

    @property
    def quarantined(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(f["key"] for f in self.findings))

    def reasons(self) -> dict[str, list[dict]]:
        grouped: dict[str, list[dict]] = {}
        for finding in self.findings:
            grouped.setdefault(finding["key"], []).append(finding)
        return grouped


def validate_export(export: dict, pipeline_spec, control_accounts: list[str],
                    resolved: dict[str, Resolved] | None = None) -> ValidationOutcome:
    """Run the pipeline's suite on the view of a chunk's resolved documents, and add the holds
    the resolve step found (no journal, no Prefect). Without ``resolved``, the chunk is
    resolved against a Sage company with the UK default tax codes and no exchange rates."""
    from tasks.entities import entity_for, resolve_offline
    entity = entity_for(pipeline_spec.extract)
    resolved = resolve_offline(export, pipeline_spec) if resolved is None else resolved
    suite = suite_for(pipeline_spec.suite_path)
    if entity.kind == "list":
        return run_suite(suite, record_view(export, entity))
    build, columns = view_for(entity)
    check_columns(suite, columns)
    outcome = run_suite(suite, build(resolved, pipeline_spec.mappings, set(control_accounts)))
    held = [Finding(doc.key, doc.number, "resolve", "line", h.line, h.reason, h.fix)
            for doc in resolved.values() for h in doc.holds]
    if held:
        outcome.findings.extend(held)
        outcome.valid = [k for k in outcome.valid if k not in {f.key for f in held}]
        outcome.table.append({"expectation": "resolve (money, tax, signs, currency)",
                              "rows": len(resolved), "failures": len(held),
                              "documents": len({f.key for f in held}),
                              "examples": ", ".join(repr(f.reason[:60]) for f in held[:3])})
    return outcome


@task(name="validate", task_run_name="{run.pipeline}-validate", cache_key_fn=validate_key,
      persist_result=True, cache_result_in_memory=False)
def validate_task(run, resolver, chunk: ChunkRef) -> CheckedChunk:
    """Pure: the findings are recorded in the journal, and the validation and quarantine
    artifacts published, by the load stage — so a cached result and a computed one have the
    same effect, in the journal and in the UI."""
    export = chunk_export(chunk.path)
    outcome = validate_export(export, run.pipeline_spec, run.spec.sage.control_accounts,
                              resolver.resolve(export))
    log.info("[%s] validate: chunk %d: %d valid, %d quarantined", run.pipeline, chunk.number,
             len(outcome.valid), len(outcome.quarantined))
    crash_point("after-validate")
    return CheckedChunk(chunk.number, tuple(outcome.valid),
                        tuple(f.as_dict() for f in outcome.findings), tuple(outcome.table))
