"""A spec with ``state:``: the real flow keeps its journal in PostgreSQL (the test session's
server), and every command reads it there — nothing is kept in ``$CWSAGE_HOME``'s journal."""

from __future__ import annotations

import json

import psycopg
import pytest

from flows.cli import main
from flows.pipeline import run_pipeline
from tests.flows.helpers import CW, replica

pytestmark = pytest.mark.slow


@pytest.fixture
def shared_spec(spec, postgres, monkeypatch):
    schema = postgres.schema()
    monkeypatch.setenv("CWSAGE_STATE_PASSWORD", postgres.password)
    spec.write_text(spec.read_text() + f"\nstate:\n  url: {postgres.url}\n"
                    f"  password: ${{CWSAGE_STATE_PASSWORD}}\n  schema: {schema}\n")
    return spec, schema


def states(postgres, schema: str) -> dict[str, int]:
    with psycopg.connect(postgres.url, password=postgres.password) as db:
        return dict(db.execute(f"SELECT state, COUNT(*) FROM {schema}.documents WHERE "
                               "pipeline='invoices' GROUP BY state").fetchall())


def test_a_run_keeps_its_journal_in_postgresql(prefect_harness, sandbox, shared_spec, home,
                                               postgres, capsys):
    spec, schema = shared_spec
    dry = run_pipeline("invoices", str(spec), dry_run=True)
    assert dry.ready > 0 and states(postgres, schema) == {}     # a dry run writes nothing
    first = run_pipeline("invoices", str(spec))
    assert first.counts.loaded > 0 and first.reconciliation.agrees
    assert not (home / "journal.db").exists()
    held = states(postgres, schema)
    assert held == {"posted": first.counts.loaded, "quarantined": first.counts.quarantined}
    loaded = replica(home).execute("SELECT COUNT(*) FROM INVOICE").fetchone()[0]
    assert loaded == first.counts.loaded
    assert CW(sandbox).unposted() == first.counts.quarantined

    second = run_pipeline("invoices", str(spec))
    assert second.counts.loaded == 0 and second.counts.batches == ()

    capsys.readouterr()
    assert main(["--spec", str(spec), "status", "--json"]) == 0
    [row] = [r for r in json.loads(capsys.readouterr().out) if r["pipeline"] == "invoices"]
    assert row["posted"] == first.counts.loaded and row["quarantined"] == first.counts.quarantined
    assert main(["--spec", str(spec), "quarantine", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert len([d for d in listed if d["pipeline"] == "invoices"]) == first.counts.quarantined
    assert main(["--spec", str(spec), "check", "--connect"]) == 0
    out = capsys.readouterr().out
    assert f"ok    Shared state: the journal at {postgres.url} (schema {schema}) answers " \
           "(documents of invoices)" in out
    assert postgres.password not in out
