"""Fixtures of the end-to-end tests: a ConnectWise sandbox on loopback, and a copy of the
project's spec, stylesheets and suites that a test may edit."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from sandbox.server import SandboxServer
from tests.crash.harness import with_rates
from tests.flows.helpers import point_env_at

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def sandbox(monkeypatch):
    server = SandboxServer(host="127.0.0.1", port=0, seed=11, invoices=40, broken_share=0.15)
    server.start()
    point_env_at(monkeypatch, server)
    yield server
    server.stop()


@pytest.fixture
def spec(tmp_path):
    """A copy of the real project files, so a test may edit the mappings."""
    for folder in ("xslt", "expectations"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    (tmp_path / "pipelines.yaml").write_text(with_rates((ROOT / "pipelines.yaml").read_text()))
    return tmp_path / "pipelines.yaml"
