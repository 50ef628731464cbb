"""Alert delivery: where alerts go (the ``notify:`` block's channels), and sending them.

A webhook gets a JSON POST, an e-mail goes over SMTP (STARTTLS by default). Every text is
scrubbed of secret values (the SMTP login, the webhook URL and its token, the ConnectWise keys)
before it leaves; deliveries are logged by channel and host only; a failed delivery is logged,
never raised. When and what to send is ``flows.notify``'s business.
"""

from __future__ import annotations

import json
import logging
import smtplib
import ssl
import urllib.request
from dataclasses import dataclass, field
from email.message import EmailMessage
from urllib.parse import urlsplit


from tasks.config.notify import EmailConfig, WebhookConfig
from tasks.inert import alert as inert_alert

log = logging.getLogger("cwsage.notify")


@dataclass
class Alert:
    event: str                      # run_failed | unreconciled | quarantine
    pipeline: str
    subject: str
    lines: list[str]
    details: dict = field(default_factory=dict)
    delivered: list[str] = field(default_factory=list)     # the channels that took it

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


# -- the flow's state hooks -------------------------------------------------------------------
def send(spec, alert: Alert) -> Alert:
    """Deliver on every configured channel; scrub secrets first; log, never raise."""
    cfg = spec.notify
    scrub = _scrubber(spec)
    alert.lines = [scrub(line) for line in alert.lines]
    alert.details = _scrub_all(json.loads(json.dumps(alert.details, default=str)), scrub)
    for name, channel, deliver in (("webhook", cfg.webhook, _post),
                                   ("email", cfg.email, _mail)):
        if channel is None:
            continue
        try:
            deliver(channel, alert)
            alert.delivered.append(name)
            log.info("[%s] notify: %s alert sent by %s to %s", alert.pipeline, alert.event,
                     name, _where(channel))
        except Exception as exc:
            log.warning("[%s] notify: %s alert NOT sent by %s to %s: %s", alert.pipeline,
                        alert.event, name, _where(channel), scrub(_describe(exc)))
    return alert


def _post(cfg: WebhookConfig, alert: Alert) -> None:
    body = json.dumps({"text": f"{alert.subject}\n\n{alert.text}", "event": alert.event,
                       "pipeline": alert.pipeline, "subject": alert.subject,
                       **alert.details}).encode()
    request = urllib.request.Request(cfg.url.get_secret_value(), data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=cfg.timeout_seconds) as response:
        response.read()


def _mail(cfg: EmailConfig, alert: Alert) -> None:
    message = EmailMessage()
    message["Subject"], message["From"] = alert.subject, cfg.from_address
    message["To"] = ", ".join(cfg.to)
    message.set_content(alert.text + "\n")
    with smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout_seconds) as smtp:
        smtp.ehlo()
        if cfg.starttls:
            smtp.starttls(context=ssl.create_default_context())
            smtp.ehlo()
        if cfg.username is not None and cfg.password is not None:
            smtp.login(cfg.username.get_secret_value(), cfg.password.get_secret_value())
        smtp.send_message(message)


def _where(channel) -> str:
    if isinstance(channel, WebhookConfig):
        return urlsplit(channel.url.get_secret_value()).hostname or "?"
    return f"{channel.host}:{channel.port}"


def _describe(exc: Exception) -> str:
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return "the SMTP server does not offer STARTTLS — set starttls: false only for a " \
               "server on this machine"
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return "the SMTP server refused the login — check the username and password variables"
    return f"{type(exc).__name__}: {exc}"


def _scrub_all(node, scrub):
    if isinstance(node, dict):
        return {k: _scrub_all(v, scrub) for k, v in node.items()}
    if isinstance(node, list):
        return [_scrub_all(v, scrub) for v in node]
    return scrub(node) if isinstance(node, str) else node


def _scrubber(spec):
    secrets = []
    for holder, names in ((spec.connectwise, ("private_key", "client_id")),
                          (spec.notify.email, ("username", "password")),
                          (spec.notify.webhook, ("url",))):
        for name in names if holder is not None else ():
            value = getattr(holder, name)
            if value is not None and len(value.get_secret_value()) >= 4:
                secrets.append(value.get_secret_value())
    if spec.notify.webhook is not None:                 # the token part of a webhook URL
        parts = urlsplit(spec.notify.webhook.url.get_secret_value())
        secrets += [t for t in (parts.path, parts.query) if len(t) >= 8]
    # a line quotes a value as tasks.inert.alert renders it: scrub that form of a secret too
    secrets = sorted({s for s in (*secrets, *map(inert_alert, secrets)) if len(s) >= 4},
                     key=len, reverse=True)

    def scrub(text: str) -> str:
        for secret in secrets:
            text = text.replace(secret, "***")
        return text
    return scrub
