"""Cache keys for the stages whose results may be reused, and only those.

* ``plan`` and ``extract`` are keyed on the run: a *retry of the same flow run* (the Prefect
  UI's Retry, ``prefect flow-run retry``) reuses the snapshot of unposted ids and the chunks
  already exported and spilled, so it resumes without extracting again. A new run extracts.
* ``validate`` and ``transform`` are keyed on content: the chunk's sha256, the suite's or
  stylesheet's version (sha256 of the files) and the pipeline's spec version (mappings and
  settings). An edited stylesheet, suite or mapping table never meets a stale result.
* ``recover``, ``load``, ``post`` and ``report`` have side effects and are never cached.

Results are persisted as Prefect result files under ``$CWSAGE_HOME/results``: the plan (the
ids), chunk handles (path and keys; the chunk itself stays in the run folder), validation
findings, and the transformed Sage XML (zlib-compressed). They are not kept in memory.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

from tasks.chunks import companies_path


def _sha(*parts: bytes | str) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part if isinstance(part, bytes) else part.encode())
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def chunk_digest(path: Path) -> str:
    """sha256 of a spilled chunk (the export and its company records), computed once per file
    version although both the validate and the transform keys need it."""
    companies = companies_path(path)
    stamp = tuple((p.stat().st_mtime_ns, p.stat().st_size) for p in (path, companies)
                  if p.exists())
    return _digest(str(path), stamp)


@lru_cache(maxsize=16)
def _digest(path: str, stamp: tuple) -> str:
    export = Path(path)
    companies = companies_path(export)
    return _sha(export.read_bytes(), *([companies.read_bytes()] if companies.exists() else []))


def spec_version(run, facts) -> str:
    """The pipeline's own settings, and the Sage settings and facts (tax and exchange rates)
    that change what a stage produces."""
    return _sha(run.pipeline_spec.model_dump_json(), ",".join(run.spec.sage.control_accounts),
                repr(sorted(facts.tax_rates.items())), repr(sorted(facts.currency_rates.items())))


def plan_key(_context, parameters: dict) -> str:
    run = parameters["run"]
    return f"plan-{run.pipeline}-{run.run_id}"


def extract_key(_context, parameters: dict) -> str:
    run = parameters["run"]
    ids = ",".join(map(str, parameters["ids"]))
    return f"extract-{run.pipeline}-{run.run_id}-{parameters['number']}-{_sha(ids)}"


def validate_key(_context, parameters: dict) -> str:
    from tasks.suites import suite_for
    run, chunk = parameters["run"], parameters["chunk"]
    suite = suite_for(run.pipeline_spec.suite_path)
    return (f"validate-{run.pipeline}-{chunk_digest(chunk.path)}-{suite.version}-"
            f"{spec_version(run, parameters['resolver'].facts)}")


def transform_key(_context, parameters: dict) -> str:
    from tasks.stylesheets import stylesheet_version
    run, chunk, checked = parameters["run"], parameters["chunk"], parameters["checked"]
    sheet = stylesheet_version(run.pipeline_spec.stylesheet_path)
    return (f"transform-{run.pipeline}-{chunk_digest(chunk.path)}-"
            f"{_sha(','.join(checked.valid))}-{sheet}-"
            f"{spec_version(run, parameters['resolver'].facts)}")
