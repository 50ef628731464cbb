"""Helpers for tests that talk to the sandbox over HTTP.

    with SandboxServer(port=0) as srv:
        cw = SandboxClient(srv)
        cw.get("/finance/accounting/unpostedinvoices/count").json()
"""

from __future__ import annotations

import base64
from typing import Any, Iterator

import requests

from sandbox.entries import expense_bill_gl_ids, invoice_gl_ids, purchase_gl_ids
from sandbox.server import SandboxServer

__all__ = ["SandboxClient", "authorization", "expense_bill_gl_ids", "invoice_gl_ids",
           "purchase_gl_ids"]


def authorization(credentials: dict[str, str]) -> str:
    raw = f"{credentials['company']}+{credentials['public_key']}:{credentials['private_key']}"
    return "Basic " + base64.b64encode(raw.encode()).decode()


class SandboxClient:
    """A ``requests`` session logged in to a running sandbox; paths are below ``base_url``."""

    def __init__(self, srv: SandboxServer, timeout: float = 30.0):
        self.base_url, self.timeout = srv.base_url, timeout
        self.session = requests.Session()
        self.session.headers.update({"Authorization": authorization(srv.credentials),
                                     "clientId": srv.credentials["client_id"]})

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self.timeout)
        return self.session.request(method, self.base_url + path, **kwargs)

    def get(self, path: str, **params: Any) -> requests.Response:
        return self.request("GET", path, params=params or None)

    def post(self, path: str, body: Any) -> requests.Response:
        return self.request("POST", path, json=body)

    def patch(self, path: str, body: Any) -> requests.Response:
        return self.request("PATCH", path, json=body)

    def delete(self, path: str) -> requests.Response:
        return self.request("DELETE", path)

    def all_pages(self, path: str, **params: Any) -> Iterator[dict]:
        """Every row of a list endpoint, following ``Link: rel="next"``."""
        response = self.get(path, **params)
        while True:
            response.raise_for_status()
            yield from response.json()
            following = response.links.get("next")
            if not following:
                return
            response = self.session.get(following["url"], timeout=self.timeout)

    def export(self, **body: Any) -> dict:
        response = self.post("/finance/accounting/export", body)
        response.raise_for_status()
        return response.json()
