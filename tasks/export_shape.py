"""The shape of a saved export (``cwsage export``'s file), checked before ``cwsage transform``
or ``cwsage preview`` reads it.

A file has the wrong *shape* when its documents are not a list of objects, a document's lines
are not a list, a party is not an object, a number is an object or a list, or it nests deeper
than any export does: nothing in it can then be read as ConnectWise's answer, so the whole file
is refused, every problem named by its JSON path
(``export.json: transactions[3].detail: expected a list of lines, got a number``). A wrong
*value* in the right place (text where ConnectWise sends a number, an unknown tax code) is not
a shape problem: the run's own checks hold that one document with its reason and fix.

A run's chunks come from ConnectWise and are not checked here: resolve holds a document it
cannot read (``tasks.entities.unreadable``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Union

from tasks.errors import ConfigError

MAX_PROBLEMS = 20          # listed; the rest are counted
MAX_DEPTH = 32             # an export nests about six levels; no reader needs more
ID, IDS, TEXT, NUMBER = "an id (a number or text)", "ids", "text", "a number"


@dataclass(frozen=True)
class Obj:
    """An object (``noun`` in messages) with these known fields."""
    noun: str
    fields: dict[str, "Kind"] = field(default_factory=dict)


@dataclass(frozen=True)
class Items:
    """A list of objects (each ``one``: a line, a document…) with these known fields and the
    ``required`` ones."""
    one: str
    fields: dict[str, "Kind"] = field(default_factory=dict)
    required: tuple[str, ...] = ()


Kind = Union[str, Obj, Items]

_COMPANY = Obj("the company", {"id": ID, "identifier": TEXT, "name": TEXT})
_CURRENCY = Obj("the currency", {"currencyCode": TEXT, "isoCode": TEXT})
_MEMBER = Obj("the member", {"id": ID, "identifier": TEXT, "name": TEXT})
_TAX_LEVELS = Items("tax level", {"taxCodeXref": TEXT, "taxAmount": NUMBER})
_LINE = {"id": ID, "glTypeId": TEXT, "accountNumber": TEXT, "total": NUMBER,
         "quantity": NUMBER, "taxCodeXref": TEXT, "description": TEXT, "memo": TEXT,
         "itemDescription": TEXT, "currency": _CURRENCY}
_HEADER = {"id": ID, "documentNumber": TEXT, "documentDate": TEXT, "dueDate": TEXT,
           "total": NUMBER, "currency": _CURRENCY, "company": _COMPANY}

DOCUMENTS: dict[str, dict[str, Kind]] = {
    "transactions": dict(_HEADER, companyAccountNumber=TEXT, stateTaxXref=TEXT,
                         salesTax=NUMBER, glEntryIds=IDS, taxLevels=_TAX_LEVELS,
                         detail=Items("line", dict(_LINE, glItemId=TEXT, itemPrice=NUMBER,
                                                    salesDescription=TEXT,
                                                    item=Obj("the item", {"identifier": TEXT})))),
    "expenseBills": dict(_HEADER, vendorNumber=TEXT, member=_MEMBER,
                         detail=Items("line", dict(_LINE, id=IDS, taxAmount=NUMBER,
                                                    company=_COMPANY))),
    "purchaseTransactions": dict(_HEADER, vendorInvoiceNumber=TEXT, vendorInvoiceDate=TEXT,
                                 vendorNumber=TEXT, vendorAccountNumber=TEXT,
                                 stateTaxXref=TEXT, taxLevels=_TAX_LEVELS,
                                 purchaseDetail=Items("line", _LINE),
                                 purchaseDetailTax=Items("tax line", dict(
                                     _LINE, taxRate=NUMBER, taxRatePercent=NUMBER))),
}
PARTIES: dict[str, Items] = {
    "companies": Items("company record", {"id": ID}),
    "customers": Items("customer", {"company": _COMPANY, "currency": _CURRENCY}),
    "vendors": Items("vendor", {"company": _COMPANY, "currency": _CURRENCY}),
}


def check_export(export: Any, entity, source_name: str) -> None:
    """Raise ConfigError listing every shape problem of ``export`` (see the module) for the
    pipeline's ``entity``, each as ``<source_name>: <JSON path>: <problem>``."""
    problems = _too_deep(export) or _shape(export, entity)
    if not problems:
        return
    shown = [f"{source_name}: {p}" for p in problems[:MAX_PROBLEMS]]
    if len(problems) > MAX_PROBLEMS:
        shown.append(f"{source_name}: … and {len(problems) - MAX_PROBLEMS} more problems")
    shown[-1] += ("; " if " — " in shown[-1] else " — ") + \
        "save the file again with `cwsage export` (it writes this format)"
    raise ConfigError(shown)


def json_problem(exc: Exception) -> str:
    """What the JSON decoder said of a saved export, in words a person can act on (a file
    nested thousands deep stops the decoder with RecursionError)."""
    if isinstance(exc, RecursionError):
        return "arrays or objects nested too deeply to read — no ConnectWise export is"
    return str(exc)


def _shape(export: Any, entity) -> list[str]:
    if not isinstance(export, dict):
        return [f"(top level): expected an export object ({{\"{entity.documents}\": […]}}), "
                f"got {_got(export)}"]
    if entity.documents not in export:
        return [f"{entity.documents}: missing — the file holds no {entity.name} documents; "
                "is it the export of another pipeline?"]
    out: list[str] = []
    documents = Items("document", DOCUMENTS.get(entity.documents, {"id": ID}), ("id",))
    _items(export[entity.documents], documents, entity.documents, out, nullable=False)
    for name, kind in PARTIES.items():
        if name in export and name != entity.documents:
            _items(export[name], kind, name, out, nullable=True)
    return out


def _check(value: Any, kind: Kind, path: str, out: list[str]) -> None:
    if isinstance(kind, Items):
        _items(value, kind, path, out, nullable=True)
    elif isinstance(kind, Obj):
        if value is not None and not isinstance(value, dict):
            out.append(f"{path}: expected an object ({kind.noun}), got {_got(value)}")
        elif value:
            _fields(value, kind.fields, path, out)
    elif not _SCALARS[kind](value):
        out.append(f"{path}: expected {_EXPECTED.get(kind, kind)}, got {_got(value)}")


def _items(value: Any, kind: Items, path: str, out: list[str], nullable: bool) -> None:
    if value is None and nullable:
        return
    if not isinstance(value, list):
        out.append(f"{path}: expected a list of {kind.one}s, got {_got(value)}")
        return
    for n, item in enumerate(value):
        where = f"{path}[{n}]"
        if not isinstance(item, dict):
            out.append(f"{where}: expected a {kind.one} (an object), got {_got(item)}")
            continue
        for name in kind.required:
            if item.get(name) is None:
                out.append(f"{where}.{name}: missing — every {kind.one} has one")
        _fields(item, kind.fields, where, out)


def _fields(value: dict, fields: dict[str, Kind], path: str, out: list[str]) -> None:
    for name, kind in fields.items():
        if name in value:
            _check(value[name], kind, f"{path}.{name}", out)


def _is_number(value: Any) -> bool:
    return value is None or isinstance(value, (int, float, Decimal, str)) \
        and not isinstance(value, bool)


def _is_id(value: Any) -> bool:
    return value is None or isinstance(value, (int, str)) and not isinstance(value, bool)


_SCALARS = {
    ID: _is_id,
    IDS: lambda v: _is_id(v) or isinstance(v, list) and all(_is_id(i) and i is not None
                                                            for i in v),
    TEXT: lambda v: not isinstance(v, (dict, list)),
    NUMBER: _is_number,
}
_EXPECTED = {IDS: "an id or a list of ids", TEXT: "text"}


def _got(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, Decimal)):
        return "a number"
    if isinstance(value, str):
        return "text"
    return "a list" if isinstance(value, list) else "an object"


def _too_deep(export: Any) -> list[str]:
    """The first place nested deeper than ``MAX_DEPTH`` (walked without recursion)."""
    stack: list[tuple[Any, tuple]] = [(export, ())]
    while stack:
        value, path = stack.pop()
        if len(path) >= MAX_DEPTH:
            return [f"{_path(path)}: nested more than {MAX_DEPTH} levels deep — no ConnectWise "
                    "export is"]
        if isinstance(value, dict):
            stack += [(v, path + (k,)) for k, v in value.items()
                      if isinstance(v, (dict, list))]
        elif isinstance(value, list):
            stack += [(v, path + (i,)) for i, v in enumerate(value)
                      if isinstance(v, (dict, list))]
    return []


_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _path(parts: tuple) -> str:
    """``transactions[3].detail`` from ("transactions", 3, "detail"), cut short when long."""
    text = ""
    for part in parts[:12]:
        if isinstance(part, int):
            text += f"[{part}]"
        elif _NAME.match(str(part)):
            text += f".{part}" if text else str(part)
        else:
            text += f"[{str(part)[:20]!r}]"
    return text + ("…" if len(parts) > 12 else "")
