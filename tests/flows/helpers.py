"""Helpers for the end-to-end tests: the sandbox as a ConnectWise user sees it, a run, the
replica."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import requests


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

    def send(self, method: str, path: str, body=None):
        r = self.session.request(method, self.base + path, json=body)
        r.raise_for_status()
        return r.json() if r.content else None

    def unposted(self) -> int:
        return self.get("/finance/accounting/unpostedinvoices/count")["count"]

    def batches(self) -> list[dict]:
        return self.get("/finance/accounting/batches", pageSize=1000)


def run(spec, pipeline="invoices"):
    from flows.pipeline import run_pipeline
    return run_pipeline(pipeline, str(spec))


def replica(home: Path) -> sqlite3.Connection:
    return sqlite3.connect(home / "sage50.db")


def point_env_at(monkeypatch, server) -> None:
    """Set the five CW_* variables the shipped spec reads to this sandbox."""
    creds = server.credentials
    for name, value in {"CW_BASE_URL": server.base_url, "CW_COMPANY": creds["company"],
                        "CW_PUBLIC_KEY": creds["public_key"],
                        "CW_PRIVATE_KEY": creds["private_key"],
                        "CW_CLIENT_ID": creds["client_id"]}.items():
        monkeypatch.setenv(name, value)


def with_writer(text: str, writer: str, **settings) -> str:
    """The spec text loading through ``writer`` with ``settings`` (and the same exchange rates
    the replica holds, so foreign documents price the same way)."""
    old = "  writer: sage50_replica"
    assert old in text, "pipelines.yaml: the sage.writer line moved; update with_writer"
    block = {"currency_rates": {"EUR": 1.15, "USD": 1.27}, **settings}
    lines = "".join(f"    {k}: {json.dumps(v) if isinstance(v, dict) else v}\n"
                    for k, v in block.items())
    return text.replace(old, f"  writer: {writer}\n  {writer}:\n{lines.rstrip()}", 1)


def batched_gl_ids(cw: "CW") -> list[int]:
    """Every GL entry id in every ConnectWise batch (repeats kept: each must appear once)."""
    ids = []
    for batch in cw.batches():
        ids += [e["id"] for e in cw.get(f"/finance/accounting/batches/{batch['id']}/entries",
                                        pageSize=1000)]
    return ids
