"""Deterministic fault injection, to test how a client survives a misbehaving ConnectWise.

A spec is a comma-separated list of rules::

    rule   := fault ["=" seconds] "@" [METHOD ":"] route [":" count]
    fault  := 429 | 500 | 502 | 503 | timeout | cut | lose
    route  := the last path segment that is not an id or "count" — unpostedinvoices,
              unpostedexpenses, unpostedprocurement, export, batches, entries, companies,
              members — or * for every route

The next ``count`` (default 1) matching requests, after authentication, suffer the fault:

* ``429`` answers 429 with ``Retry-After: seconds`` (default 1); ``500``/``502``/``503``
  answer that status with a ConnectWise error body.
* ``timeout`` waits ``seconds`` (default 30) before answering normally — longer than the
  client's timeout, so the client gives up while the request still takes effect.
* ``cut`` runs the request, then sends a ``Content-Length`` for the whole body but only half
  of it, and closes the connection (a reply cut off mid-JSON).
* ``lose`` runs the request (a batch is created), then closes the connection without any
  answer.

Examples: ``429@unpostedinvoices:2``, ``500@export``, ``timeout=5@export:1``,
``cut@export:1``, ``lose@POST:batches:1``. Set with ``--faults`` or ``SandboxServer(faults=)``,
or at run time with ``POST /admin/faults {"spec": "..."}``; ``GET /admin/faults`` shows what
is left and ``DELETE /admin/faults`` clears it.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass

KINDS = ("429", "500", "502", "503", "timeout", "cut", "lose")
DEFAULT_SECONDS = {"429": 1.0, "timeout": 30.0}
ROUTES = ("unpostedinvoices", "unpostedexpenses", "unpostedprocurement", "export", "batches",
          "entries", "companies", "members", "*")
_RULE = re.compile(r"^(?P<kind>[A-Za-z0-9]+)(?:=(?P<seconds>\d+(?:\.\d+)?))?@"
                   r"(?:(?P<method>GET|POST|PATCH|DELETE|PUT):)?(?P<route>[A-Za-z*]+)"
                   r"(?::(?P<count>\d+))?$", re.IGNORECASE)


class FaultSpecError(ValueError):
    """A fault spec that does not parse; the message shows the grammar."""


@dataclass
class Fault:
    kind: str
    route: str
    method: str | None
    remaining: int
    seconds: float

    def text(self) -> str:
        seconds = f"={self.seconds:g}" if self.kind in DEFAULT_SECONDS else ""
        method = f"{self.method}:" if self.method else ""
        return f"{self.kind}{seconds}@{method}{self.route}:{self.remaining}"


def parse_rule(text: str) -> Fault:
    match = _RULE.match(text.strip())
    if not match or match.group("kind").lower() not in KINDS:
        raise FaultSpecError(f"bad fault rule {text.strip()!r}: write fault[=seconds]@"
                             f"[METHOD:]route[:count], fault one of {', '.join(KINDS)} "
                             "(e.g. 429@unpostedinvoices:2, lose@POST:batches:1)")
    kind = match.group("kind").lower()
    if match.group("route").lower() not in ROUTES:
        raise FaultSpecError(f"bad fault rule {text.strip()!r}: unknown route "
                             f"{match.group('route')!r}; routes: {', '.join(ROUTES)}")
    seconds = float(match.group("seconds") or DEFAULT_SECONDS.get(kind, 0.0))
    method = match.group("method").upper() if match.group("method") else None
    return Fault(kind, match.group("route").lower(), method, int(match.group("count") or 1),
                 seconds)


def route_name(path: str) -> str:
    """``finance/accounting/batches/7/export`` -> ``export``; ``…/unpostedinvoices/count`` ->
    ``unpostedinvoices``."""
    parts = [p.lower() for p in path.strip("/").split("/") if p and not p.isdigit()]
    parts = [p for p in parts if p != "count"]
    return parts[-1] if parts else ""


class FaultPlan:
    """The faults still to inject; thread-safe."""

    def __init__(self, spec: str | None = None):
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        if spec:
            self.add(spec)

    def add(self, spec: str) -> None:
        faults = [parse_rule(rule) for rule in spec.split(",") if rule.strip()]
        with self._lock:
            self._faults.extend(faults)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def describe(self) -> dict:
        with self._lock:
            return {"spec": ",".join(f.text() for f in self._faults),
                    "faults": [{"fault": f.kind, "route": f.route, "method": f.method,
                                "remaining": f.remaining, "seconds": f.seconds}
                               for f in self._faults]}

    def take(self, method: str, path: str) -> Fault | None:
        """The fault for this request, if any (one use of it is consumed)."""
        name = route_name(path)
        if name == "faults":
            return None
        with self._lock:
            for fault in self._faults:
                if fault.route in (name, "*") and fault.method in (None, method.upper()):
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._faults.remove(fault)
                    return fault
        return None
