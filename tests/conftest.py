"""Test session set-up: one Prefect test server for the whole session, heartbeats off."""

from __future__ import annotations

import os

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_EXTRA_LOGGERS", "cwsage")
os.environ.setdefault("PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW", "ignore")

import pytest  # noqa: E402

SANDBOX_ENV = ("CW_BASE_URL", "CW_COMPANY", "CW_PUBLIC_KEY", "CW_PRIVATE_KEY", "CW_CLIENT_ID")


@pytest.fixture(scope="session")
def prefect_harness():
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
    from prefect.testing.utilities import prefect_test_harness
    with prefect_test_harness(server_startup_timeout=90):
        with temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
            yield


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A fresh $CWSAGE_HOME for one test."""
    path = tmp_path / "home"
    monkeypatch.setenv("CWSAGE_HOME", str(path))
    return path


@pytest.fixture
def cw_env(monkeypatch):
    """Placeholder ConnectWise settings for tests that load the real spec but call nothing."""
    for name in SANDBOX_ENV:
        monkeypatch.setenv(name, f"test-{name.lower()}")
    monkeypatch.setenv("CW_BASE_URL", "http://127.0.0.1:9/v4_6_release/apis/3.0")


from tests.postgres import postgres  # noqa: E402,F401  (the session's PostgreSQL server)
