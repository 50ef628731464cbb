"""The benchmark still runs: a small sandbox, both parts, one repeat; the report is whole and
its numbers are sane. No timing assertions — ``python -m bench`` is for measuring."""

from __future__ import annotations

import json

import pytest

from bench.cli import main

pytestmark = pytest.mark.slow
INVOICES = 30


def test_bench_small_run_reports_both_parts(prefect_harness, tmp_path, capsys):
    from prefect.settings import PREFECT_API_URL
    code = main(["--invoices", str(INVOICES), "--lines", "3", "--chunk-size", "10",
                 "--workers", "1", "2", "--repeat", "1", "--out", str(tmp_path),
                 "--prefect-api-url", PREFECT_API_URL.value()])
    out = capsys.readouterr().out
    assert code == 0
    [path] = tmp_path.glob("*.json")
    report = json.loads(path.read_text())

    assert set(report) >= {"created", "parameters", "machine", "setup", "summary", "runs",
                           "result_file"}
    assert report["machine"]["cpu_count"] >= 1
    assert report["setup"]["prefect_server_startup_s"] is None     # the given API was used
    assert all(r["server_cpu_s"] is None for r in report["runs"])  # not ours to measure
    assert set(report["summary"]) == {"c10-w1", "c10-w2"}
    assert report["summary"]["c10-w1"]["baseline"] == report["summary"]["c10-w2"]["baseline"]
    entry = report["summary"]["c10-w2"]
    assert set(entry) >= {"full", "baseline", "ratio_wall", "ratio_run", "targets"}
    full, base = entry["full"], entry["baseline"]
    for part in (full, base):
        assert part["documents"] == INVOICES
        assert part["wall_s"] > part["run_s"] > 0
        assert part["lines_per_s"] > 0 and part["docs_per_s"] > 0
        assert 20 < part["peak_rss_mb"] < 4096
    assert full["lines"] == base["lines"] >= INVOICES
    assert set(full["stages"]) >= {"extract", "validate", "transform", "load", "post",
                                   "flow_overhead"}
    assert set(base["stages"]) == {"list", "export", "companies", "canonical", "xslt",
                                   "load", "post"}
    assert entry["ratio_wall"] > 0

    runs = [r for r in report["runs"] if r["part"] == "full"]
    assert sorted(r["workers"] for r in runs) == [1, 2]
    assert report["summary"]["c10-w1"]["full"]["lines"] == full["lines"]
    for full_run in runs:
        assert full_run["detail"]["flow"]["chunks"] == 3
        assert full_run["detail"]["flow"]["reconciliation_agrees"] is True
        assert full_run["detail"]["counts"]["journal"] == {"posted": INVOICES}
        assert full_run["detail"]["stages"]["task_runs_seen"] == 4 + 5 * 3
    assert "| full | 10 | 1 |" in out and "| full | 10 | 2 |" in out
    assert "| baseline | 10 | – |" in out
