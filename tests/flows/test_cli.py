"""The command line as a user meets it: demo twice, run, status, quarantine, transform."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from lxml import etree

from flows.cli import main

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "invoices-export.json"


@pytest.mark.slow
def test_demo_twice_adds_nothing_the_second_time(prefect_harness, home, capsys):
    from flows.demo import run_demo
    out = io.StringIO()
    assert run_demo(str(ROOT / "pipelines.yaml"), seed=3, invoices=30, out=out) == 0
    first = out.getvalue()
    assert "invoices: 30 unposted in ConnectWise" in first
    for pipeline in ("customers", "expenses", "procurement"):
        assert f"\n{pipeline}: " in first
    assert "every difference explained" in first or "agrees to the penny" in first
    assert "(balanced)" in first
    out = io.StringIO()
    assert run_demo(str(ROOT / "pipelines.yaml"), seed=3, invoices=30, out=out) == 0
    second = out.getvalue()
    held = first.count("\n    CW-INV-")
    assert f"invoices: {held} unposted in ConnectWise → 0 loaded" in second
    assert "1 batch(es)" not in second and "→ 0 loaded" in second.split("\nexpenses: ")[1]
    import sqlite3
    db = sqlite3.connect(home / "sage50.db")
    assert db.execute("SELECT COUNT(*) FROM INVOICE").fetchone()[0] == 30 - held


@pytest.mark.slow
def test_status_and_quarantine_commands(prefect_harness, home, capsys):
    from flows.demo import run_demo
    run_demo(str(ROOT / "pipelines.yaml"), seed=3, invoices=20, out=io.StringIO())
    capsys.readouterr()
    spec = ["--spec", str(ROOT / "pipelines.yaml")]
    assert main(spec + ["status", "--json"]) == 0
    rows = {r["pipeline"]: r for r in json.loads(capsys.readouterr().out)}
    assert list(rows) == ["customers", "invoices", "expenses", "procurement"]
    assert rows["invoices"]["posted"] + rows["invoices"]["quarantined"] == 20
    assert main(spec + ["quarantine", "list", "--json"]) == 0
    items = json.loads(capsys.readouterr().out)
    assert len(items) == sum(r["quarantined"] for r in rows.values())
    assert all(i["reasons"][0]["fix"] for i in items)
    assert main(spec + ["quarantine", "show", items[0]["key"]]) == 0
    shown = capsys.readouterr().out
    assert "fix:" in shown and "stays unposted in ConnectWise" in shown
    assert main(spec + ["quarantine", "show", "CW-INV-0"]) == 2
    number = next(i["document"] for i in items if i["pipeline"] == "invoices")
    assert main(spec + ["quarantine", "show", number]) == 0     # by ConnectWise's number
    assert f"document {number}" in capsys.readouterr().out


def test_transform_command_writes_sage_xml_and_reports_quarantine(tmp_path):
    out = tmp_path / "out.xml"
    done = subprocess.run([sys.executable, "-m", "flows.cli", "transform", "invoices",
                           "--input", str(FIXTURE), "--output", str(out)], cwd=ROOT,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    ids = etree.fromstring(out.read_bytes()).xpath("Invoices/Invoice/Id/text()")
    assert ids == ["CW-INV-5001", "CW-INV-5002", "CW-INV-5007"]
    assert "3 documents transformed, 4 quarantined" in done.stderr
    assert "fix: set an Account Number on company Angry Fox Cycles Ltd" in done.stderr
    # the shipped spec configures no exchange rate, so the EUR invoice is held, not guessed
    assert "EUR has no exchange rate configured" in done.stderr


def test_transform_command_on_a_missing_or_broken_file_exits_2(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    for path, text in ((tmp_path / "nope.json", "file not found"), (bad, "not valid JSON")):
        done = subprocess.run([sys.executable, "-m", "flows.cli", "transform", "invoices",
                               "--input", str(path)], cwd=ROOT, capture_output=True, text=True)
        assert done.returncode == 2 and text in done.stderr
        assert "Traceback" not in done.stderr


def test_run_names_an_unknown_pipeline_with_the_close_match(cw_env, capsys):
    assert main(["--spec", str(ROOT / "pipelines.yaml"), "run", "invoice"]) == 2
    assert "no pipeline named 'invoice' — did you mean 'invoices'?" in capsys.readouterr().err
