"""The routes of the sandbox, independent of the HTTP transport.

``SandboxApi.handle`` takes a ``Request`` (method, path below ``/v4_6_release/apis/3.0``,
query, body, headers) and returns a ``Response``; every error is a ConnectWise error body.
Authentication is checked first on every route, unknown routes included
(docs/connectwise-behaviour.md, "Authentication").
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from sandbox import records
from sandbox.api_errors import ApiError, field_error, invalid, not_found
from sandbox.batching import batch_documents, create_batch
from sandbox.data import SandboxData
from sandbox.entries import batch_entries_resource
from sandbox.export import build_export, export_unposted, parse_export
from sandbox.faults import FaultPlan, FaultSpecError
from sandbox.invoice_edits import edit_invoice, find_invoice, invoice_record
from sandbox.list_fixtures import ListFixture, load_list_fixtures
from sandbox.listing import Resource, count, list_page
from sandbox.state import SandboxState

UNPOSTED = {"unpostedinvoices": ("invoice", "UnpostedInvoice"),
            "unpostedexpenses": ("expense", "UnpostedExpense"),
            "unpostedprocurement": ("procurement", "UnpostedProcurement")}


@dataclass
class Request:
    method: str
    path: str                                   # below the API prefix, e.g. company/companies
    params: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    url: str = ""                               # the full request URL (for Link headers)
    inside: bool = True                         # the path was below the API prefix


@dataclass
class Response:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[Request, re.Match], Response]


class SandboxApi:
    def __init__(self, data: SandboxData, state: SandboxState, credentials: Mapping[str, str],
                 faults: FaultPlan | None = None,
                 fixtures: Mapping[str, Any] | None = None):
        self.data, self.state, self.credentials = data, state, dict(credentials)
        self.faults = faults or FaultPlan()
        self.resources = self._resources()
        self.routes = [(m, re.compile(p, re.IGNORECASE), h) for m, p, h in self._routes()]
        self.fixtures: list[ListFixture] = []
        self.add_fixtures(fixtures)

    def add_fixtures(self, fixtures: Mapping[str, Any] | None) -> None:
        """Serve more list endpoints from JSON files (``sandbox.list_fixtures``), each checked
        against what is already served; before the server starts."""
        added = load_list_fixtures(fixtures, self.serves)
        for fixture in added:
            self.routes += self._fixture_routes(fixture)
        self.fixtures += added

    def serves(self, path: str) -> bool:
        """Whether a route answers ``path`` (below the API prefix), whatever the method."""
        return any(pattern.fullmatch(path.strip("/")) for _, pattern, _ in self.routes)

    def _resources(self) -> dict[str, Resource]:
        resources = {name: self._unposted_resource(kind, model)
                     for name, (kind, model) in UNPOSTED.items() if kind in self.data.kinds}
        resources["companies"] = records.company_resource(self.data, self._version)
        resources["members"] = records.member_resource(self.data, self._version)
        batches = self.state.batches
        resources["batches"] = Resource(
            "AccountingBatch", lambda: sorted(batches), lambda key, tier: batches[key].record(),
            frozenset({"id", "batchIdentifier", "exportInvoicesFlag", "exportExpensesFlag",
                       "exportProductsFlag", "closedFlag", "_info"}),
            aliases=records.LAST_UPDATED, version=self._version)
        return resources

    def _routes(self) -> list[tuple[str, str, Handler]]:
        unposted = "|".join(self.resources.keys() & UNPOSTED.keys())
        lists = f"finance/accounting/(?P<res>{unposted}|batches)|company/(?P<co>companies)" \
                r"|system/(?P<mem>members)"
        batch = r"finance/accounting/batches/(?P<id>\d+)"
        return [
            ("GET", rf"(?:{lists})", self._list),
            ("GET", rf"(?:{lists})/count", self._count),
            ("GET", rf"(?:{lists})/(?P<id>\d+)", self._get_one),
            ("POST", r"finance/accounting/export", self._export),
            ("POST", r"finance/accounting/batches", self._create_batch),
            ("DELETE", batch, self._delete_batch),
            ("POST", rf"{batch}/export", self._reexport),
            ("GET", rf"{batch}/entries(?:/count)?", self._entries),
            ("GET", r"finance/invoices/(?P<id>\d+)", self._invoice),
            ("PATCH", r"finance/invoices/(?P<id>\d+)", self._edit_invoice),
            ("PATCH", r"company/companies/(?P<id>\d+)", self._patch),
            ("PATCH", r"system/members/(?P<id>\d+)", self._patch),
            ("GET", r"admin/faults", self._faults),
            ("POST", r"admin/faults", self._faults),
            ("DELETE", r"admin/faults", self._faults),
        ]

    # -- entry point ----------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        try:
            self.authenticate(request.headers)
            path = request.path.strip("/")
            if not request.inside and path.lower() != "admin/faults":
                raise not_found(f"No route for {request.method} /{path}; the API lives "
                                "under /v4_6_release/apis/3.0")
            handler, match = self.route(request.method, path)
            return handler(request, match)
        except ApiError as error:
            return Response(error.status, error.body(), dict(error.headers))

    def route(self, method: str, path: str) -> tuple[Handler, re.Match]:
        path = path.strip("/")
        allowed = []
        for route_method, pattern, handler in self.routes:
            match = pattern.fullmatch(path)
            if match and route_method == method:
                return handler, match
            if match:
                allowed.append(route_method)
        if allowed:
            raise ApiError(405, "MethodNotAllowed", f"The requested resource does not support "
                           f"http method '{method}' (allowed: {', '.join(sorted(allowed))})")
        raise not_found(f"No route for {method} /{path}")

    def authorised(self, headers: Mapping[str, str]) -> bool:
        try:
            self.authenticate(headers)
        except ApiError:
            return False
        return True

    def authenticate(self, headers: Mapping[str, str]) -> None:
        """401 for a bad or missing Authorization, 403 for a missing or unknown clientId."""
        expected = (f"{self.credentials['company']}+{self.credentials['public_key']}:"
                    f"{self.credentials['private_key']}")
        scheme, _, token = (headers.get("Authorization") or "").partition(" ")
        try:
            given = base64.b64decode(token.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            given = ""
        company, _, keys = given.partition("+")
        if scheme.lower() != "basic" or not _same_login(company, keys, expected):
            raise ApiError(401, "Unauthorized", "UserNotAuthenticated: send Authorization: "
                           "Basic base64('{company}+{publicKey}:{privateKey}')")
        client_id = headers.get("clientId")
        if client_id != self.credentials["client_id"]:
            state = "missing" if not client_id else "not a registered clientId"
            raise ApiError(403, "ConnectWiseApi", f"clientId header is required and must be "
                           f"the integration's registered id ({state})")

    # -- lists ----------------------------------------------------------------------------
    def _resource(self, match: re.Match) -> Resource:
        name = (match.group("res") or match.group("co") or match.group("mem")).lower()
        return self.resources[name]

    def _list(self, request: Request, match: re.Match) -> Response:
        forward = (request.headers.get("pagination-type") or "").lower() == "forward-only"
        rows, headers = list_page(self._resource(match), request.params, request.url, forward)
        return Response(200, rows, headers)

    def _count(self, request: Request, match: re.Match) -> Response:
        return Response(200, count(self._resource(match), request.params))

    def _get_one(self, request: Request, match: re.Match) -> Response:
        resource, key = self._resource(match), int(match.group("id"))
        if resource.name in ("Company", "Member"):
            kind = "company" if resource.name == "Company" else "member"
            return Response(200, records.get_record(self.data, kind, key))
        if resource.name == "AccountingBatch":
            return Response(200, self._batch(key).record())
        kind = self.data.kinds[UNPOSTED[match.group("res").lower()][0]]
        index = kind.row_index(key)
        if index is None or self.state.batch_of(kind.kind, index):
            raise not_found(f"{resource.name} with id {key} not found")
        return Response(200, kind.unposted_row(index, "full"))

    def _unposted_resource(self, kind_name: str, model: str) -> Resource:
        kind = self.data.kinds[kind_name]
        return Resource(model, lambda: self.state.unposted(kind_name), kind.unposted_row,
                        kind.fields, kind.tier, records.LAST_UPDATED, self._version)

    def _version(self) -> int:
        return self.state.version

    # -- lists served from a fixture (sandbox.list_fixtures) ------------------------------
    def _fixture_routes(self, fixture: ListFixture) -> list[tuple[str, re.Pattern, Handler]]:
        resource, path = fixture.resource(), re.escape(fixture.route)

        def listed(request: Request, match: re.Match) -> Response:
            forward = (request.headers.get("pagination-type") or "").lower() == "forward-only"
            rows, headers = list_page(resource, request.params, request.url, forward)
            return Response(200, rows, headers)

        def counted(request: Request, match: re.Match) -> Response:
            return Response(200, count(resource, request.params))

        def one(request: Request, match: re.Match) -> Response:
            index = fixture.index_of(int(match.group("id")))
            if index is None:
                raise not_found(f"{resource.name} with id {match.group('id')} not found")
            return Response(200, fixture.records[index])

        return [("GET", re.compile(p, re.IGNORECASE), h) for p, h in (
            (path, listed), (rf"{path}/count", counted), (rf"{path}/(?P<id>\d+)", one))]

    # -- accounting -----------------------------------------------------------------------
    def _export(self, request: Request, match: re.Match) -> Response:
        body = _json(request, "exportAccountingBatchRequest")
        return Response(200, export_unposted(self.data, self.state, body))

    def _create_batch(self, request: Request, match: re.Match) -> Response:
        body = _json(request, "createAccountingBatchRequest")
        return Response(201, create_batch(self.data, self.state, body).record())

    def _batch(self, batch_id: int):
        batch = self.state.batches.get(batch_id)
        if batch is None:
            raise not_found(f"AccountingBatch with id {batch_id} not found")
        return batch

    def _delete_batch(self, request: Request, match: re.Match) -> Response:
        self._batch(int(match.group("id")))
        self.state.delete_batch(int(match.group("id")))
        return Response(204)

    def _reexport(self, request: Request, match: re.Match) -> Response:
        batch = self._batch(int(match.group("id")))
        export_request = parse_export(self.data, _json(request, "exportAccountingBatchRequest"))
        pools = batch_documents(self.data, batch)
        return Response(200, build_export(self.data, export_request, pools))

    def _entries(self, request: Request, match: re.Match) -> Response:
        resource = batch_entries_resource(self.data, self._batch(int(match.group("id"))))
        if request.path.rstrip("/").lower().endswith("/count"):
            return Response(200, count(resource, request.params))
        rows, headers = list_page(resource, request.params, request.url)
        return Response(200, rows, headers)

    def _patch(self, request: Request, match: re.Match) -> Response:
        kind = "company" if request.path.strip("/").lower().startswith("company") else "member"
        body = _json(request, records.MODEL[kind].lower())
        return Response(200, records.patch_record(self.data, self.state, kind,
                                                  int(match.group("id")), body))

    def _invoice(self, request: Request, match: re.Match) -> Response:
        index = find_invoice(self.data, int(match.group("id")))
        return Response(200, invoice_record(self.data, self.state, index))

    def _edit_invoice(self, request: Request, match: re.Match) -> Response:
        """``PATCH /finance/invoices/{id}`` (see ``sandbox.invoice_edits``)."""
        body = _json(request, "invoice")
        return Response(200, edit_invoice(self.data, self.state, int(match.group("id")), body))

    def _faults(self, request: Request, match: re.Match) -> Response:
        """``/admin/faults``: GET shows, POST ``{"spec": "…"}`` adds, DELETE clears."""
        if request.method == "DELETE":
            self.faults.clear()
            return Response(204)
        if request.method == "POST":
            body = _json(request, "faults")
            spec = body.get("spec") if isinstance(body, dict) else None
            if not isinstance(spec, str):
                raise invalid("faults", field_error("faults", "spec", 'send {"spec": '
                                                    '"429@unpostedinvoices:2"}'))
            try:
                self.faults.add(spec)
            except FaultSpecError as exc:
                raise invalid("faults", field_error("faults", "spec", str(exc))) from None
        return Response(200, self.faults.describe())


def _same_login(company: str, keys: str, expected: str) -> bool:
    want_company, _, want_keys = expected.partition("+")
    return company.casefold() == want_company.casefold() and keys == want_keys


def _json(request: Request, resource: str) -> Any:
    try:
        return json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError) as exc:
        raise invalid(resource, field_error(resource, "body",
                                            f"the request body is not valid JSON: {exc}")) \
            from None
