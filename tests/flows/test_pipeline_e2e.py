"""The real flow, end to end: the sandbox over loopback HTTP, GX, XSLT, the SQLite replica,
ConnectWise batches — and the guarantees: nothing twice, nothing lost, totals reconcile."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
import requests

from sandbox.server import SandboxServer

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def sandbox(monkeypatch):
    server = SandboxServer(host="127.0.0.1", port=0, seed=11, invoices=40, broken_share=0.15)
    server.start()
    creds = server.credentials
    for name, value in {"CW_BASE_URL": server.base_url, "CW_COMPANY": creds["company"],
                        "CW_PUBLIC_KEY": creds["public_key"],
                        "CW_PRIVATE_KEY": creds["private_key"],
                        "CW_CLIENT_ID": creds["client_id"]}.items():
        monkeypatch.setenv(name, value)
    yield server
    server.stop()


@pytest.fixture
def spec(tmp_path):
    """A copy of the real project files, so a test may edit the mappings."""
    for folder in ("xslt", "expectations"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    shutil.copy(ROOT / "pipelines.yaml", tmp_path / "pipelines.yaml")
    return tmp_path / "pipelines.yaml"


class CW:
    """A few direct calls to the sandbox, as a ConnectWise user would see it."""

    def __init__(self, server):
        self.base = server.base_url
        c = server.credentials
        self.session = requests.Session()
        self.session.auth = (f"{c['company']}+{c['public_key']}", c["private_key"])
        self.session.headers["clientId"] = c["client_id"]

    def get(self, path, **params):
        r = self.session.get(self.base + path, params=params)
        r.raise_for_status()
        return r.json()

    def unposted(self) -> int:
        return self.get("/finance/accounting/unpostedinvoices/count")["count"]

    def batches(self) -> list[dict]:
        return self.get("/finance/accounting/batches", pageSize=1000)


def run(spec, pipeline="invoices"):
    from flows.pipeline import run_pipeline
    return run_pipeline(pipeline, str(spec))


def replica(home: Path) -> sqlite3.Connection:
    return sqlite3.connect(home / "sage50.db")


def test_invoices_end_to_end_twice(prefect_harness, sandbox, spec, home):
    cw = CW(sandbox)
    broken = sandbox.broken_documents() if hasattr(sandbox, "broken_documents") else None
    first = run(spec)
    assert first["unposted"] == 40
    assert first["loaded"] + first["quarantined"] + first["rejected"] == 40
    assert first["quarantined"] >= 3                         # the seeded broken documents
    if broken is not None:
        assert first["quarantined"] == len(broken)
    assert first["reconciliation"].agrees
    assert cw.unposted() == first["quarantined"] + first["rejected"]
    db = replica(home)
    assert db.execute("SELECT COUNT(*) FROM INVOICE").fetchone()[0] == first["loaded"]
    debit, credit = db.execute("SELECT SUM(DEBIT), SUM(CREDIT) FROM AUDIT_JOURNAL").fetchone()
    assert round(debit, 2) == round(credit, 2)
    batches_after_first = cw.batches()

    second = run(spec)
    assert second["loaded"] == 0 and second["batches"] == []
    assert second["unposted"] == first["quarantined"] + first["rejected"]
    assert db.execute("SELECT COUNT(*) FROM INVOICE").fetchone()[0] == first["loaded"]
    assert cw.batches() == batches_after_first
