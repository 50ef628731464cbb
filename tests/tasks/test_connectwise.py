"""The ConnectWise client against a scripted HTTP server on loopback: retry classification,
Retry-After, pagination, cut-off bodies, and no secret in any message."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tasks.connectwise import ConnectWiseClient, Credentials
from tasks.errors import FatalError, RetriableError

CREDS = Credentials("acme", "pub-key", "very-secret-private", "client-guid-123")


class Scripted(ThreadingHTTPServer):
    """Answers each request with the next scripted response: (status, headers, body)."""

    daemon_threads = True

    def __init__(self, script):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.script = list(script)
        self.requests: list[tuple[str, str, dict]] = []


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.server.requests.append((self.command, self.path, dict(self.headers), body))
        status, headers, payload = self.server.script.pop(0)
        if status == "sleep":
            time.sleep(headers)
            status, headers, payload = 200, {}, b"[]"
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data) if status != "cut" else len(data) + 50))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_DELETE = _answer


@pytest.fixture
def serve():
    servers = []

    def start(*script):
        server = Scripted(script)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        base = f"http://127.0.0.1:{server.server_address[1]}/v4_6_release/apis/3.0"
        client = ConnectWiseClient(base, CREDS, timeout=0.5, max_attempts=3, backoff=0.01,
                                   sleep=lambda s: sleeps.append(s))
        return server, client

    sleeps: list[float] = []
    start.sleeps = sleeps
    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_auth_headers(serve):
    server, client = serve((200, {}, {"count": 3}))
    assert client.count("/finance/accounting/unpostedinvoices", "id > 5") == 3
    _, path, headers, _ = server.requests[0]
    assert path == ("/v4_6_release/apis/3.0/finance/accounting/unpostedinvoices/count"
                    "?conditions=id+%3E+5")
    import base64
    assert headers["Authorization"] == "Basic " + base64.b64encode(
        b"acme+pub-key:very-secret-private").decode()
    assert headers["clientId"] == "client-guid-123"
    assert headers["Accept"].startswith("application/vnd.connectwise.com+json")


def test_429_honours_retry_after_then_succeeds(serve):
    server, client = serve((429, {"Retry-After": "7"}, {"code": "TooMany", "message": "slow"}),
                           (200, {}, [{"id": 1}]))
    assert client.get("/x") == [{"id": 1}]
    assert serve.sleeps == [7.0]


def test_5xx_is_retried_with_backoff_then_gives_up_as_retriable(serve):
    server, client = serve((500, {}, {"code": "ConnectWiseApi", "message": "boom"}),
                           (503, {}, b"unavailable"), (502, {}, b""))
    with pytest.raises(RetriableError, match=r"HTTP 502 .*gave up after 3 attempts"):
        client.get("/x")
    assert len(server.requests) == 3 and len(serve.sleeps) == 2


def test_timeout_and_cut_off_json_are_retried(serve):
    server, client = serve(("sleep", 1.0, None), (200, {}, b'[{"id": 1}, {"id"'),
                           (200, {}, [{"id": 2}]))
    assert client.get("/x") == [{"id": 2}]
    assert len(server.requests) == 3


def test_401_is_fatal_and_names_the_variables_not_the_secret(serve):
    server, client = serve((401, {}, {"code": "Unauthorized", "message": "bad credentials"}))
    with pytest.raises(FatalError) as caught:
        client.get("/x")
    text = str(caught.value)
    assert "HTTP 401 Unauthorized bad credentials" in text and "CW_PRIVATE_KEY" in text
    assert "very-secret-private" not in text and "client-guid-123" not in text
    assert len(server.requests) == 1


def test_400_error_body_is_quoted(serve):
    body = {"code": "InvalidObject", "message": "createAccountingBatchRequest object is invalid",
            "errors": [{"code": "InvalidField", "message": "Cannot find GLEntryRecIDList",
                        "field": "processedRecordIds"}]}
    server, client = serve((400, {}, body))
    with pytest.raises(FatalError, match="processedRecordIds: Cannot find GLEntryRecIDList"):
        client.post("/finance/accounting/batches", {"processedRecordIds": []}, retry=False)


def test_side_effect_calls_are_not_retried(serve):
    server, client = serve((500, {}, b"oops"), (200, {}, {"id": 9}))
    with pytest.raises(RetriableError):
        client.post("/finance/accounting/batches", {"processedRecordIds": [1]}, retry=False)
    assert len(server.requests) == 1


def test_pages_follow_the_next_link(serve):
    server, client = serve((200, {}, {}), (200, {}, {}), (200, {}, {}))
    base = client.base_url
    server.script = [
        (200, {"Link": f'<{base}/l?page=2&pageSize=2>; rel="next", <{base}/l?page=3>; rel="last"'},
         [{"id": 1}, {"id": 2}]),
        (200, {"Link": f'<{base}/l?page=1>; rel="first", <{base}/l?page=3&pageSize=2>; rel="next"'},
         [{"id": 3}, {"id": 4}]),
        (200, {"Link": f'<{base}/l?page=1>; rel="first"'}, [{"id": 5}]),
    ]
    pages = list(client.pages("/l", {"pageSize": 2}))
    assert [r["id"] for page in pages for r in page] == [1, 2, 3, 4, 5]
    assert server.requests[1][1].endswith("/l?page=2&pageSize=2")
