"""The command line as a user meets it: the overview, the version, demo twice, run, status,
quarantine, transform."""

from __future__ import annotations

import io
import json
import platform
import re
import subprocess
import sys
from decimal import Decimal
from importlib.metadata import version
from pathlib import Path

import pytest
from lxml import etree

from flows.cli import COMMANDS, main
from flows.spec import load_spec
from tasks.journal import DocRecord, Journal

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "invoices-export.json"


@pytest.mark.slow
def test_demo_twice_adds_nothing_the_second_time(prefect_harness, home, capsys):
    from flows.demo import run_demo
    out = io.StringIO()
    assert run_demo(str(ROOT / "pipelines.yaml"), seed=3, invoices=30, out=out) == 0
    first = out.getvalue()
    assert "invoices: 30 unposted in ConnectWise" in first
    for pipeline in load_spec(ROOT / "pipelines.yaml", need_connection=False).pipelines:
        assert f"\n{pipeline}: " in first
    assert "every difference explained" in first or "agrees to the penny" in first
    assert "(balanced)" in first
    out = io.StringIO()
    assert run_demo(str(ROOT / "pipelines.yaml"), seed=3, invoices=30, out=out) == 0
    second = out.getvalue()
    held = int(re.search(r"\ninvoices: (\d+) held back \(cwsage quarantine list\):\n",
                         first).group(1))
    causes = first.split("\ninvoices: ")[-1].split("\n  reconciliation")[0]
    assert "fix: " in causes and "CW-INV-" not in causes          # by cause, not by document
    assert sum(int(n) for n in re.findall(r" — (\d+) invoices?: ", causes)) >= held
    assert f"invoices: {held} unposted in ConnectWise → 0 loaded" in second
    assert "1 batch posted" not in second and "→ 0 loaded" in second.split("\nexpenses: ")[1]
    for wording in ("batch(es)", "document(s)", "record(s)", "cause(s)"):
        assert wording not in first + second
    import sqlite3
    assert not (home / "journal.db").exists()              # the demo keeps to its own home
    db = sqlite3.connect(home / "demo" / "sage50.db")
    assert db.execute("SELECT COUNT(*) FROM INVOICE").fetchone()[0] == 30 - held
    assert f"CWSAGE_HOME={home / 'demo'} cwsage status" in second


@pytest.mark.slow
def test_status_and_quarantine_commands(prefect_harness, home, capsys, monkeypatch):
    from flows.demo import run_demo
    run_demo(str(ROOT / "pipelines.yaml"), seed=3, invoices=20, out=io.StringIO())
    monkeypatch.setenv("CWSAGE_HOME", str(home / "demo"))   # look at the demo's own home
    capsys.readouterr()
    spec = ["--spec", str(ROOT / "pipelines.yaml")]
    assert main(spec + ["status", "--json"]) == 0
    rows = {r["pipeline"]: r for r in json.loads(capsys.readouterr().out)}
    assert list(rows) == list(load_spec(ROOT / "pipelines.yaml",
                                        need_connection=False).pipelines)
    assert rows["invoices"]["posted"] + rows["invoices"]["quarantined"] == 20
    assert main(spec + ["quarantine", "list", "--json"]) == 0
    items = json.loads(capsys.readouterr().out)
    assert len(items) == sum(r["quarantined"] for r in rows.values())
    assert all(i["reasons"][0]["fix"] for i in items)
    assert main(spec + ["status"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[1].split()[:3] == ["pipeline", "extracted", "quarantined"]
    assert table[3].split()[:3] == ["invoices", "0", str(rows["invoices"]["quarantined"])]
    assert main(spec + ["quarantine", "list"]) == 0
    listed = capsys.readouterr().out
    assert listed.startswith(f"customers: {rows['customers']['quarantined']} documents held back")
    assert listed.splitlines()[1].split() == ["document", "number", "stage", "since", "(UTC)",
                                              "reason", "and", "fix"]
    assert all(re.search(rf"^{i['key']} +{re.escape(str(i['document'])[:16])}", listed, re.M)
               for i in items)
    assert main(spec + ["quarantine", "show", items[0]["key"]]) == 0
    shown = capsys.readouterr().out
    assert "fix:" in shown and "stays unposted in ConnectWise" in shown
    assert f"quarantined since {items[0]['since'][:10]} " in shown
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


def test_cwsage_alone_prints_the_overview_and_exits_0(capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    assert "required" not in out and out.startswith("usage: cwsage ")
    for name in COMMANDS:                                  # each command on one line
        assert re.search(rf"^    {re.escape(name)} +\w.+$", out, re.M), name
    most_used = out.split("most used:\n")[1]
    assert most_used.startswith("  cwsage run ") and "\n  cwsage quarantine list " in most_used
    assert main(["--spec", "other.yaml"]) == 0 and "most used:" in capsys.readouterr().out


def test_version_is_the_installed_distributions(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == \
        f"cwsage {version('cwsage')} (Python {platform.python_version()})"


@pytest.mark.parametrize("command", sorted(set(COMMANDS)))
def test_every_commands_help_lists_the_global_spec_option(command, capsys):
    with pytest.raises(SystemExit) as done:
        main([command, "--help"])
    assert done.value.code == 0 and "--spec FILE" in capsys.readouterr().out


def held_twice_then_loaded_then_held(home) -> Journal:
    """CW-INV-1 held in two runs (one hold); CW-INV-2 held, loaded and posted, held again."""
    journal = Journal(home / "journal.db")
    docs = [DocRecord(f"CW-INV-{n}", str(n), str(1000 + n), "SI", "ACME", "GBP", Decimal("10"),
                      Decimal("2"), Decimal("12"), (n,), "h") for n in (1, 2)]
    why = {"reason": "[bold red]no tax code[/] \x1b[2J", "fix": "map it", "value": "RC20"}
    for run_id in ("r1", "r2"):
        journal.record_extracted("invoices", run_id, docs)
        journal.quarantine("invoices", run_id, {d.key: [why] for d in docs}, "validate")
    journal.mark("invoices", "r3", ["CW-INV-2"], "loading")
    journal.mark_loaded("invoices", "r3", {"CW-INV-2": "SI 2"})
    journal.mark("invoices", "r3", ["CW-INV-2"], "posting")
    journal.mark("invoices", "r3", ["CW-INV-2"], "posted")
    journal.record_extracted("invoices", "r4", docs)
    journal.quarantine("invoices", "r4", {d.key: [why] for d in docs}, "validate")
    return journal


def test_quarantine_since_is_the_start_of_the_current_hold(home, capsys):
    journal = held_twice_then_loaded_then_held(home)
    held = {key: [e.at for e in journal.history("invoices", key)
                  if e.to_state == "quarantined"] for key in ("CW-INV-1", "CW-INV-2")}
    journal.close()
    spec = ["--spec", str(ROOT / "pipelines.yaml")]
    assert main(spec + ["quarantine", "list", "--json"]) == 0
    since = {i["key"]: i["since"] for i in json.loads(capsys.readouterr().out)}
    assert since == {"CW-INV-1": held["CW-INV-1"][0], "CW-INV-2": held["CW-INV-2"][2]}
    assert main(spec + ["quarantine", "list"]) == 0
    out = capsys.readouterr().out
    first = since["CW-INV-1"][:16].replace("T", " ")
    assert re.search(rf"^CW-INV-1 +1001 +validate +{first} +\[bold red\]no tax code\[/\] "
                     r"\[2J$", out, re.M), out
    assert "\x1b" not in out and "fix: map it" in out
    assert main(spec + ["quarantine", "show", "1002"]) == 0
    shown = capsys.readouterr().out
    assert f"quarantined since {since['CW-INV-2'][:16].replace('T', ' ')} UTC" in shown
    assert "[bold red]no tax code[/]" in shown


@pytest.mark.slow
def test_run_summary_groups_held_documents_by_cause(prefect_harness, sandbox, spec, home,
                                                    capsys):
    assert main(["--spec", str(spec), "run", "invoices"]) == 0      # held documents: still green
    captured = capsys.readouterr()
    out = captured.out
    held = re.search(r"^  (\d+) held back \(cwsage quarantine list\):$", out, re.M)
    assert held and int(held.group(1)) >= 3
    causes = out.split(held.group(0))[1].split("\n  reconciliation")[0].splitlines()[1:]
    assert causes and all(re.match(r"    \S.* — \d+ invoices?: ", c) for c in causes[::2])
    assert all(c.startswith("      fix: ") for c in causes[1::2])
    assert "CW-INV-" not in "\n".join(causes)
    assert "━" not in captured.err and "\x1b[" not in captured.err     # no progress: no tty
