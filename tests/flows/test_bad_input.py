"""Bad input at the command line: a damaged journal or replica, a badly shaped export, an
unwritable output, a hostile spec, a lock file that is a symlink. Each ends in exit status 2
with one line that names the place and the way out — never a traceback, never a hang."""

from __future__ import annotations

import copy
import json
import os
import random
import sqlite3
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest

from flows.cli import main
from flows.spec import load_spec
from tasks.context import RunContext
from tasks.errors import ConfigError
from tasks.journal import DocRecord, Journal

ROOT = Path(__file__).resolve().parents[2]
SPEC = str(ROOT / "pipelines.yaml")
FIXTURE = ROOT / "tests" / "fixtures" / "invoices-export.json"
DAMAGE = ["truncated", "random bytes", "not SQLite", "another schema"]


def one_line(err: str) -> str:
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    return err.strip()


def damage(path: Path, how: str, tmp: Path) -> None:
    """Put a damaged SQLite file at ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if how == "truncated":
        healthy = tmp / "healthy.db"
        journal = Journal(healthy)
        journal.record_extracted("invoices", "r1", [DocRecord(
            f"CW-INV-{n}", str(n), str(n), "SI", "ACME01", "GBP", Decimal(1), Decimal(0),
            Decimal(1), (n,), "x" * 200) for n in range(2000)])
        journal.close()
        db = sqlite3.connect(healthy)                 # everything in the file itself
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.close()
        data = healthy.read_bytes()
        path.write_bytes(data[:len(data) // 2])
    elif how == "random bytes":
        path.write_bytes(random.Random(7).randbytes(16384))
    elif how == "not SQLite":
        path.write_text("these are my notes, not a database\n" * 50)
    else:
        db = sqlite3.connect(path)
        db.execute("CREATE TABLE invoices (number TEXT, total REAL)")
        db.commit()
        db.close()


# -- a damaged journal ----------------------------------------------------------------------
@pytest.mark.parametrize("how", DAMAGE)
@pytest.mark.parametrize("command", [["status"], ["status", "--json"], ["quarantine", "list"],
                                     ["quarantine", "list", "--json"]])
def test_a_damaged_journal_is_one_line_naming_it_and_the_ways_out(home, tmp_path, capsys,
                                                                   how, command):
    journal = home / "journal.db"
    damage(journal, how, tmp_path)
    before = journal.read_bytes()
    assert main(["--spec", SPEC, *command]) == 2
    err = one_line(capsys.readouterr().err)
    assert err.startswith(f"{journal}: not a readable cwsage journal")
    for words in ("restore it from a backup", "move it aside", "rebuilds what it can",
                  "not exported again", "not loaded twice"):
        assert words in err
    assert journal.read_bytes() == before                  # nothing was written into it


@pytest.mark.parametrize("dry_run", [[], ["--dry-run"]])
def test_run_with_a_damaged_journal_stops_before_any_flow_run(home, tmp_path, cw_env, capsys,
                                                              dry_run):
    damage(home / "journal.db", "random bytes", tmp_path)
    assert main(["--spec", SPEC, "run", "invoices", *dry_run]) == 2
    err = one_line(capsys.readouterr().err)
    assert f"{home / 'journal.db'}: not a readable cwsage journal" in err


def test_status_on_a_damaged_journal_as_a_user_runs_it(tmp_path):
    home = tmp_path / "home"
    damage(home / "journal.db", "truncated", tmp_path)
    done = subprocess.run([sys.executable, "-m", "flows.cli", "status"], cwd=ROOT, text=True,
                          capture_output=True, env=dict(os.environ, CWSAGE_HOME=str(home)))
    assert done.returncode == 2
    assert one_line(done.stderr).startswith(f"{home / 'journal.db'}: not a readable")


# -- a damaged replica -----------------------------------------------------------------------
@pytest.mark.parametrize("how", ["truncated", "random bytes", "another schema"])
@pytest.mark.parametrize("dry_run", [[], ["--dry-run"]])
def test_run_with_a_damaged_replica_names_it_and_the_ways_out(home, tmp_path, cw_env, capsys,
                                                              how, dry_run):
    replica = home / "sage50.db"
    damage(replica, how, tmp_path)
    assert main(["--spec", SPEC, "run", "invoices", *dry_run]) == 2
    err = one_line(capsys.readouterr().err)
    assert err.startswith(f"sage50_replica settings: path: {replica} cannot be used as the "
                          "Sage 50 replica")
    assert "restore it from a backup" in err and "move it aside" in err


def test_preview_with_a_damaged_replica_names_the_real_file_not_its_copy(home, spec,
                                                                         tmp_path, capsys):
    replica = tmp_path / "company" / "sage50.db"
    damage(replica, "random bytes", tmp_path)
    text = spec.read_text().replace("  sage50_replica: {", f"  sage50_replica: {{path: "
                                    f"{replica}, ", 1)
    spec.write_text(text)
    assert main(["--spec", str(spec), "preview", "invoices", "--input", str(FIXTURE)]) == 2
    err = one_line(capsys.readouterr().err)
    assert err.startswith(f"sage50_replica settings: path: {replica} cannot be used")
    assert "restore it from a backup" in err


# -- a badly shaped export -------------------------------------------------------------------
def _fixture() -> dict:
    return json.loads(FIXTURE.read_text())


def _with(edit) -> dict:
    export = copy.deepcopy(_fixture())
    edit(export)
    return export


SHAPES = {
    "documents are text": ({"transactions": "x"},
                           "transactions: expected a list of documents, got text"),
    "a null document": ({"transactions": [None]},
                        "transactions[0]: expected a document (an object), got null"),
    "detail is a number": (_with(lambda e: e["transactions"][3].update(detail=5)),
                           "transactions[3].detail: expected a list of lines, got a number"),
    "company is text": (_with(lambda e: e["transactions"][1].update(company="x")),
                        "transactions[1].company: expected an object (the company), got text"),
    "a number is an object": (_with(lambda e: e["transactions"][0].update(total={"v": 1})),
                              "transactions[0].total: expected a number, got an object"),
    "a line total is a list": (
        _with(lambda e: e["transactions"][0]["detail"][0].update(total=[1])),
        "transactions[0].detail[0].total: expected a number, got a list"),
    "a top-level list": ([{"transactions": []}], "(top level): expected an export object"),
}
DEEP = "[" * 100_000 + "]" * 100_000


def _run_offline(command: str, source: Path, tmp_path: Path) -> list[str]:
    args = ["--spec", SPEC, command, "invoices", "--input", str(source)]
    return args + (["--output", str(tmp_path / "out.xml")] if command == "transform" else [])


@pytest.mark.parametrize("command", ["transform", "preview"])
@pytest.mark.parametrize("case", list(SHAPES))
def test_a_badly_shaped_export_is_one_line_with_the_json_path(home, tmp_path, capsys, command,
                                                              case):
    export, message = SHAPES[case]
    source = tmp_path / "export.json"
    source.write_text(json.dumps(export))
    assert main(_run_offline(command, source, tmp_path)) == 2
    err = one_line(capsys.readouterr().err)
    assert err.startswith(f"export.json: {message}")
    assert not (tmp_path / "out.xml").exists()


@pytest.mark.parametrize("command", ["transform", "preview"])
@pytest.mark.parametrize("text", [DEEP, '{"transactions": ' + DEEP + "}"])
def test_json_nested_100000_deep_is_refused_without_a_traceback(tmp_path, command, text):
    source = tmp_path / "deep.json"
    source.write_text(text)
    done = subprocess.run([sys.executable, "-m", "flows.cli",
                           *_run_offline(command, source, tmp_path)], cwd=ROOT, text=True,
                          capture_output=True, timeout=120,
                          env=dict(os.environ, CWSAGE_HOME=str(tmp_path / "home")))
    assert done.returncode == 2
    err = one_line(done.stderr)
    assert err.startswith(f"{source}: not valid JSON: arrays or objects nested too deeply")


def test_nesting_that_decodes_but_no_export_has_is_refused(home, tmp_path, capsys):
    deep: list = []
    for _ in range(500):
        deep = [deep]
    source = tmp_path / "export.json"
    source.write_text(json.dumps(_with(lambda e: e["transactions"][0].update(notes=deep))))
    assert main(_run_offline("transform", source, tmp_path)) == 2
    assert "export.json: transactions[0].notes[0]" in one_line(capsys.readouterr().err)


# -- an output that cannot be written --------------------------------------------------------
def test_transform_to_an_output_that_cannot_be_written(home, tmp_path, capsys, monkeypatch):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    if os.geteuid() == 0:                     # root writes anywhere: let the folder refuse
        real = os.access
        monkeypatch.setattr(os, "access", lambda p, mode: Path(p) != locked and real(p, mode))
    cases = [(tmp_path / "missing" / "out.xml", "does not exist"),
             (tmp_path, "is a folder"),
             (locked / "out.xml", "cannot write in folder")]
    for target, words in cases:
        assert main(["--spec", SPEC, "transform", "invoices", "--input", str(FIXTURE),
                     "--output", str(target)]) == 2
        err = one_line(capsys.readouterr().err)
        assert str(target.resolve()) in err and words in err and "--output" in err
    locked.chmod(0o700)


def test_transform_output_refused_when_written_is_one_line(home, tmp_path, capsys,
                                                           monkeypatch):
    target = tmp_path / "out.xml"

    def refuse(self, data):
        raise PermissionError(13, "Permission denied")
    monkeypatch.setattr(Path, "write_bytes", refuse)
    assert main(["--spec", SPEC, "transform", "invoices", "--input", str(FIXTURE),
                 "--output", str(target)]) == 2
    err = one_line(capsys.readouterr().err)
    assert err.startswith(f"{target}: cannot write the Sage XML (Permission denied)")


# -- a hostile spec --------------------------------------------------------------------------
BOMB = "version: 1\na: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{b}: &{b} [{', '.join([f'*{a}'] * 9)}]\n" for a, b in zip("abcdefgh", "bcdefghi")) + \
    "pipelines: *i\n"


def test_a_yaml_alias_bomb_is_refused_at_once(tmp_path, capsys):
    spec = tmp_path / "pipelines.yaml"
    spec.write_text(BOMB)
    started = time.perf_counter()
    with pytest.raises(ConfigError) as err:
        load_spec(spec)
    assert time.perf_counter() - started < 0.5
    assert err.value.problems == [
        "pipelines.yaml:2:4: YAML anchors and aliases (&name, *name) are not supported in "
        "pipelines.yaml — write the value out, or put shared settings under defaults:"]
    assert main(["--spec", str(spec), "check"]) == 2
    assert "anchors and aliases" in one_line(capsys.readouterr().err)


def test_an_oversize_or_undecodable_spec_is_refused(tmp_path, capsys):
    spec = tmp_path / "pipelines.yaml"
    spec.write_text("version: 1\n# " + "x" * (1024 * 1024) + "\n")
    assert main(["--spec", str(spec), "check"]) == 2
    assert one_line(capsys.readouterr().err).startswith("pipelines.yaml: larger than 1 MiB")
    spec.write_bytes(b"version: 1\n\xff\xfe\n")
    assert main(["--spec", str(spec), "check"]) == 2
    assert "pipelines.yaml: not UTF-8 text" in one_line(capsys.readouterr().err)


def test_a_spec_nested_deeper_than_any_spec_is_refused(tmp_path, capsys):
    spec = tmp_path / "pipelines.yaml"
    spec.write_text("version: 1\npipelines: " + "[" * 5000 + "]" * 5000 + "\n")
    assert main(["--spec", str(spec), "check"]) == 2
    assert "nested more than 32 levels deep" in one_line(capsys.readouterr().err)


@pytest.mark.parametrize("variable, value", [
    ("CW_PRIVATE_KEY", "s3cret-'\"-value"),     # the secret field's variable, quotes and all
    ("CW_PRIVATE_KEY", "42"),                   # short, and out of range
    ("CW_CLIENT_ID", "client-id-0123456789"),   # a secret field references it
    ("BANK_API_TOKEN", "tok-abcdef-123456"),    # its name says TOKEN
])
def test_a_secret_in_a_plain_field_is_never_echoed(tmp_path, capsys, monkeypatch, cw_env,
                                                    variable, value):
    monkeypatch.setenv(variable, value)
    spec = tmp_path / "pipelines.yaml"
    text = (ROOT / "pipelines.yaml").read_text()
    text = text.replace("max_attempts: 5", f"max_attempts: ${{{variable}}}")
    text = text.replace("timeout_seconds: 30", f"timeout_seconds: x${{{variable}}}")
    spec.write_text(text)
    for folder in ("xslt", "expectations"):
        (tmp_path / folder).symlink_to(ROOT / folder)
    assert main(["--spec", str(spec), "check"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert value not in err and repr(value)[1:-1] not in err
    assert f"connectwise.max_attempts: got '${{{variable}}}'" in err
    assert f"connectwise.timeout_seconds: got 'x${{{variable}}}'" in err


# -- a lock file that is a symlink ------------------------------------------------------------
def test_a_lock_file_that_is_a_symlink_is_refused_and_its_target_untouched(home, cw_env):
    target = home.parent / "precious.txt"
    target.write_text("ledger notes\n")
    lock = home / "locks" / "invoices.lock"
    lock.parent.mkdir(parents=True)
    lock.symlink_to(target)
    spec = load_spec(SPEC)
    ctx = RunContext(spec=spec, pipeline_spec=spec.pipeline("invoices"), home=home)
    with pytest.raises(ConfigError) as err:
        ctx.acquire()
    assert err.value.problems == [f"[invoices] lock file {lock} is a symbolic link — remove it "
                                  "(cwsage creates its own); nothing was done"]
    assert target.read_text() == "ledger notes\n"
    lock.unlink()
    ctx.acquire()                                   # a plain lock file: created, owner-only
    assert lock.stat().st_mode & 0o777 == 0o600
    ctx.close()
