"""The ConnectWise sandbox over HTTP: ``SandboxServer`` for code, ``main`` for the CLI.

``SandboxServer`` serves the routes of ``sandbox.api`` under ``/v4_6_release/apis/3.0`` with
the standard library's threading HTTP server (HTTP/1.1, keep-alive) and executes injected
faults (``sandbox.faults``), which need the socket itself.

    srv = SandboxServer(port=0, seed=7, invoices=120)
    srv.start()                 # serves in a daemon thread
    srv.base_url                # http://127.0.0.1:43123/v4_6_release/apis/3.0
    srv.stop()
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import parse_qsl, unquote, urlsplit

from sandbox.api import Request, Response, SandboxApi
from sandbox.data import DEFAULTS, SandboxData
from sandbox.faults import Fault, FaultPlan, FaultSpecError
from sandbox.fixtures import DocumentsError
from sandbox.list_fixtures import fixture_options
from sandbox.state import SandboxState, StateError

log = logging.getLogger("cwsage.sandbox")
PREFIX = "/v4_6_release/apis/3.0"
DEFAULT_CREDENTIALS = {"company": "sandbox", "public_key": "sandbox-public",
                       "private_key": "sandbox-private", "client_id": "sandbox-client"}
DEFAULT_PORT = 8765
ERROR_STATUSES = {"429": 429, "500": 500, "502": 502, "503": 503}


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address, app: "SandboxServer"):
        self.app = app
        self.open_sockets: set[socket.socket] = set()
        self.sockets_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request, client_address):
        with self.sockets_lock:
            self.open_sockets.add(request)
        super().process_request(request, client_address)

    def handle_error(self, request, client_address):
        """A client that went away (timeouts, injected faults) is not a server error."""
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)

    def shutdown_request(self, request):
        with self.sockets_lock:
            self.open_sockets.discard(request)
        super().shutdown_request(request)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "ConnectWiseSandbox/1.0"
    sys_version = ""
    timeout = 120                     # an idle keep-alive connection is closed after this
    disable_nagle_algorithm = True    # headers and body go out at once (no 40 ms stalls)

    def do_GET(self) -> None:
        self._serve()

    do_POST = do_PATCH = do_DELETE = do_PUT = do_GET

    def log_message(self, fmt: str, *args: Any) -> None:
        if self.server.app.verbose:
            super().log_message(fmt, *args)

    def _request(self) -> Request:
        length = self.headers.get("Content-Length") or "0"
        body = self.rfile.read(int(length)) if length.isdigit() else b""
        split = urlsplit(self.path)
        path = unquote(split.path)
        inside = path.lower().startswith(PREFIX.lower())
        host = self.headers.get("Host") or "%s:%s" % self.server.server_address[:2]
        return Request(self.command, path[len(PREFIX):] if inside else path,
                       dict(parse_qsl(split.query, keep_blank_values=True)), body,
                       self.headers, f"http://{host}{self.path}", inside)

    def _serve(self) -> None:
        app: SandboxServer = self.server.app
        request = self._request()
        fault = app.fault_for(request)
        if fault and fault.kind in ERROR_STATUSES:
            self._send(_fault_response(fault))
            return
        if fault and fault.kind == "timeout":
            app.stopping.wait(fault.seconds)
        response = _answer(app, request)
        if fault and fault.kind == "lose":
            self.close_connection = True
            return
        self._send(response, cut=bool(fault and fault.kind == "cut"))

    def _send(self, response: Response, cut: bool = False) -> None:
        data = b"" if response.body is None and response.status == 204 else \
            json.dumps(response.body, ensure_ascii=False, separators=(",", ":")).encode()
        self.send_response(response.status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("api-current-version", "2025.1")
        for name, value in response.headers.items():
            self.send_header(name, value)
        if cut:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(data[:len(data) // 2] if cut else data)


def _answer(app: "SandboxServer", request: Request) -> Response:
    try:
        return app.api.handle(request)
    except Exception as exc:                      # a sandbox bug: say so, keep serving
        log.exception("sandbox error on %s %s", request.method, request.path)
        return Response(500, {"code": "InternalServerError",
                              "message": f"sandbox error: {type(exc).__name__}: {exc}",
                              "errors": []})


def _fault_response(fault: Fault) -> Response:
    status = ERROR_STATUSES[fault.kind]
    if status == 429:
        return Response(429, {"code": "TooManyRequests", "message": "Too many requests; retry "
                              f"after {fault.seconds:g} seconds", "errors": []},
                        {"Retry-After": f"{fault.seconds:g}"})
    return Response(status, {"code": "InternalServerError" if status == 500 else "Unavailable",
                             "message": f"Injected fault: HTTP {status}", "errors": []})


class SandboxServer:
    """A local ConnectWise-compatible API with seeded data; ``port=0`` picks a free port.

    ``documents`` (a path to a GLExport-shaped JSON file, or the parsed dict) adds
    hand-written documents to the seeded ones (``sandbox.fixtures``); a bad one raises
    ``DocumentsError`` naming the file, the document and the field. ``fixtures`` (list path →
    JSON file of records) serves more list endpoints (``sandbox.list_fixtures``); a bad one
    raises ``ListFixtureError``.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, seed: int = 7,
                 invoices: int = 120, expenses: int = 40, procurement: int = 30,
                 broken_share: float = 0.08, state_file: str | Path | None = None, *,
                 lines_per_invoice: int = 4, faults: str | None = None,
                 documents: str | Path | dict | None = None,
                 fixtures: Mapping[str, str | Path] | None = None,
                 credentials: dict[str, str] | None = None, verbose: bool = False):
        self.host, self.verbose = host, verbose
        self.credentials = dict(credentials or DEFAULT_CREDENTIALS)
        self.data = SandboxData(seed, invoices, expenses, procurement, broken_share,
                                lines_per_invoice, documents)
        self.state = SandboxState(self.data.counts, self.data.options, state_file)
        self.data.edits = self.state.edits
        self.faults = FaultPlan(faults)
        self.api = SandboxApi(self.data, self.state, self.credentials, self.faults, fixtures)
        self.stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.httpd = _HttpServer((host, port), self)

    @property
    def port(self) -> int:
        return self.httpd.server_address[1]

    @property
    def base_url(self) -> str:
        host = "127.0.0.1" if self.host in ("", "0.0.0.0") else self.host
        return f"http://{host}:{self.port}{PREFIX}"

    def fault_for(self, request: Request) -> Fault | None:
        if not self.api.authorised(request.headers):
            return None
        return self.faults.take(request.method, request.path)

    def start(self) -> "SandboxServer":
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={
            "poll_interval": 0.1}, name=f"cw-sandbox-{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        if self._thread:
            self.httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        with self.httpd.sockets_lock:
            for sock in list(self.httpd.open_sockets):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        self.httpd.server_close()

    def wait(self) -> None:
        """Block until the server stops (Ctrl-C raises KeyboardInterrupt here)."""
        while self._thread and self._thread.is_alive():
            self._thread.join(0.5)

    def __enter__(self) -> "SandboxServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cwsage sandbox", description="Serve a local ConnectWise PSA API with seeded data "
        "of a UK managed-service provider (invoices, expenses, procurement).")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default %(default)s)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT,
                        help="port to listen on; 0 picks a free one (default %(default)s)")
    parser.add_argument("--seed", type=int, default=DEFAULTS["seed"],
                        help="the same seed always gives the same data (default %(default)s)")
    parser.add_argument("--invoices", type=int, default=DEFAULTS["invoices"], metavar="N",
                        help="invoices and credit memos (default %(default)s)")
    parser.add_argument("--expenses", type=int, default=DEFAULTS["expenses"], metavar="N",
                        help="expense bills (default %(default)s)")
    parser.add_argument("--procurement", type=int, default=DEFAULTS["procurement"], metavar="N",
                        help="purchase transactions (default %(default)s)")
    parser.add_argument("--broken-share", type=float, default=DEFAULTS["broken_share"],
                        metavar="F", help="share of documents with data problems (default "
                        "%(default)s)")
    parser.add_argument("--lines-per-invoice", type=int, default=DEFAULTS["lines_per_invoice"],
                        metavar="N", help="average invoice lines (default %(default)s)")
    parser.add_argument("--state", metavar="FILE", help="keep batches and edits in FILE "
                        "across restarts")
    parser.add_argument("--documents", metavar="FILE", help="also serve the hand-written "
                        "documents of FILE, a GLExport-shaped JSON object (transactions, "
                        "expenseBills, purchaseTransactions, customers, vendors, companies)")
    parser.add_argument("--fixture", action="append", default=[], metavar="PATH=FILE",
                        help="also serve GET PATH (a list endpoint, e.g. /finance/agreements/"
                        "additions) from FILE, a JSON array of records; repeatable")
    parser.add_argument("--faults", metavar="SPEC", help="inject faults, e.g. "
                        "'429@unpostedinvoices:2,lose@POST:batches:1' (see sandbox/faults.py)")
    parser.add_argument("--verbose", action="store_true", help="log every request")
    return parser


def _banner(srv: SandboxServer) -> str:
    c, data = srv.credentials, srv.data
    counts = data.counts
    return "\n".join([
        f"ConnectWise sandbox listening on {srv.base_url}",
        f"  {counts.get('invoice', 0)} invoices, {counts.get('expense', 0)} expense bills, "
        f"{counts.get('procurement', 0)} purchase transactions (seed {data.options['seed']}, "
        f"{len(data.broken_documents())} with data problems)",
        *([f"  including {data.fixture.count} hand-written document"
           f"{'' if data.fixture.count == 1 else 's'} from {data.fixture.name}"]
          if data.fixture else []),
        *[f"  {len(f.records)} record{'' if len(f.records) == 1 else 's'} at {f.path} from "
          f"{f.file}" for f in srv.api.fixtures],
        "Point cwsage at it with:",
        f"  export CW_BASE_URL={srv.base_url}",
        f"  export CW_COMPANY={c['company']}",
        f"  export CW_PUBLIC_KEY={c['public_key']}",
        f"  export CW_PRIVATE_KEY={c['private_key']}",
        f"  export CW_CLIENT_ID={c['client_id']}",
        "Press Ctrl-C to stop."])


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    """``cwsage sandbox`` / ``python -m sandbox``: serve until Ctrl-C; 2 on a usage error."""
    args = _parser().parse_args(argv)
    try:
        srv = SandboxServer(args.host, args.port, args.seed, args.invoices, args.expenses,
                            args.procurement, args.broken_share, args.state,
                            lines_per_invoice=args.lines_per_invoice, faults=args.faults,
                            documents=args.documents,
                            fixtures=fixture_options(args.fixture), verbose=args.verbose)
    except (StateError, FaultSpecError, DocumentsError, ValueError) as exc:
        print(f"cwsage sandbox: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"cwsage sandbox: cannot listen on {args.host}:{args.port} ({exc.strerror}); "
              "choose another --port (0 picks a free one)", file=sys.stderr)
        return 2
    print(_banner(srv), flush=True)
    # SIGINT explicitly too: a process started in the background inherits SIGINT ignored, and
    # Python then never turns Ctrl-C (or a supervisor's SIGINT) into KeyboardInterrupt.
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    srv.start()
    try:
        srv.wait()
    except KeyboardInterrupt:
        print("\nStopping the sandbox.", flush=True)
    finally:
        srv.stop()
    return 0
