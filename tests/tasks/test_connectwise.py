"""The ConnectWise client against a scripted HTTP server on loopback: retry classification,
Retry-After, pagination, cut-off bodies, and no secret in any message. Connections no retry
can fix (refused, a name that does not resolve, TLS) are made for real: a closed loopback port,
a name under the reserved ``.invalid`` TLD, a plain-HTTP and a self-signed HTTPS server."""

from __future__ import annotations

import datetime
import ipaddress
import json
import shutil
import socket
import ssl
import struct
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from tasks.connectwise import (CERTIFICATE, REFUSED, TLS, UNRESOLVED, ConnectWiseClient,
                               Credentials, origin, unreachable)
from tasks.errors import FatalError, RetriableError

CREDS = Credentials("acme", "pub-key", "very-secret-private", "client-guid-123")


class Scripted(ThreadingHTTPServer):
    """Answers each request with the next scripted response: (status, headers, body)."""

    daemon_threads = True

    def __init__(self, script):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.script = list(script)
        self.requests: list[tuple[str, str, dict]] = []
        self.connections = 0

    def process_request(self, request, client_address):
        self.connections += 1          # before any TLS handshake or request line is read
        super().process_request(request, client_address)

    def handle_error(self, request, client_address):
        pass                            # a refused handshake or a reset is the test's point


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
        if status == "reset":          # the connection drops before any answer
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
            self.close_connection = True
            return
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

    def start(*script, tls: ssl.SSLContext | None = None, scheme: str = "http",
              max_attempts: int = 3):
        server = Scripted(script)
        if tls:
            server.socket = tls.wrap_socket(server.socket, server_side=True,
                                            do_handshake_on_connect=False)
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        servers.append(server)
        base = f"{scheme}://127.0.0.1:{server.server_address[1]}/v4_6_release/apis/3.0"
        return server, client_for(base, max_attempts)

    def client_for(base: str, max_attempts: int = 3) -> ConnectWiseClient:
        return ConnectWiseClient(base, CREDS, timeout=0.5, max_attempts=max_attempts,
                                 backoff=0.01, sleep=lambda s: sleeps.append(s))

    sleeps: list[float] = []
    start.sleeps, start.client_for = sleeps, client_for
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
    with pytest.raises(RetriableError, match=r"HTTP 502 .*\(gave up after 3 attempts\)$"):
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
    assert text == (f"ConnectWise at {origin(client.base_url)}: the API keys were refused "
                    "(GET /x: HTTP 401 Unauthorized bad credentials) — check "
                    "CW_PUBLIC_KEY/CW_PRIVATE_KEY and the company id (CW_COMPANY)")
    assert "very-secret-private" not in text and "client-guid-123" not in text
    assert len(server.requests) == 1 and serve.sleeps == []


def test_403_names_the_path_and_the_role(serve):
    server, client = serve((403, {}, {"code": "Forbidden", "message": "no access"}))
    with pytest.raises(FatalError) as caught:
        client.count("/finance/accounting/batches")
    assert str(caught.value) == (
        f"ConnectWise at {origin(client.base_url)}: the API member lacks permission for "
        "GET /finance/accounting/batches/count (HTTP 403 Forbidden no access) — give its "
        "security role Finance > Accounting Interface, and check CW_CLIENT_ID")
    assert len(server.requests) == 1 and serve.sleeps == []


def test_400_error_body_is_quoted(serve):
    body = {"code": "InvalidObject", "message": "createAccountingBatchRequest object is invalid",
            "errors": [{"code": "InvalidField", "message": "Cannot find GLEntryRecIDList",
                        "field": "processedRecordIds"}]}
    server, client = serve((400, {}, body))
    with pytest.raises(FatalError, match="processedRecordIds: Cannot find GLEntryRecIDList"):
        client.post("/finance/accounting/batches", {"processedRecordIds": []}, retry=False)


def test_side_effect_calls_are_not_retried_and_do_not_say_they_were(serve):
    server, client = serve((500, {}, b"oops"), (200, {}, {"id": 9}))
    with pytest.raises(RetriableError) as caught:
        client.post("/finance/accounting/batches", {"processedRecordIds": [1]}, retry=False)
    assert len(server.requests) == 1
    assert str(caught.value) == (
        "ConnectWise POST /finance/accounting/batches: HTTP 500 oops (tried once: a call that "
        "changes ConnectWise is repeated only after checking that it did not take effect)")


def test_one_attempt_is_said_as_one(serve):
    server, client = serve((503, {}, b"busy"), max_attempts=1)
    with pytest.raises(RetriableError) as caught:
        client.get("/x")
    assert str(caught.value).endswith("HTTP 503 busy (tried once: connectwise.max_attempts is 1)")
    assert "gave up" not in str(caught.value) and len(server.requests) == 1


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


# -- connections no retry can fix, made for real ------------------------------------------
class CountingAdapter(requests.adapters.HTTPAdapter):
    """Counts the requests the client hands to the transport: one per attempt."""

    def __init__(self):
        super().__init__()
        self.sent = 0

    def send(self, *args, **kwargs):
        self.sent += 1
        return super().send(*args, **kwargs)


def _counted(client: ConnectWiseClient) -> CountingAdapter:
    adapter = CountingAdapter()
    for prefix in ("http://", "https://"):
        client.session.mount(prefix, adapter)
    return adapter


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _fails_once(client: ConnectWiseClient, sent) -> str:
    started = time.monotonic()
    with pytest.raises(FatalError) as caught:
        client.count("/finance/accounting/unpostedinvoices")
    assert time.monotonic() - started < 2 and sent() == 1
    text = str(caught.value)
    assert "\n" not in text and "very-secret-private" not in text and "pub-key" not in text
    return text


def test_a_refused_connection_fails_at_once_naming_the_host(serve):
    base = f"http://127.0.0.1:{_closed_port()}/v4_6_release/apis/3.0"
    client = serve.client_for(base, max_attempts=5)
    adapter = _counted(client)
    assert _fails_once(client, lambda: adapter.sent) == (
        f"ConnectWise at {origin(base)} refused the connection — check connectwise.base_url "
        "(CW_BASE_URL) and that the server is up")
    assert serve.sleeps == []


def test_a_name_that_does_not_resolve_fails_at_once(serve):
    client = serve.client_for("https://cwsage-test.invalid/v4_6_release/apis/3.0", 5)
    adapter = _counted(client)
    text = _fails_once(client, lambda: adapter.sent)
    assert text.startswith("ConnectWise at https://cwsage-test.invalid: the name cannot be "
                           "resolved (")
    assert text.endswith(") — check the host in connectwise.base_url (CW_BASE_URL) and the DNS")


def test_https_to_a_plain_http_port_fails_at_once(serve):
    server, client = serve((200, {}, {"count": 1}), scheme="https", max_attempts=5)
    text = _fails_once(client, lambda: server.connections)
    assert text == (f"ConnectWise at {origin(client.base_url)}: TLS handshake failed "
                    "(wrong version number) — check connectwise.base_url's scheme and port "
                    "(https:// to a plain-HTTP port?)")
    assert server.requests == []


def test_a_self_signed_certificate_fails_at_once(serve, tmp_path, monkeypatch):
    cert, key = _self_signed(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    server, client = serve((200, {}, {"count": 4}), tls=context, scheme="https",
                           max_attempts=5)
    text = _fails_once(client, lambda: server.connections)
    assert text == (f"ConnectWise at {origin(client.base_url)}: TLS certificate could not be "
                    "verified (self-signed certificate) — check that connectwise.base_url "
                    "names the server's own host; a private CA's certificate goes in "
                    "REQUESTS_CA_BUNDLE")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert))      # the fix the message gives
    assert client.count("/finance/accounting/unpostedinvoices") == 4


def test_a_connection_dropped_before_the_answer_is_retried(serve):
    server, client = serve(("reset", {}, b""), (200, {}, {"count": 2}))
    assert client.count("/x") == 2
    assert len(server.requests) == 2 and len(serve.sleeps) == 1


def test_a_server_that_answered_then_refuses_is_retried_as_restarting(serve):
    server, client = serve((200, {}, {"count": 1}))
    assert client.count("/x") == 1
    server.shutdown()
    server.server_close()                      # the port now refuses, as during a restart
    with pytest.raises(RetriableError) as caught:
        client.count("/x")
    assert str(caught.value) == ("ConnectWise GET /x/count: connection failed (connection "
                                 "refused) (gave up after 3 attempts)")
    assert len(serve.sleeps) == 2


def test_a_proxy_that_cannot_be_reached_is_named_as_the_proxy(serve):
    client = serve.client_for("http://cw.invalid/v4_6_release/apis/3.0", 5)
    client.session.proxies = {"http": f"http://127.0.0.1:{_closed_port()}"}
    client.session.trust_env = False
    adapter = _counted(client)
    assert _fails_once(client, lambda: adapter.sent) == (
        "ConnectWise at http://cw.invalid: the proxy could not be reached (connection "
        "refused) — check HTTPS_PROXY, HTTP_PROXY and NO_PROXY")


@pytest.mark.parametrize("text, kind", [
    ("HTTPSConnectionPool: Max retries exceeded (Caused by NewConnectionError("
     "'<conn>: Failed to establish a new connection: [WinError 10061] No connection could be "
     "made because the target machine actively refused it'))", REFUSED),
    ("Failed to resolve 'cw.example' ([Errno 11001] getaddrinfo failed)", UNRESOLVED),
    ("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get local issuer "
     "certificate (_ssl.c:1006)", CERTIFICATE),
    ("[SSL: TLSV1_ALERT_PROTOCOL_VERSION] tlsv1 alert protocol version", TLS),
    ("('Connection aborted.', ConnectionResetError(104, 'Connection reset by peer'))", None),
    ("[SSL: UNEXPECTED_EOF_WHILE_READING] EOF occurred in violation of protocol", None),
])
def test_the_words_decide_when_the_types_are_unknown(text, kind):
    found = unreachable(requests.exceptions.ConnectionError(text))
    assert (found.kind if found else None) == kind


def test_origin_keeps_neither_path_nor_credentials():
    assert origin("https://user:pw@cw.example:8443/v4_6_release/apis/3.0?x=1") == \
        "https://cw.example:8443"


def _self_signed(folder) -> tuple:
    """A throwaway certificate for 127.0.0.1: ``cryptography`` when installed, else openssl."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID
    except ImportError:
        if not shutil.which("openssl"):
            pytest.skip("neither the cryptography package nor openssl is available")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", str(key), "-out",
                        str(cert), "-days", "1", "-subj", "/CN=127.0.0.1", "-addext",
                        "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
        return cert, key
    private = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                   .public_key(private.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(minutes=5))
                   .not_valid_after(now + datetime.timedelta(days=1))
                   .add_extension(x509.SubjectAlternativeName(
                       [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
                   .add_extension(x509.BasicConstraints(ca=True, path_length=None),
                                  critical=True)
                   .sign(private, hashes.SHA256()))
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key.write_bytes(private.private_bytes(serialization.Encoding.PEM,
                                          serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    return cert, key
