"""Fixtures the stage tests share: a small ConnectWise sandbox over loopback HTTP."""

from __future__ import annotations

import pytest

from sandbox.server import SandboxServer
from tests.flows.helpers import point_env_at


@pytest.fixture
def sandboxes(monkeypatch):
    """Start a small sandbox (4 invoices, 1 bill, 1 receipt, no broken ones; ``faults`` as
    ``cwsage sandbox --faults`` takes them), the CW_* variables pointed at it; all stopped
    after the test."""
    started: list[SandboxServer] = []

    def start(faults: str | None = None) -> SandboxServer:
        server = SandboxServer(port=0, invoices=4, expenses=1, procurement=1, broken_share=0,
                               faults=faults)
        server.start()
        started.append(server)
        point_env_at(monkeypatch, server)
        return server
    yield start
    for server in started:
        server.stop()


@pytest.fixture
def sandbox(sandboxes) -> SandboxServer:
    return sandboxes()
