"""Alerts delivered to local receivers: a webhook on 127.0.0.1 and a small SMTP server that
speaks just enough of the protocol (EHLO, AUTH PLAIN, MAIL, RCPT, DATA, QUIT) for smtplib."""

from __future__ import annotations

import base64
import email
import email.policy
import json
import logging
import shutil
import socketserver
import sqlite3
import threading
import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace

import pytest
from prefect.states import Completed, Failed

from flows import notify
from flows.spec import load_spec
from tasks.errors import ConfigError, FatalError
from tasks.journal import DocRecord, Journal
from tasks.reconcile import Difference, Reconciliation
from tasks.run_result import RunCounts, RunResult

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "s3cret-smtp-pass"
HOOK_TOKEN = "T0KEN-9f3a"


class WebhookReceiver:
    """Collects the JSON bodies POSTed to it; answers ``status``."""

    def __init__(self, status: int = 200):
        self.received: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append({"path": self.path, "type": self.headers[
                    "Content-Type"], "json": json.loads(body)})
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/hooks/{HOOK_TOKEN}"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class _SmtpHandler(socketserver.StreamRequestHandler):
    def reply(self, *lines: str) -> None:
        self.wfile.write("".join(f"{line}\r\n" for line in lines).encode())

    def handle(self) -> None:
        box, envelope = self.server.box, {"to": []}
        self.reply("220 localhost test SMTP")
        while line := self.rfile.readline():
            verb, _, arg = line.decode().rstrip("\r\n").partition(" ")
            verb = verb.upper()
            if verb == "EHLO":
                self.reply("250-localhost", "250-AUTH PLAIN", "250 8BITMIME")
            elif verb == "HELO":
                self.reply("250 localhost")
            elif verb == "AUTH":
                box.logins.append(base64.b64decode(arg.split(" ", 1)[1]).split(b"\0")[1:])
                self.reply("235 2.7.0 authenticated")
            elif verb == "MAIL":
                envelope["from"] = arg.partition(":")[2]
                self.reply("250 OK")
            elif verb == "RCPT":
                envelope["to"].append(arg.partition(":")[2])
                self.reply("250 OK")
            elif verb == "DATA":
                self.reply("354 end with <CRLF>.<CRLF>")
                data = []
                while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                    data.append(chunk[1:] if chunk.startswith(b"..") else chunk)
                box.messages.append((dict(envelope), email.message_from_bytes(
                    b"".join(data), policy=email.policy.default)))
                self.reply("250 OK queued")
            elif verb in ("RSET", "NOOP"):
                self.reply("250 OK")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("502 not implemented")


class SmtpReceiver:
    def __init__(self):
        self.messages: list[tuple[dict, email.message.Message]] = []
        self.logins: list[list[bytes]] = []
        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _SmtpHandler)
        self.server.daemon_threads = True
        self.server.box = self
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook():
    receiver = WebhookReceiver()
    yield receiver
    receiver.close()


@pytest.fixture
def smtp():
    receiver = SmtpReceiver()
    yield receiver
    receiver.close()


def notify_block(webhook_url: str | None, smtp_port: int | None, starttls: bool = False,
                 extra: str = "") -> str:
    text = "\nnotify:\n"
    if webhook_url:
        text += "  webhook:\n    url: ${CWSAGE_WEBHOOK_URL}\n    timeout_seconds: 5\n"
    if smtp_port:
        text += (f"  email:\n    host: 127.0.0.1\n    port: {smtp_port}\n"
                 "    from: cwsage@example.co.uk\n    to: [accounts@example.co.uk]\n"
                 f"    starttls: {str(starttls).lower()}\n    username: ${{SMTP_USERNAME}}\n"
                 "    password: ${SMTP_PASSWORD}\n    timeout_seconds: 5\n")
    return text + extra


@pytest.fixture
def make_spec(tmp_path, monkeypatch):
    for folder in ("xslt", "expectations"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    env = {"SMTP_USERNAME": "alerts", "SMTP_PASSWORD": PASSWORD,
           "CW_PRIVATE_KEY": "cw-private-key-value", "CW_CLIENT_ID": "cw-client-id-value"}
    for name, value in env.items():
        monkeypatch.setenv(name, value)

    def make(block: str, hook_url: str | None = None):
        if hook_url:
            monkeypatch.setenv("CWSAGE_WEBHOOK_URL", hook_url)
        path = tmp_path / "pipelines.yaml"
        path.write_text((ROOT / "pipelines.yaml").read_text() + block)
        return load_spec(path, need_connection=False, check_files=False)
    return make


def quarantine(home: Path, keys_and_days: dict[str, int]) -> None:
    journal = Journal(home / "journal.db")
    now = datetime.now(timezone.utc)
    for key, days in keys_and_days.items():
        doc = DocRecord(key, key.rsplit("-", 1)[1], f"INV{key[-4:]}", "SI", "ACME01", "GBP",
                        Decimal("10"), Decimal("2"), Decimal("12"), (1,), "h")
        journal.record_extracted("invoices", "r1", [doc])
        journal.quarantine("invoices", "r1", {key: [
            {"reason": "customer has no account number", "value": None,
             "fix": "set the Account Number on the company in ConnectWise"}]}, "validate")
    journal.close()
    with sqlite3.connect(home / "journal.db") as db:          # first seen ``days`` ago
        for key, days in keys_and_days.items():
            stamp = (now - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            db.execute("UPDATE documents SET first_seen=? WHERE key=?", (stamp, key))
    db.close()


def ran(rec: Reconciliation) -> RunResult:
    """What the flow returns when a run of invoices completed with ``rec``."""
    return RunResult("invoices", "r1", RunCounts(), {}, True, rec, (), "invoice")


def flow_run(spec_path: Path) -> SimpleNamespace:
    return SimpleNamespace(id=uuid.uuid4(), name="invoices",
                           parameters={"pipeline": "invoices", "spec_path": str(spec_path)})


def test_notify_block_loads_and_refuses_literal_secrets(make_spec, webhook, smtp):
    spec = make_spec(notify_block(webhook.url, smtp.port, extra="  quarantine_over: 3\n"),
                     webhook.url)
    assert spec.notify.email.from_address == "cwsage@example.co.uk"
    assert spec.notify.email.password.get_secret_value() == PASSWORD
    assert PASSWORD not in repr(spec.notify) and HOOK_TOKEN not in repr(spec.notify)
    with pytest.raises(ConfigError) as err:
        make_spec(notify_block(None, smtp.port).replace("${SMTP_PASSWORD}", "hunter22"))
    assert err.value.problems == [
        "pipelines.yaml: notify.email.password: write an environment reference such as "
        "${SMTP_PASSWORD} — secrets never live in pipelines.yaml"]
    with pytest.raises(ConfigError) as err:
        make_spec("\nnotify:\n  webhook: {url: http://127.0.0.1:1/}\n  quarantine_ovr: 3\n")
    assert err.value.problems == [
        "pipelines.yaml: notify.quarantine_ovr: unknown key 'quarantine_ovr' — did you mean "
        "'quarantine_over'?"]
    with pytest.raises(ConfigError) as err:
        make_spec("\nnotify:\n  quarantine_over: 3\n")
    assert err.value.problems == [
        "pipelines.yaml: notify: give a webhook: or an email: block — where alerts are sent"]


def test_failed_run_alert_by_webhook_and_email(make_spec, webhook, smtp, home, caplog):
    spec = make_spec(notify_block(webhook.url, smtp.port), webhook.url)
    quarantine(home, {"CW-INV-5001": 9, "CW-INV-5002": 1})
    run = flow_run(spec.path)
    error = FatalError("[invoices] extract: ConnectWise answered 401 Unauthorized (key "
                       "cw-private-key-value)")
    with caplog.at_level(logging.INFO, logger="cwsage.notify"):
        notify.on_flow_failure(None, run, Failed(message="failed", data=error))
    [hook] = webhook.received
    body = hook["json"]
    assert hook["type"] == "application/json" and body["event"] == "run_failed"
    assert body["pipeline"] == "invoices" and body["run"]["id"] == str(run.id)
    assert body["error_type"] == "FatalError"
    assert body["error"] == ("FatalError: [invoices] extract: ConnectWise answered 401 "
                             "Unauthorized (key ***)")
    assert body["quarantine"]["count"] == 2
    assert [d["key"] for d in body["quarantine"]["oldest"]] == ["CW-INV-5001", "CW-INV-5002"]
    assert body["quarantine"]["oldest"][0]["reasons"][0]["fix"].startswith("set the Account")
    assert "cwsage quarantine list" in body["text"] and "do what the error says" in \
        body["text"]
    [(envelope, message)] = smtp.messages
    assert smtp.logins == [[b"alerts", PASSWORD.encode()]]
    assert envelope["to"] == ["<accounts@example.co.uk>"]
    assert message["Subject"] == "[cwsage] invoices: run failed"
    text = message.get_content()
    assert f"flow run {run.id}" in text and "401 Unauthorized" in text
    assert "CW-INV-5001 (INV5001), first seen" in text and "(9 days)" in text
    assert "cwsage quarantine list" in text and "cwsage quarantine show KEY" in text
    assert hook["path"] == f"/hooks/{HOOK_TOKEN}"
    everything = json.dumps(body) + message.as_string() + caplog.text
    for secret in (PASSWORD, HOOK_TOKEN, "cw-private-key-value"):
        assert secret not in everything
    assert "run_failed alert sent by webhook to 127.0.0.1" in caplog.text
    assert f"run_failed alert sent by email to 127.0.0.1:{smtp.port}" in caplog.text


def test_quarantine_thresholds_count_and_age_without_repeats(make_spec, webhook, home):
    spec = make_spec(notify_block(webhook.url, None, extra=(
        "  quarantine_over: 2\n  quarantine_older_than_days: 5\n  repeat_hours: 24\n")),
        webhook.url)
    run = flow_run(spec.path)
    quarantine(home, {"CW-INV-5001": 1, "CW-INV-5002": 2})
    assert notify.run_completed(spec, "invoices", home, run, Completed(data={})) == []
    quarantine(home, {"CW-INV-5003": 6})                       # aged, and now 3 > 2
    [alert] = notify.run_completed(spec, "invoices", home, run, Completed(data={}))
    assert alert.delivered == ["webhook"]
    body = webhook.received[-1]["json"]
    assert body["event"] == "quarantine" and body["quarantine"]["count"] == 3
    assert body["subject"] == "[cwsage] invoices: 3 documents held back"
    assert ("3 documents are quarantined (alert above 2); 1 have waited more than 5 days"
            in body["text"])
    assert body["quarantine"]["oldest"][0]["key"] == "CW-INV-5003"
    assert notify.quarantine_alert(spec, "invoices", home) is None        # same documents
    later = datetime.now(timezone.utc) + timedelta(hours=25)
    assert notify.quarantine_alert(spec, "invoices", home, now=later) is not None
    quarantine(home, {"CW-INV-5004": 0})                       # a new document joins
    assert notify.quarantine_alert(spec, "invoices", home, now=later) is not None
    assert len(webhook.received) == 3


def test_unexplained_reconciliation_alerts(make_spec, webhook, home):
    spec = make_spec(notify_block(webhook.url, None), webhook.url)
    rec = Reconciliation([], [Difference("CW-INV-5009", "INV5009", "net", Decimal("10.00"),
                                         Decimal("9.00"), False, "the nets differ")], [])
    [alert] = notify.run_completed(spec, "invoices", home, flow_run(spec.path),
                                   Completed(data=ran(rec)))
    assert alert.event == "unreconciled" and "INV5009 net: ConnectWise 10.00, Sage 9.00" in \
        alert.text
    agreed = Reconciliation([], [], [])
    assert notify.run_completed(spec, "invoices", home, flow_run(spec.path),
                                Completed(data=ran(agreed))) == []


def test_documents_unconfirmed_past_confirm_within_are_named_with_their_file(make_spec,
                                                                             webhook, home):
    from tasks.confirm import Waiting
    spec = make_spec(notify_block(webhook.url, None), webhook.url)
    since = datetime.now(timezone.utc) - timedelta(hours=30)
    late = [Waiting("CW-INV-5009", "10009", "outbox invoices-chunk-1.xml", since,
                    timedelta(hours=30), True)]
    fresh = [Waiting("CW-INV-5010", "10010", "outbox invoices-chunk-2.xml", since,
                     timedelta(hours=1), False)]
    rec = Reconciliation([], [], [], waiting=late + fresh)
    [alert] = notify.run_completed(spec, "invoices", home, flow_run(spec.path),
                                   Completed(data=ran(rec)))
    assert alert.event == "unconfirmed" and not rec.agrees
    assert "10009 (CW-INV-5009): in outbox invoices-chunk-1.xml, waiting 30 h" in alert.text
    assert "CW-INV-5010" not in alert.text and "cwsage confirm FILE" in alert.text
    assert notify.run_completed(spec, "invoices", home, flow_run(spec.path),     # not news
                                Completed(data=ran(rec))) == []
    waiting = Reconciliation([], [], [], waiting=fresh)
    assert waiting.agrees and notify.run_completed(
        spec, "invoices", home, flow_run(spec.path),
        Completed(data=ran(waiting))) == []


def test_a_failed_delivery_is_logged_not_raised(make_spec, smtp, home, caplog):
    receiver = WebhookReceiver(status=500)
    try:
        spec = make_spec(notify_block(receiver.url, smtp.port, starttls=True), receiver.url)
        with caplog.at_level(logging.INFO, logger="cwsage.notify"):
            alert = notify.run_failed(spec, "invoices", home, flow_run(spec.path),
                                      Failed(message="Flow run failed: boom"))
    finally:
        receiver.close()
    assert alert.delivered == [] and len(receiver.received) == 1 and smtp.messages == []
    assert "NOT sent by webhook to 127.0.0.1: HTTPError" in caplog.text
    assert "does not offer STARTTLS" in caplog.text
    assert HOOK_TOKEN not in caplog.text and PASSWORD not in caplog.text


def test_no_notify_block_sends_nothing(make_spec, home):
    spec = make_spec("")
    assert notify.run_failed(spec, "invoices", home, flow_run(spec.path), Failed()) is None
    assert notify.run_completed(spec, "invoices", home, flow_run(spec.path), Completed()) == []


@pytest.mark.slow
def test_the_flow_hook_alerts_when_a_run_fails(prefect_harness, make_spec, webhook, home,
                                               monkeypatch):
    """The real flow against a ConnectWise that does not answer: the run fails, the alert
    says which run, what failed and what to do."""
    monkeypatch.setenv("CW_BASE_URL", "http://127.0.0.1:9/v4_6_release/apis/3.0")
    for name in ("CW_COMPANY", "CW_PUBLIC_KEY"):
        monkeypatch.setenv(name, name.lower())
    spec = make_spec(notify_block(webhook.url, None), webhook.url)
    spec.path.write_text(spec.path.read_text().replace("max_attempts: 5", "max_attempts: 1")
                         .replace("  retries: 3", "  retries: 0"))
    from flows.pipeline import run_pipeline
    state = run_pipeline("invoices", str(spec.path), return_state=True)
    assert state.is_failed()
    [hook] = webhook.received
    body = hook["json"]
    assert body["event"] == "run_failed" and body["pipeline"] == "invoices"
    assert body["run"]["name"] == "invoices" and body["error"].startswith("FatalError")
    assert "refused the connection" in body["error"]           # at once, not retried
    assert "do what the error says" in body["text"]
    assert "cw-private-key-value" not in json.dumps(body)


def test_the_same_failure_is_not_sent_twice_until_a_run_completes(make_spec, webhook, home):
    spec = make_spec(notify_block(webhook.url, None), webhook.url)
    run, down = flow_run(spec.path), FatalError("[invoices] plan: 401 Unauthorized")
    assert notify.run_failed(spec, "invoices", home, run, Failed(data=down)).delivered
    assert notify.run_failed(spec, "invoices", home, run, Failed(data=down)) is None
    other = FatalError("[invoices] plan: 403 Forbidden")
    assert notify.run_failed(spec, "invoices", home, run, Failed(data=other)).delivered
    notify.run_completed(spec, "invoices", home, run, Completed(data={}))
    assert notify.run_failed(spec, "invoices", home, run, Failed(data=down)).delivered
    assert [r["json"]["error"] for r in webhook.received] == [
        "FatalError: [invoices] plan: 401 Unauthorized",
        "FatalError: [invoices] plan: 403 Forbidden",
        "FatalError: [invoices] plan: 401 Unauthorized"]
