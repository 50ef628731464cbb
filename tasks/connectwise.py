"""A plain ConnectWise PSA REST client: auth, pagination, retry classification.

No Prefect here. Errors are sorted as ``tasks.errors`` describes: 429, 5xx, timeouts, dropped
connections and responses cut off mid-body are ``RetriableError`` (after this client's own
bounded retries with back-off, honouring ``Retry-After``); 401/403/404 and other 4xx are
``FatalError``. Calls with side effects (creating a batch) are never retried blindly: the
caller checks whether the first attempt took effect.

Credentials live only in the session's headers; no message, log line or exception from this
module contains them.
"""

from __future__ import annotations

import base64
import json
import logging
import random
import re
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Callable, Iterator

import requests

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
                                         f"(gave up after {attempts} attempts)") from exc
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
        except requests.ConnectionError as exc:
            raise _Transient(f"connection failed ({type(exc).__name__})") from exc
        except (requests.exceptions.ChunkedEncodingError,
                requests.exceptions.ContentDecodingError) as exc:
            raise _Transient("the response was cut off") from exc
        if response.status_code in RETRY_STATUSES:
            wait = _retry_after(response, 5.0) if response.status_code == 429 else None
            raise _Transient(f"HTTP {response.status_code} {_error_text(response)}", wait)
        if response.status_code >= 400:
            raise FatalError(self._fatal_text(what, response))
        return self._body(response), response

    def _body(self, response: requests.Response) -> Any:
        if response.status_code == 204 or not response.content:
            return None
        try:
            return json.loads(response.content, parse_float=Decimal)
        except ValueError as exc:
            raise _Transient("the response was cut off or is not JSON") from exc

    def _fatal_text(self, what: str, response: requests.Response) -> str:
        status = response.status_code
        hint = {401: " — check CW_COMPANY, CW_PUBLIC_KEY and CW_PRIVATE_KEY",
                403: " — check CW_CLIENT_ID and the API member's security role "
                     "(Finance > Accounting Interface)",
                404: " — check CW_BASE_URL (…/v4_6_release/apis/3.0)"}.get(status, "")
        return f"ConnectWise {what}: HTTP {status} {_error_text(response)}{hint}"


class _Transient(Exception):
    def __init__(self, text: str, wait: float | None = None):
        super().__init__(text)
        self.text = text
        self.wait = wait


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"cannot send {type(value).__name__} as JSON")
