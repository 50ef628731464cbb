"""``cwsage export`` against the sandbox over loopback HTTP, and ``--spec`` anywhere."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from flows.cli import COMMANDS, main
from flows.spec import load_spec
from tasks.context import make_client
from tasks.entities import entity_for
from tasks.extract import extract_chunk, plan_extraction
from tests.flows.helpers import CW


def _edit(spec: Path, old: str, new: str) -> Path:
    text = spec.read_text()
    assert text.count(old) == 1, old
    spec.write_text(text.replace(old, new))
    return spec


def _one_line(err: str) -> str:
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    return err


def _run_chunk(spec: Path, pipeline: str, folder: Path) -> Path:
    """What a run spills for ``pipeline``, as one chunk of every listed id."""
    loaded = load_spec(spec)
    p = loaded.pipeline(pipeline)
    client, entity = make_client(loaded.connectwise), entity_for(p.extract)
    ids = [i for chunk in plan_extraction(client, entity, p.extract, pipeline).chunks
           for i in chunk]
    extract_chunk(client, entity, p.extract, pipeline, ids, "TEST", folder / "chunk-0001.json")
    client.close()
    return folder / "chunk-0001.json"


def test_export_is_what_a_run_extracts_and_transforms_alike(sandbox, spec, home, tmp_path,
                                                             capsys):
    out = tmp_path / "export.json"
    assert main(["export", "invoices", "--output", str(out), "--spec", str(spec)]) == 0
    err = _one_line(capsys.readouterr().err)
    assert err.startswith("invoices: 40 documents, ") and err.endswith(f" lines → {out}\n")
    chunk = _run_chunk(spec, "invoices", tmp_path / "run")
    exported = json.loads(out.read_text(), parse_float=str)     # numbers exactly as written
    ran = json.loads(chunk.read_text(), parse_float=str)
    ran["companies"] = json.loads(chunk.with_name("chunk-0001.companies.json").read_text())
    assert exported == ran
    xml = {}
    for name, source in (("export", out), ("run", chunk)):
        xml[name] = tmp_path / f"{name}.xml"
        assert main(["transform", "invoices", "--input", str(source), "--output",
                     str(xml[name]), "--spec", str(spec)]) == 0
    assert xml["export"].read_bytes() == xml["run"].read_bytes()
    assert b"<Invoice>" in xml["export"].read_bytes()


def test_a_backlog_is_exported_in_chunks_and_merged(sandbox, spec, home, tmp_path, capsys):
    whole, merged = tmp_path / "whole.json", tmp_path / "merged.json"
    assert main(["export", "invoices", "--output", str(whole), "--spec", str(spec)]) == 0
    _edit(spec, "chunk_size: 1000 ", "chunk_size: 7 ")          # 40 invoices: 6 chunks
    assert main(["export", "invoices", "--output", str(merged), "--spec", str(spec)]) == 0
    one, six = (json.loads(f.read_text(), parse_float=str) for f in (whole, merged))
    assert list(six) == list(one) and six["transactions"] == one["transactions"]
    assert six["exportSettings"] == one["exportSettings"]
    for section in ("customers", "companies"):                 # each party once
        assert sorted(map(json.dumps, six[section])) == sorted(map(json.dumps, one[section]))


def test_export_touches_no_journal_and_creates_no_batch(sandbox, spec, home, tmp_path, capsys):
    cw = CW(sandbox)
    before = cw.get("/finance/accounting/unpostedexpenses/count")["count"]
    out = tmp_path / "expenses.json"
    assert main(["--spec", str(spec), "export", "expenses", "--output", str(out)]) == 0
    assert len(json.loads(out.read_text())["expenseBills"]) == before > 0
    assert cw.get("/finance/accounting/unpostedexpenses/count")["count"] == before
    assert cw.batches() == []
    assert not home.exists()                                   # no journal, no run folder
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_export_ids_to_stdout(sandbox, spec, home, capsys):
    assert main(["export", "invoices", "--ids", "5003", "5001,5002", "--output", "-",
                 "--spec", str(spec)]) == 0
    captured = capsys.readouterr()
    export = json.loads(captured.out)
    assert sorted(t["id"] for t in export["transactions"]) == [5001, 5002, 5003]
    assert {c["id"] for c in export["companies"]} == \
        {t["company"]["id"] for t in export["transactions"]}
    assert _one_line(captured.err).startswith("invoices: 3 documents, ")


def test_export_of_an_endpoint_pipeline_writes_its_records(sandbox, spec, home, tmp_path,
                                                          capsys):
    out = tmp_path / "customers.json"
    assert main(["export", "customers", "--output", str(out), "--spec", str(spec)]) == 0
    records = json.loads(out.read_text())["records"]
    listed = CW(sandbox).get("/company/companies/count",
                             conditions="isVendorFlag=false and deletedFlag=false")["count"]
    assert len(records) == listed > 0 and all("name" in r for r in records)
    assert _one_line(capsys.readouterr().err) == f"customers: {listed} records → {out}\n"
    assert main(["transform", "customers", "--input", str(out), "--output",
                 str(tmp_path / "customers.xml"), "--spec", str(spec)]) == 0


@pytest.mark.parametrize("args, expected", [
    (["invoice"], "no pipeline named 'invoice' — did you mean 'invoices'?"),
    (["invoices", "--ids", "5001", "999999"],
     "invoices: ConnectWise does not list 999999 as unposted invoices"),
    (["customers", "--ids", "999999"], "ConnectWise lists no record 999999 under "
     "/company/companies"),
])
def test_export_mistakes_are_one_line_and_exit_2(sandbox, spec, home, tmp_path, capsys, args,
                                                  expected):
    out = tmp_path / "export.json"
    assert main(["export", *args, "--output", str(out), "--spec", str(spec)]) == 2
    assert expected in _one_line(capsys.readouterr().err)
    assert not out.exists()


@pytest.mark.parametrize("output, expected", [
    ("missing/export.json", "does not exist — create it or choose another --output"),
    (".", "is a folder — give a file name with --output"),
])
def test_export_to_a_bad_output_exits_2_before_calling_connectwise(cw_env, spec, tmp_path,
                                                                   capsys, output, expected):
    assert main(["export", "invoices", "--output", str(tmp_path / output),
                 "--spec", str(spec)]) == 2
    assert expected in _one_line(capsys.readouterr().err)


def test_export_when_connectwise_does_not_answer_exits_1(cw_env, spec, tmp_path, capsys):
    _edit(spec, "max_attempts: 5", "max_attempts: 1")
    out = tmp_path / "export.json"
    assert main(["export", "invoices", "--output", str(out), "--spec", str(spec)]) == 1
    err = _one_line(capsys.readouterr().err)
    assert err.startswith("cwsage: [invoices] export: ConnectWise at http://127.0.0.1:9 "
                          "refused the connection — check connectwise.base_url")
    assert "nothing was written" in err
    assert not out.exists()


def test_spec_goes_before_or_after_the_command(sandbox, spec, home, tmp_path, monkeypatch,
                                              capsys):
    prod = str(shutil.copy(spec, spec.parent / "prod.yaml"))
    elsewhere = tmp_path / "elsewhere"                # no pipelines.yaml here
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert main(["check", "--spec", prod]) == 0
    assert "prod.yaml: OK" in capsys.readouterr().out
    assert main([f"--spec={prod}", "check"]) == 0
    for argv in (["run", "nope", "--spec", prod], ["run", "nope", "--spec", prod, "other"]):
        assert main(argv) == 2
        assert _one_line(capsys.readouterr().err).startswith("prod.yaml: no pipeline named")
    assert main(["status", "--spec", prod, "--json"]) == 0
    assert [r["pipeline"] for r in json.loads(capsys.readouterr().out)] == \
        list(load_spec(prod, need_connection=False).pipelines)
    assert main(["quarantine", "list", "--spec", prod, "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    out = tmp_path / "one.json"
    assert main(["export", "invoices", "--ids", "5001", "--spec", prod, "--output",
                 str(out)]) == 0
    assert len(json.loads(out.read_text())["transactions"]) == 1


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_help_shows_spec(command, capsys):
    with pytest.raises(SystemExit) as done:
        main([command, "--help"])
    assert done.value.code == 0
    assert "--spec FILE" in capsys.readouterr().out


@pytest.mark.parametrize("argv", [["sandbox", "--help"], ["--spec", "x.yaml", "sandbox",
                                                          "--help"]])
def test_sandbox_arguments_pass_through(argv, capsys):
    with pytest.raises(SystemExit) as done:
        main(argv)
    assert done.value.code == 0
    assert "usage: cwsage sandbox" in capsys.readouterr().out
