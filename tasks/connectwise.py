"""A plain ConnectWise PSA REST client: auth, pagination, retry classification.

No Prefect here. Errors are sorted as ``tasks.errors`` describes: 429, 5xx, timeouts, dropped
connections and responses cut off mid-body are ``RetriableError`` (after this client's own
bounded retries with back-off, honouring ``Retry-After``); 401/403/404 and other 4xx are
``FatalError``, and so is a connection no retry can fix (``unreachable``: refused or a name
that does not resolve — unless the server answered earlier, so it may be restarting — and TLS
failures), raised at the first attempt in one line naming the host and the fix. Calls with
side effects are never retried blindly: the caller checks whether the first one took effect.

Credentials live only in the session's headers; no message, log line or exception from this
module contains them.
"""

from __future__ import annotations

import base64
import json
import logging
import random
import re
import socket
import ssl
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Callable, Iterator
from urllib.parse import urlsplit

import requests
from urllib3.exceptions import NameResolutionError, ProxyError as Urllib3ProxyError

from tasks.errors import FatalError, RetriableError

log = logging.getLogger("cwsage.connectwise")

ACCEPT = "application/vnd.connectwise.com+json; version=2025.1"
RETRY_STATUSES = {429, 500, 502, 503, 504}
MAX_RETRY_AFTER = 120.0
_NEXT_LINK = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')


@dataclass(frozen=True)
class Credentials:
    company: str
    public_key: str
    private_key: str = field(repr=False)
    client_id: str = field(repr=False)

    def authorization(self) -> str:
        raw = f"{self.company}+{self.public_key}:{self.private_key}".encode()
        return "Basic " + base64.b64encode(raw).decode()


def _retry_after(response: requests.Response, default: float) -> float:
    value = response.headers.get("Retry-After", "")
    try:
        return min(max(float(value), 0.0), MAX_RETRY_AFTER)
    except ValueError:
        return default


def _error_text(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200].strip() or response.reason
    if not isinstance(body, dict):
        return str(body)[:200]
    details = "; ".join(
        f"{e.get('field') or e.get('resource') or ''}: {e.get('message', '')}".strip(": ")
        for e in body.get("errors") or [] if isinstance(e, dict))
    text = f"{body.get('code', '')} {body.get('message', '')}".strip()
    return f"{text} ({details})" if details else text


# -- connections no retry can fix ---------------------------------------------------------
REFUSED, UNRESOLVED = "connection refused", "name not resolved"
CERTIFICATE, TLS = "certificate not verified", "TLS handshake failed"
_TYPES = ((ConnectionRefusedError, REFUSED), (socket.gaierror, UNRESOLVED),
          (NameResolutionError, UNRESOLVED), (ssl.SSLCertVerificationError, CERTIFICATE))
# Other platforms and wrappers: the words of the messages decide. The TLS words are handshake
# failures only — before the request goes out; a TLS error after it stays retriable.
_WORDS = ((REFUSED, re.compile(r"connection refused|actively refused|winerror 10061")),
          (UNRESOLVED, re.compile(r"failed to resolve|name or service not known|nodename nor "
                                  r"servname|getaddrinfo failed|name resolution")),
          (CERTIFICATE, re.compile(r"certificate verify failed|hostname mismatch")),
          (TLS, re.compile(r"wrong version number|unsupported protocol|unknown protocol|"
                           r"handshake failure|(?:tls|ssl)v\d* alert|no protocols available")))
_PHRASES = {REFUSED: " refused the connection", UNRESOLVED: ": the name cannot be resolved",
            CERTIFICATE: ": TLS certificate could not be verified", TLS: ": TLS handshake failed"}
CW_FIXES = {REFUSED: "check connectwise.base_url (CW_BASE_URL) and that the server is up",
            UNRESOLVED: "check the host in connectwise.base_url (CW_BASE_URL) and the DNS",
            CERTIFICATE: "check that connectwise.base_url names the server's own host; a "
                         "private CA's certificate goes in REQUESTS_CA_BUNDLE",
            TLS: "check connectwise.base_url's scheme and port (https:// to a plain-HTTP port?)"}


@dataclass(frozen=True)
class Unreachable:
    """Why a connection failed in a way that trying again will not change."""

    kind: str             # REFUSED, UNRESOLVED, CERTIFICATE or TLS: words a person reads
    detail: str = ""      # the resolver's or the TLS library's own words
    proxy: bool = False   # the proxy (HTTPS_PROXY …), not the server, could not be reached

    def message(self, service: str, url: str, fixes: dict[str, str]) -> str:
        """``ConnectWise at https://host refused the connection — check …``: one line."""
        if self.proxy:
            return (f"{service} at {origin(url)}: the proxy could not be reached ({self.kind})"
                    " — check HTTPS_PROXY, HTTP_PROXY and NO_PROXY")
        why = f" ({self.detail})" if self.detail else ""
        return f"{service} at {origin(url)}{_PHRASES[self.kind]}{why} — {fixes[self.kind]}"


def origin(url: str) -> str:
    """``scheme://host[:port]`` of ``url``: never its path, query or credentials."""
    return f"{urlsplit(url).scheme}://{urlsplit(url).netloc.rpartition('@')[2]}"


def unreachable(exc: BaseException) -> Unreachable | None:
    """Why a connection failed for good, or None (a timeout, a dropped connection). Reads what
    ``requests`` wraps (urllib3's ``MaxRetryError`` → ``NewConnectionError`` → the socket's or
    ssl's own error) by type, else by the words of the messages."""
    chain = _wrapped(exc)
    words = " ".join(str(e).lower().replace("_", " ") for e in chain)
    kind = next((k for e in chain for t, k in _TYPES if isinstance(e, t)), None) or \
        next((k for k, pattern in _WORDS if pattern.search(words)), None)
    proxy = any(isinstance(e, (requests.exceptions.ProxyError, Urllib3ProxyError))
                for e in chain)
    return Unreachable(kind, _detail(chain, kind), proxy) if kind else None


def _wrapped(exc: BaseException) -> list[BaseException]:
    """``exc`` and what it wraps (``reason``, exception ``args``, causes), outermost first."""
    found: list[BaseException] = []
    todo: list[Any] = [exc]
    while todo and len(found) < 20:
        e = todo.pop(0)
        if isinstance(e, BaseException) and not any(e is f for f in found):
            found.append(e)
            todo += [getattr(e, "reason", None), *e.args, e.__cause__, e.__context__]
    return found


def _detail(chain: list[BaseException], kind: str) -> str:
    for e in chain:
        if kind == UNRESOLVED and isinstance(e, socket.gaierror):
            return re.sub(r"^\[Errno [^]]*\]\s*", "", str(e))
        if kind == CERTIFICATE and isinstance(e, ssl.SSLCertVerificationError):
            return str(e.verify_message or e.reason)
        if kind != UNRESOLVED and isinstance(e, ssl.SSLError) and isinstance(e.reason, str):
            return e.reason.lower().replace("_", " ")
    return ""


class ConnectWiseClient:
    """Talks to ``{base_url}`` (e.g. ``https://host/v4_6_release/apis/3.0``)."""

    def __init__(self, base_url: str, credentials: Credentials, *, timeout: float = 30.0,
                 max_attempts: int = 5, backoff: float = 1.0,
                 sleep: Callable[[float], None] = time.sleep):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.max_attempts = max(1, max_attempts)
        self.backoff = backoff
        self.sleep = sleep
        self.answered = False         # once it has, a refusal is a restart: retried
        self.session = requests.Session()
        self.session.headers.update({
            "Authorization": credentials.authorization(), "clientId": credentials.client_id,
            "Accept": ACCEPT, "Content-Type": "application/json"})

    def close(self) -> None:
        self.session.close()

    # -- public calls -------------------------------------------------------------------
    def get(self, path: str, params: dict | None = None) -> Any:
        return self._request("GET", self._url(path), params=params)[0]

    def count(self, path: str, conditions: str | None = None) -> int:
        params = {"conditions": conditions} if conditions else None
        body = self.get(path.rstrip("/") + "/count", params)
        return int(body["count"])

    def pages(self, path: str, params: dict | None = None) -> Iterator[list[dict]]:
        """Yield every page of a list endpoint, following ``Link: rel="next"``."""
        url, query = self._url(path), dict(params or {})
        while url:
            body, response = self._request("GET", url, params=query)
            yield body
            match = _NEXT_LINK.search(response.headers.get("Link", ""))
            url, query = (match.group(1) if match else None), None

    def post(self, path: str, body: dict, *, retry: bool = True) -> Any:
        return self._request("POST", self._url(path), json_body=body, retry=retry)[0]

    def post_keep_bytes(self, path: str, body: dict) -> tuple[Any, bytes]:
        """POST an idempotent request; return the parsed body and the exact bytes received."""
        parsed, response = self._request("POST", self._url(path), json_body=body)
        return parsed, response.content

    def delete(self, path: str) -> None:
        self._request("DELETE", self._url(path))

    # -- internals ----------------------------------------------------------------------
    def _url(self, path: str) -> str:
        return self.base_url + "/" + path.lstrip("/")

    def _request(self, method: str, url: str, *, params=None, json_body=None,
                 retry: bool = True) -> tuple[Any, requests.Response]:
        attempts = self.max_attempts if retry else 1
        what = f"{method} {url.split('?')[0].replace(self.base_url, '')}"
        for attempt in range(1, attempts + 1):
            try:
                return self._once(method, url, params, json_body, what)
            except _Transient as exc:
                if attempt == attempts:
                    raise RetriableError(f"ConnectWise {what}: {exc.text} "
                                         f"({_tries(attempts, retry)})") from exc
                delay = exc.wait if exc.wait is not None else self._backoff(attempt)
                log.warning("ConnectWise %s: %s; retrying in %.1fs (attempt %d/%d)",
                            what, exc.text, delay, attempt, attempts)
                self.sleep(delay)
        raise AssertionError("unreachable")

    def _backoff(self, attempt: int) -> float:
        base = self.backoff * (2 ** (attempt - 1))
        return base + random.uniform(0, base / 2)

    def _once(self, method, url, params, json_body, what) -> tuple[Any, requests.Response]:
        data = None if json_body is None else json.dumps(json_body, default=_json_default)
        try:
            response = self.session.request(method, url, params=params, data=data,
                                            timeout=self.timeout)
        except requests.Timeout as exc:
            raise _Transient(f"no answer within {self.timeout:g}s") from exc
        except requests.ConnectionError as exc:      # SSLError and ProxyError too
            raise self._connection_failed(exc) from _wrapped(exc)[-1]     # a short traceback
        except (requests.exceptions.ChunkedEncodingError,
                requests.exceptions.ContentDecodingError) as exc:
            raise _Transient("the response was cut off") from exc
        self.answered = True
        if response.status_code in RETRY_STATUSES:
            wait = _retry_after(response, 5.0) if response.status_code == 429 else None
            raise _Transient(f"HTTP {response.status_code} {_error_text(response)}", wait)
        if response.status_code >= 400:
            raise FatalError(self._fatal_text(what, response))
        return self._body(response), response

    def _connection_failed(self, exc: requests.ConnectionError) -> Exception:
        """Fatal when no retry can fix it; but a server that answered earlier and now refuses
        or has no address may be restarting or failing over: that is retried."""
        gone = unreachable(exc)
        if gone and not (self.answered and gone.kind in (REFUSED, UNRESOLVED)):
            return FatalError(gone.message("ConnectWise", self.base_url, CW_FIXES))
        cause = gone.kind if gone else type(_wrapped(exc)[-1]).__name__
        return _Transient(f"connection failed ({cause})")

    def _body(self, response: requests.Response) -> Any:
        if response.status_code == 204 or not response.content:
            return None
        try:
            return json.loads(response.content, parse_float=Decimal)
        except ValueError as exc:
            raise _Transient("the response was cut off or is not JSON") from exc

    def _fatal_text(self, what: str, response: requests.Response) -> str:
        at, status = f"ConnectWise at {origin(self.base_url)}", response.status_code
        answer = f"HTTP {status} {_error_text(response)}"
        if status == 401:
            return (f"{at}: the API keys were refused ({what}: {answer}) — check "
                    "CW_PUBLIC_KEY/CW_PRIVATE_KEY and the company id (CW_COMPANY)")
        if status == 403:
            return (f"{at}: the API member lacks permission for {what} ({answer}) — give its "
                    "security role Finance > Accounting Interface, and check CW_CLIENT_ID")
        hint = " — check CW_BASE_URL (…/v4_6_release/apis/3.0)" if status == 404 else ""
        return f"ConnectWise {what}: {answer}{hint}"


def _tries(attempts: int, retry: bool) -> str:
    if not retry:                  # a side effect: the caller looks for it before trying again
        return ("tried once: a call that changes ConnectWise is repeated only after checking "
                "that it did not take effect")
    if attempts == 1:
        return "tried once: connectwise.max_attempts is 1"
    return f"gave up after {attempts} attempts"


class _Transient(Exception):
    def __init__(self, text: str, wait: float | None = None):
        super().__init__(text)
        self.text, self.wait = text, wait


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"cannot send {type(value).__name__} as JSON")
