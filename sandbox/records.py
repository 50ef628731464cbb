"""Master data: ``/company/companies`` and ``/system/members``, read and ``PATCH``-ed.

``PATCH`` takes ConnectWise's JSON-Patch list, e.g.
``[{"op": "replace", "path": "accountNumber", "value": "ANGRYF01"}]`` (``path`` with or
without a leading ``/``; ``add`` is treated as ``replace``; ``remove`` empties a text field).
Edits are kept in the sandbox state, bump ``_info.lastUpdated``, and show in every later
read and export — this is how a user "fixes the data in ConnectWise".
"""

from __future__ import annotations

from typing import Any, Callable

from sandbox.api_errors import field_error, invalid, not_found
from sandbox.data import SandboxData
from sandbox.listing import Resource
from sandbox.state import SandboxState

EDITABLE = {
    "company": {"name": str, "identifier": str, "accountNumber": str, "vendorIdentifier": str,
                "addressLine1": str, "addressLine2": str, "city": str, "state": str,
                "zip": str, "phoneNumber": str, "faxNumber": str, "website": str,
                "taxIdentifier": str},
    "member": {"vendorNumber": str, "firstName": str, "lastName": str, "officeEmail": str,
               "inactiveFlag": bool},
}
MODEL = {"company": "Company", "member": "Member"}
LAST_UPDATED = {"lastUpdated": "_info/lastUpdated"}


def company_resource(data: SandboxData, version: Callable[[], int]) -> Resource:
    fields = frozenset(k for i in data.company_ids()[:1] + data.company_ids()[-1:]
                       for k in data.company(i))
    return Resource("Company", data.company_ids, lambda key, tier: data.company(key),
                    fields | {"_info"}, aliases=LAST_UPDATED, version=version)


def member_resource(data: SandboxData, version: Callable[[], int]) -> Resource:
    fields = frozenset(k for i in data.member_ids()[:1] for k in data.member(i))
    return Resource("Member", data.member_ids, lambda key, tier: data.member(key),
                    fields | {"_info"}, aliases=LAST_UPDATED, version=version)


def get_record(data: SandboxData, kind: str, record_id: int) -> dict:
    exists = data.has_company if kind == "company" else data.has_member
    if not exists(record_id):
        raise not_found(f"{MODEL[kind]} with id {record_id} not found")
    return data.company(record_id) if kind == "company" else data.member(record_id)


def _operation(kind: str, op: Any, errors: list[dict]) -> tuple[str, Any] | None:
    resource = MODEL[kind].lower()
    if not isinstance(op, dict):
        errors.append(field_error(resource, "body", "each patch operation must be an object"))
        return None
    name = str(op.get("path", "")).strip("/")
    kind_of = EDITABLE[kind].get(name)
    if op.get("op") not in ("replace", "add", "remove"):
        errors.append(field_error(resource, name or "op", f"unsupported op {op.get('op')!r}; "
                                  "use replace"))
    elif kind_of is None:
        known = ", ".join(EDITABLE[kind])
        errors.append(field_error(resource, name or "path",
                                  f"{name!r} cannot be patched here; editable: {known}"))
    elif op["op"] == "remove":
        return name, "" if kind_of is str else False
    elif not isinstance(op.get("value"), kind_of):
        errors.append(field_error(resource, name, f"{name} must be "
                                  f"{'text' if kind_of is str else 'true or false'}"))
    elif kind_of is str and len(op["value"]) > 50:
        errors.append(field_error(resource, name, f"{name} is longer than 50 characters"))
    else:
        return name, op["value"]
    return None


def patch_record(data: SandboxData, state: SandboxState, kind: str, record_id: int,
                 body: Any) -> dict:
    current = get_record(data, kind, record_id)
    resource = MODEL[kind].lower()
    if not isinstance(body, list) or not body:
        raise invalid(resource, field_error(resource, "body", "PATCH takes a JSON-Patch list: "
                                            '[{"op": "replace", "path": "accountNumber", '
                                            '"value": "NEWREF01"}]'))
    errors: list[dict] = []
    changes = dict(c for op in body if (c := _operation(kind, op, errors)) is not None)
    if errors:
        raise invalid(resource, errors)
    state.edit(kind, record_id, changes, current.get("_info", {}).get("lastUpdated", ""))
    return get_record(data, kind, record_id)
