"""Re-running a failed flow run from Prefect resumes without extracting again; edited
stylesheets, suites and mappings never meet a stale cached result."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.flows.helpers import CW, replica, run

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


def extracted_events(home: Path) -> dict[str, int]:
    import sqlite3
    db = sqlite3.connect(home / "journal.db")       # extractions, not recoveries
    return dict(db.execute("SELECT key, COUNT(*) FROM events WHERE to_state='extracted' AND "
                           "from_state IS NOT 'loading' GROUP BY key").fetchall())


def test_a_failed_run_retried_from_prefect_resumes_without_extracting_again(
        prefect_harness, sandbox, spec, home):
    good = spec.read_text()
    spec.write_text(good.replace("  retries: 3", "  retries: 0"))
    sandbox.faults.add("500@POST:batches:1")          # extracted and loaded, then the batch fails
    from flows.pipeline import run_pipeline
    state = run_pipeline(pipeline="invoices", spec_path=str(spec), return_state=True)
    assert state.is_failed()
    flow_run_id = state.state_details.flow_run_id
    before = extracted_events(home)
    assert len(before) == 40 and set(before.values()) == {1}
    assert CW(sandbox).unposted() == 40                      # nothing batched yet
    # then Retry, with the spec as it was: every pure stage comes from the cache
    from prefect.settings import PREFECT_API_URL
    env = dict(os.environ, PREFECT_API_URL=PREFECT_API_URL.value(), PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-m", "prefect", "flow-run", "retry",
                           str(flow_run_id), "--entrypoint", "flows/pipeline.py:run_pipeline"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert extracted_events(home) == before                    # nothing extracted again
    assert replica(home).execute("SELECT COUNT(*) FROM INVOICE").fetchone()[0] > 0
    loaded = replica(home).execute("SELECT COUNT(*) FROM INVOICE").fetchone()[0]
    assert CW(sandbox).unposted() == len(before) - loaded
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(flow_run_filter=FlowRunFilter(
            id=FlowRunFilterId(any_=[flow_run_id])))
        artifacts = client.read_artifacts(flow_run_filter=FlowRunFilter(
            id=FlowRunFilterId(any_=[flow_run_id])))
        retried = client.read_flow_run(flow_run_id)
    cached = [r.name for r in runs if r.state and r.state.name == "Cached"]
    assert any(name == "invoices-extract" for name in cached)
    assert "invoices-validate" in cached, cached
    # the cached stages' artifacts are published again by the retried run's load, and the
    # retry says what the earlier attempt failed on
    validations = [a for a in artifacts if a.key == "invoices-validation"]
    quarantines = [a for a in artifacts if a.key == "invoices-quarantine"]
    assert len(validations) == 2 and len(quarantines) == 2    # one per attempt
    assert {"retried", "attempt-2"} <= set(retried.tags)
    [note] = [a for a in artifacts if a.key == "invoices-retry"]
    assert "500" in note.data or "batch" in note.data


def test_an_edited_mapping_is_never_served_from_cache(prefect_harness, sandbox, spec, home):
    first = run(spec)
    held = first.counts.quarantined
    spec.write_text(spec.read_text().replace('"4900": "4900"', '"4900": "4900"\n'
                                             '        "4070": "4000"')
                    .replace("T9: 9", "T9: 9\n        RC20: 20"))
    second = run(spec)
    assert second.counts.loaded > 0 and second.counts.quarantined < held
