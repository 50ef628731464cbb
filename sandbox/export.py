"""``POST /finance/accounting/export``: the GLExport of unposted documents
(docs/connectwise-behaviour.md, "The GL export").

The export has no side effects: it reads the documents that are in no batch, narrowed by the
request's include/exclude id lists, ``thruDate`` (compared with the document date) and
``locationId``. ``POST /finance/accounting/batches/{id}/export`` rebuilds the payload of an
already posted batch the same way, from that batch's documents.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterable

from sandbox.api_errors import field_error, invalid
from sandbox.conditions import to_datetime
from sandbox.data import DocumentKind, SandboxData
from sandbox.state import SandboxState

EXPORT = "exportAccountingBatchRequest"
SECTIONS = ("customers", "transactions", "vendors", "expenseBills", "purchaseTransactions",
            "expenses", "adjustmentTransactions", "inventoryTransfers")
NO_FLAG = "Batch must export Invoices, Expenses or Products"


@dataclass(frozen=True)
class ExportRequest:
    kinds: list[DocumentKind]
    included: dict[str, set[int]]          # kind -> document indexes (absent = all)
    excluded: dict[str, set[int]]
    thru: datetime | None
    location: int | None


def require_object(body: Any, resource: str) -> dict:
    if not isinstance(body, dict):
        raise invalid(resource, field_error(resource, "body",
                                            f"expected a JSON object, got {type(body).__name__}"))
    return body


def flags(body: dict, resource: str, errors: list[dict]) -> dict[str, bool]:
    values = {}
    for flag in ("exportInvoicesFlag", "exportExpensesFlag", "exportProductsFlag"):
        value = body.get(flag, False)
        if value is None:
            value = False
        if not isinstance(value, bool):
            errors.append(field_error(resource, flag, f"{flag} must be true or false"))
            value = False
        values[flag] = value
    if not any(values.values()) and not errors:
        errors.append(field_error(resource, "exportInvoicesFlag", NO_FLAG))
    return values


def batch_identifier(body: dict, resource: str, errors: list[dict]) -> str | None:
    value = body.get("batchIdentifier")
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        errors.append(field_error(resource, "batchIdentifier", "batchIdentifier must be text"))
    elif len(value) > 50:
        errors.append(field_error(resource, "batchIdentifier",
                                  f"batchIdentifier is {len(value)} characters; at most 50"))
    return value if isinstance(value, str) else None


def _ids(body: dict, name: str, kind: DocumentKind, errors: list[dict]) -> set[int] | None:
    """The document indexes named by an include/exclude list; None when the list is absent."""
    values = body.get(name)
    if values is None or values == []:
        return None
    if not isinstance(values, list):
        errors.append(field_error(EXPORT, name, f"{name} must be a list"))
        return None
    wrong = [v for v in values if isinstance(v, bool) or not isinstance(v, kind.id_type)]
    if wrong:
        noun = "integers" if kind.id_type is int else "strings"
        errors.append(field_error(EXPORT, name, f"{name} must list document ids as {noun}; "
                                  f"got {wrong[:5]!r}"))
    found = {kind.index_of(v) for v in values if v not in wrong}
    found.discard(None)
    return found  # type: ignore[return-value]


def _thru(body: dict, errors: list[dict]) -> datetime | None:
    value = body.get("thruDate")
    if value in (None, ""):
        return None
    parsed = to_datetime(value)
    if parsed is None:
        errors.append(field_error(EXPORT, "thruDate",
                                  f"thruDate must be a date-time such as 2026-10-31T23:59:59Z, "
                                  f"got {value!r}"))
    return parsed


def _location(body: dict, errors: list[dict]) -> int | None:
    value = body.get("locationId")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        errors.append(field_error(EXPORT, "locationId", "locationId must be a whole number"))
        return None
    return value


def parse_export(data: SandboxData, body: Any) -> ExportRequest:
    body, errors = require_object(body, EXPORT), []
    chosen = flags(body, EXPORT, errors)
    batch_identifier(body, EXPORT, errors)
    kinds = [k for k in data.kinds.values() if chosen.get(k.flag)]
    included = {k.kind: ids for k in kinds
                if (ids := _ids(body, k.included, k, errors)) is not None}
    excluded = {k.kind: ids for k in kinds
                if (ids := _ids(body, k.excluded, k, errors)) is not None}
    request = ExportRequest(kinds, included, excluded, _thru(body, errors),
                            _location(body, errors))
    if errors:
        raise invalid(EXPORT, errors)
    return request


def _candidates(kind: DocumentKind, request: ExportRequest,
                pool: Iterable[int]) -> list[int]:
    chosen = request.included.get(kind.kind)
    indexes = sorted(set(pool) & chosen) if chosen is not None else list(pool)
    skip = request.excluded.get(kind.kind, set())
    thru = request.thru
    out = []
    for index in indexes:
        if index in skip:
            continue
        if thru is not None and _midnight(kind.document_date(index)) > thru:
            continue
        if request.location is not None and kind.location(index) != request.location:
            continue
        out.append(index)
    return out


def _midnight(value) -> datetime:
    return datetime(value.year, value.month, value.day, tzinfo=timezone.utc)


def build_export(data: SandboxData, request: ExportRequest,
                 pools: dict[str, Iterable[int]]) -> dict:
    """The GLExport of the documents in ``pools`` (kind -> indexes) that the request selects."""
    export: dict[str, Any] = {"exportSettings": {}}
    export.update((section, []) for section in SECTIONS)
    for kind in request.kinds:
        indexes = _candidates(kind, request, pools.get(kind.kind, ()))
        export[kind.section].extend(kind.document(index) for index in indexes)
        for section, parties in kind.parties(indexes).items():
            export[section].extend(parties)
    return export


def export_unposted(data: SandboxData, state: SandboxState, body: Any) -> dict:
    request = parse_export(data, body)
    with state.lock:
        pools = {kind.kind: list(state.unposted(kind.kind)) for kind in request.kinds}
    return build_export(data, request, pools)
