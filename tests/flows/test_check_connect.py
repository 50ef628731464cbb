"""``check_connect``: ConnectWise (the real sandbox on loopback), each pipeline's Sage target
and the Prefect API, each reported in one line, with nothing written and no secret shown.
No Prefect flow runs here."""

from __future__ import annotations

import io
import os
import re
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from flows import check_connect as cc
from flows.check_connect import CheckResult, check_connect, print_checks
from flows.spec import load_spec
from tests.flows.helpers import with_writer

ROOT = Path(__file__).resolve().parents[2]
PIPELINES = tuple(load_spec(ROOT / "pipelines.yaml", need_connection=False).pipelines)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _checks(spec_path, env=None) -> tuple[dict[str, CheckResult], str, int]:
    results = check_connect(load_spec(spec_path), env=env if env is not None else {})
    out = io.StringIO()
    status = print_checks(results, out)
    return {r.what: r for r in results}, out.getvalue(), status


def _replica_at(spec_path, path) -> None:
    text = re.sub(r"(?m)^  sage50_replica: .*$", f"  sage50_replica: {{path: '{path}'}}",
                  spec_path.read_text(), count=1)
    spec_path.write_text(text)


@pytest.fixture
def no_profile(monkeypatch):
    """No Prefect API in the active profile either."""
    monkeypatch.setattr(cc, "profile_setting", lambda name: None)


def test_everything_reachable_passes_and_nothing_is_written(sandbox, spec, home, no_profile):
    checks, out, status = _checks(spec)
    assert status == 0, out
    cw = checks["ConnectWise"]
    assert cw.ok and cw.detail.startswith(f"http://127.0.0.1:{sandbox.port} accepted the API "
                                          "keys for company 'sandbox'")
    disabled = {n for n, p in load_spec(spec, need_connection=False).pipelines.items()
                if not p.enabled}
    for name in PIPELINES:
        target = checks[f"Sage target of {name}" + (" (enabled: false)" if name in disabled
                                                      else "")]
        assert target.ok and target.detail == (
            f"sage50_replica: {home / 'sage50.db'} does not exist yet; it can be created in "
            f"{home.parent}")
    assert checks["Prefect API"].info and checks["Prefect API"].detail == (
        "no Prefect API configured: runs use a temporary local server")
    assert not home.exists(), "the check created something"
    for secret in ("private_key", "client_id", "public_key"):
        assert sandbox.credentials[secret] not in out
    assert len(out.splitlines()) == len(PIPELINES) + 2 and out.startswith("ok    ConnectWise: ")


@pytest.mark.parametrize("variable, expected", [
    ("CW_PRIVATE_KEY", "the API keys were refused (GET /finance/accounting/batches/count: "
                       "HTTP 401 Unauthorized"),
    ("CW_CLIENT_ID", "the API member lacks permission for GET /finance/accounting/batches/count "
                     "(HTTP 403 ConnectWiseApi"),
])
def test_wrong_keys_fail_in_one_line_without_the_secret(sandbox, spec, home, no_profile,
                                                      monkeypatch, variable, expected):
    monkeypatch.setenv(variable, "wrong-value-7f3a")
    checks, out, status = _checks(spec)
    cw = checks["ConnectWise"]
    assert status == 1 and not cw.ok
    assert cw.detail.startswith(f"ConnectWise at http://127.0.0.1:{sandbox.port}: {expected}")
    assert "\n" not in cw.detail and "FAIL  ConnectWise: ConnectWise at" in out
    assert "wrong-value-7f3a" not in out and sandbox.credentials["private_key"] not in out


def test_a_connectwise_that_refuses_fails_at_once(cw_env, spec, home, no_profile, monkeypatch):
    base = f"http://127.0.0.1:{_closed_port()}/v4_6_release/apis/3.0"
    monkeypatch.setenv("CW_BASE_URL", base)
    started = time.monotonic()
    checks, out, status = _checks(spec)
    assert time.monotonic() - started < 3 and status == 1
    assert checks["ConnectWise"].detail == (
        f"ConnectWise at {base.split('/v4')[0]} refused the connection — check "
        "connectwise.base_url (CW_BASE_URL) and that the server is up")


def test_a_base_url_without_a_scheme_is_refused_when_the_spec_loads(cw_env, spec, home,
                                                                      no_profile, monkeypatch):
    from tasks.errors import ConfigError
    monkeypatch.setenv("CW_BASE_URL", "cw.example.com/v4_6_release/apis/3.0")
    with pytest.raises(ConfigError, match="give the API's address with its scheme"):
        _checks(spec)


def test_a_replica_path_under_a_regular_file_is_reported(cw_env, spec, home, no_profile,
                                                         tmp_path):
    env_sh = tmp_path / "env.sh"
    env_sh.write_text("export CW_PRIVATE_KEY=...\n")
    _replica_at(spec, env_sh / "sage50.db")
    checks, out, status = _checks(spec)
    target = checks["Sage target of invoices"]
    assert status == 1 and not target.ok
    assert target.detail == (f"sage.sage50_replica.path: {env_sh / 'sage50.db'} cannot be "
                             f"created: {env_sh} is a file, not a folder — choose a file in a "
                             "folder")
    assert env_sh.read_text() == "export CW_PRIVATE_KEY=...\n"


def test_a_file_that_is_not_a_replica_is_reported(cw_env, spec, home, no_profile, tmp_path):
    notes = tmp_path / "notes.db"
    notes.write_text("not a database, just notes " * 200)
    _replica_at(spec, notes)
    target = _checks(spec)[0]["Sage target of customers"]
    assert not target.ok and f"path: {notes} cannot be used as the Sage 50 replica" in \
        target.detail


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write to any folder")
def test_an_unwritable_folder_is_reported(cw_env, spec, home, no_profile, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        _replica_at(spec, locked / "sage" / "sage50.db")
        target = _checks(spec)[0]["Sage target of invoices"]
    finally:
        locked.chmod(0o755)
    assert not target.ok and target.detail == (
        f"sage.sage50_replica.path: {locked / 'sage' / 'sage50.db'} cannot be created: "
        f"{locked} is not writable by this user — fix its permissions or choose another place")


def test_file_writer_folders(cw_env, spec, home, no_profile, tmp_path, monkeypatch):
    """The outbox folder must be writable, Zynk's folders readable (the permission check is
    stubbed for the outbox folder, so this runs as root too)."""
    outbox, success = tmp_path / "outbox", tmp_path / "zynk-ok"
    outbox.mkdir()
    (tmp_path / "fail-is-a-file").write_text("")
    spec.write_text(with_writer(spec.read_text(), "zynk_xml_outbox", folder=str(outbox),
                                success_folder=str(success),
                                fail_folder=str(tmp_path / "fail-is-a-file")))
    target = _checks(spec)[0]["Sage target of invoices"]
    assert not target.ok and target.detail == (
        f"sage.zynk_xml_outbox.fail_folder: {tmp_path / 'fail-is-a-file'} is a file, not a "
        "folder — give a folder")
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: str(p) != str(outbox) and
                        real_access(p, mode))
    target = _checks(spec)[0]["Sage target of invoices"]
    assert target.detail.startswith(f"sage.zynk_xml_outbox.folder: {outbox} is not writable "
                                    "by this user — fix its permissions")
    assert not success.exists()


def test_the_odbc_dsn_is_tried_once(cw_env, spec, home, no_profile, tmp_path):
    missing = tmp_path / "no-such" / "sage.db"
    spec.write_text(with_writer(spec.read_text(), "sage50_import_csv",
                                folder=str(tmp_path / "import"), odbc_dsn=f"sqlite:{missing}"))
    target = _checks(spec)[0]["Sage target of expenses"]
    assert not target.ok and target.detail.startswith(
        f"sage.sage50_import_csv.odbc_dsn: {missing} cannot be opened read-only (")
    assert not missing.parent.exists() and not (tmp_path / "import").exists()


def test_a_prefect_api_at_a_closed_port_fails(cw_env, spec, home, no_profile):
    url = f"http://127.0.0.1:{_closed_port()}/api"
    checks, out, status = _checks(spec, env={"PREFECT_API_URL": url})
    prefect = checks["Prefect API"]
    assert status == 1 and not prefect.ok and not prefect.info
    assert prefect.detail == (f"Prefect API at {url[:-4]} refused the connection — check "
                              "PREFECT_API_URL and that the Prefect server is up")


def test_a_healthy_prefect_api_passes(cw_env, spec, home, no_profile):
    class Health(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200 if self.path == "/api/health" else 404)
            self.send_header("Content-Length", "4")
            self.end_headers()
            self.wfile.write(b"true")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Health)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/api"
        prefect = _checks(spec, env={"PREFECT_API_URL": url})[0]["Prefect API"]
    finally:
        server.shutdown()
        server.server_close()
    assert prefect.ok and prefect.detail == f"{url[:-4]} answered GET /health"
