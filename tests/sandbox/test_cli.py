"""``python -m sandbox``: prints its URL and credentials as CW_* exports, serves until Ctrl-C."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import requests

from sandbox.server import DEFAULT_CREDENTIALS, main
from sandbox.testing import authorization
from tests.sandbox.handwritten import invoice

ROOT = Path(__file__).resolve().parents[2]


def _start(*args):
    return subprocess.Popen([sys.executable, "-m", "sandbox", "--port", "0", *args], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1",
                                 "PYTHONFAULTHANDLER": "1"})


def _stopped(process, timeout: float = 10) -> int:
    """Wait for the process; if it hangs, abort it (its threads' tracebacks go to stderr,
    PYTHONFAULTHANDLER) and fail with them."""
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGABRT)
        process.wait(timeout=10)
        raise AssertionError("the sandbox did not stop:\n" + process.stderr.read()[-6000:])


def _exports(process) -> dict[str, str]:
    found = {}
    for line in process.stdout:
        found["banner"] = found.get("banner", "") + line
        if line.strip().startswith("export "):
            name, _, value = line.strip()[len("export "):].partition("=")
            found[name] = value
        if "Ctrl-C" in line:
            return found
    raise AssertionError("the sandbox did not start: " + process.stderr.read())


def test_prints_the_environment_and_serves_until_interrupted(tmp_path):
    documents = tmp_path / "extra.json"
    documents.write_text(json.dumps({"transactions": [invoice()]}))
    process = _start("--invoices", "30", "--state", str(tmp_path / "state.json"),
                     "--documents", str(documents))
    try:
        env = _exports(process)
        assert f"including 1 hand-written document from {documents}" in env.pop("banner")
        assert set(env) == {"CW_BASE_URL", "CW_COMPANY", "CW_PUBLIC_KEY", "CW_PRIVATE_KEY",
                            "CW_CLIENT_ID"}
        assert env["CW_BASE_URL"].endswith("/v4_6_release/apis/3.0")
        creds = {"company": env["CW_COMPANY"], "public_key": env["CW_PUBLIC_KEY"],
                 "private_key": env["CW_PRIVATE_KEY"], "client_id": env["CW_CLIENT_ID"]}
        assert creds == DEFAULT_CREDENTIALS
        response = requests.get(env["CW_BASE_URL"] + "/finance/accounting/unpostedinvoices/count",
                                headers={"Authorization": authorization(creds),
                                         "clientId": creds["client_id"]}, timeout=10)
        assert response.json() == {"count": 31}
    finally:
        process.send_signal(signal.SIGINT)
        assert _stopped(process) == 0


def test_usage_errors_exit_with_status_2(tmp_path, capsys):
    assert main(["--faults", "teapot@export", "--port", "0"]) == 2
    assert "bad fault rule" in capsys.readouterr().err
    state = tmp_path / "state.json"
    state.write_text("not json")
    assert main(["--state", str(state), "--port", "0"]) == 2
    assert "cannot read the sandbox state" in capsys.readouterr().err
    assert main(["--invoices", "-1", "--port", "0"]) == 2
