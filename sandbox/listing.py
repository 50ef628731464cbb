"""List endpoints: conditions, orderBy, fields, page/pageSize and the Link header
(docs/connectwise-behaviour.md, "Conditions" and "Paging, fields and counts").

A ``Resource`` describes one collection without holding its rows: its current keys in
ascending id order, and a way to build one row at a *tier* (``id`` < ``header`` < ``full``)
so that a query touching only cheap fields never builds expensive ones. Listing 200,000 ids
with ``fields=id`` therefore builds no document at all.
"""

from __future__ import annotations

import itertools
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence
from urllib.parse import parse_qsl, quote, urlencode

from sandbox.api_errors import ApiError, invalid_field
from sandbox.conditions import ConditionError, Predicate, lookup, parse

DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE = 25, 1000
_TOKENS = itertools.count(1)
_UNSUPPORTED = ("childConditions", "customFieldConditions")


@dataclass(frozen=True)
class Resource:
    name: str                                       # model name, for error messages
    keys: Callable[[], Sequence[int]]               # members, ascending id order
    row: Callable[[int, str], dict]                 # (key, tier) -> row
    fields: frozenset[str]                          # valid top-level names (empty = any)
    tier: Callable[[frozenset[str] | None], str] = lambda needed: "full"
    aliases: Mapping[str, str] = field(default_factory=dict)
    version: Callable[[], int] | None = None        # changes whenever any row may change
    token: int = field(default_factory=lambda: next(_TOKENS), compare=False)


class _SelectCache:
    """The last few filtered/ordered key lists, so paging through a filtered list of 200,000
    documents evaluates the conditions once, not once per page."""

    def __init__(self, size: int = 16):
        self.size, self.lock, self.items = size, threading.Lock(), OrderedDict()

    def get(self, key: tuple) -> Sequence[int] | None:
        with self.lock:
            if key in self.items:
                self.items.move_to_end(key)
            return self.items.get(key)

    def put(self, key: tuple, keys: Sequence[int]) -> None:
        with self.lock:
            self.items[key] = keys
            while len(self.items) > self.size:
                self.items.popitem(last=False)


_CACHE = _SelectCache()


@dataclass(frozen=True)
class ListQuery:
    page: int = 1
    page_size: int = DEFAULT_PAGE_SIZE
    order: tuple[tuple[list[str], bool], ...] = ()   # (path, descending)
    predicate: Predicate | None = None
    projection: dict | None = None
    page_id: int | None = None


def _int_param(params: Mapping[str, str], name: str, default: int, low: int) -> int:
    text = params.get(name)
    if text in (None, ""):
        return default
    try:
        value = int(text)
    except ValueError:
        raise invalid_field("query", name, f"{name} must be a whole number, got {text!r}") from None
    if value < low:
        raise invalid_field("query", name, f"{name} must be at least {low}, got {value}")
    return value


def parse_conditions(resource: Resource, text: str | None) -> Predicate | None:
    if not text or not text.strip():
        return None
    try:
        return parse(text, resource.aliases, resource.fields or None)
    except ConditionError as exc:
        raise invalid_field("conditions", "conditions", str(exc)) from None


def _order(resource: Resource, text: str | None) -> tuple[tuple[list[str], bool], ...]:
    order = []
    for part in (text or "").split(","):
        words = part.split()
        if not words:
            continue
        if len(words) > 2 or (len(words) == 2 and words[1].lower() not in ("asc", "desc")):
            raise invalid_field("query", "orderBy", f"orderBy takes 'field asc|desc', got {part!r}")
        path = resource.aliases.get(words[0], words[0]).split("/")
        if resource.fields and path[0] not in resource.fields:
            raise invalid_field("query", "orderBy", f"unknown field {words[0]!r} in orderBy")
        order.append((path, len(words) == 2 and words[1].lower() == "desc"))
    return tuple(order)


def _projection(text: str | None) -> dict | None:
    if not text or not text.strip():
        return None
    tree: dict = {}
    for path in (p.strip() for p in text.split(",")):
        node = tree
        parts = [p for p in path.split("/") if p]
        for depth, part in enumerate(parts):
            if node.get(part) is True:
                break                      # the whole of ``part`` is already selected
            if depth == len(parts) - 1:
                node[part] = True
            else:
                node = node.setdefault(part, {})
    return tree or None


def parse_query(resource: Resource, params: Mapping[str, str]) -> ListQuery:
    for name in _UNSUPPORTED:
        if params.get(name):
            raise invalid_field("query", name, f"the sandbox does not support {name}")
    page_size = min(_int_param(params, "pageSize", DEFAULT_PAGE_SIZE, 1), MAX_PAGE_SIZE)
    page_id = params.get("pageId")
    return ListQuery(page=_int_param(params, "page", 1, 1), page_size=page_size,
                     order=_order(resource, params.get("orderBy")),
                     predicate=parse_conditions(resource, params.get("conditions")),
                     projection=_projection(params.get("fields")),
                     page_id=_int_param(params, "pageId", 0, 0) if page_id else None)


def select(resource: Resource, query: ListQuery) -> Sequence[int]:
    """The keys matching the query's conditions, in the query's order (cached per version)."""
    order = list(query.order) or [(["id"], False)]
    if query.predicate is None and order == [(["id"], False)]:
        return resource.keys()
    if resource.version is None:
        return _select(resource, query, order)
    key = (resource.token, resource.version(), query.predicate and query.predicate.text,
           tuple((tuple(path), desc) for path, desc in order))
    keys = _CACHE.get(key)
    if keys is None:
        keys = _select(resource, query, order)
        _CACHE.put(key, keys)
    return keys


def _select(resource: Resource, query: ListQuery, order: list) -> list[int]:
    """Rows are built one at a time and dropped; only the sort values of matches are kept."""
    by_id = len(order) == 1 and order[0][0] == ["id"]
    needed = set(query.predicate.fields) if query.predicate else set()
    needed |= {path[0] for path, _ in order}
    tier = resource.tier(frozenset(needed))
    keys, values = [], {}
    for key in resource.keys():
        row = resource.row(key, tier) if query.predicate or not by_id else None
        if query.predicate and not query.predicate(row):
            continue
        keys.append(key)
        if not by_id:
            values[key] = [_sort_value(lookup(row, path)) for path, _ in order]
    if by_id:
        return keys[::-1] if order[0][1] else keys
    for position in reversed(range(len(order))):
        keys.sort(key=lambda k: values[k][position], reverse=order[position][1])
    return keys


def _sort_value(value: Any) -> tuple:
    if value is None or isinstance(value, (dict, list)) or value.__class__ is object:
        return (0, 0)
    if isinstance(value, (bool, int, float)):
        return (1, float(value))
    return (2, str(value).casefold())


def project(row: dict, tree: dict | None) -> dict:
    if tree is None:
        return row
    out = {}
    for name, sub in tree.items():
        if name not in row:
            continue
        value = row[name]
        if sub is True or value is None:
            out[name] = value
        elif isinstance(value, dict):
            out[name] = project(value, sub)
        elif isinstance(value, list):
            out[name] = [project(v, sub) if isinstance(v, dict) else v for v in value]
    return out


def build_rows(resource: Resource, keys: Sequence[int], query: ListQuery) -> list[dict]:
    tier = resource.tier(frozenset(query.projection) if query.projection else None)
    return [project(resource.row(key, tier), query.projection) for key in keys]


def count(resource: Resource, params: Mapping[str, str]) -> dict:
    predicate = parse_conditions(resource, params.get("conditions"))
    return {"count": len(select(resource, ListQuery(predicate=predicate)))}


def list_page(resource: Resource, params: Mapping[str, str], url: str,
              forward_only: bool = False) -> tuple[list[dict], dict[str, str]]:
    """One page of rows and its ``Link`` header. ``url`` is the full request URL."""
    query = parse_query(resource, params)
    keys = select(resource, query)
    if forward_only:
        return _forward_page(resource, keys, query, url)
    last = max(1, -(-len(keys) // query.page_size))
    start = (query.page - 1) * query.page_size
    rows = build_rows(resource, keys[start:start + query.page_size], query)
    rels = {"first": 1, "prev": min(query.page - 1, last), "next": query.page + 1, "last": last}
    if query.page <= 1:
        del rels["prev"]
    if query.page >= last:
        del rels["next"]
    links = ", ".join(f'<{_with(url, page=n)}>; rel="{rel}"' for rel, n in rels.items())
    return rows, {"Link": links}


def _forward_page(resource: Resource, keys: list[int], query: ListQuery,
                  url: str) -> tuple[list[dict], dict[str, str]]:
    """``pagination-type: forward-only``: rows with id > pageId; only a ``next`` link."""
    if query.page_id is not None:
        keys = [k for k in keys if resource.row(k, "id")["id"] > query.page_id]
    keys = list(keys)
    rows = build_rows(resource, keys[:query.page_size], query)
    if len(keys) <= query.page_size:
        return rows, {}
    last_id = resource.row(keys[query.page_size - 1], "id")["id"]
    return rows, {"Link": f'<{_with(url, pageId=last_id, page=None)}>; rel="next"'}


def _with(url: str, **changes: Any) -> str:
    base, _, query = url.partition("?")
    pairs = [(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if k not in changes]
    pairs += [(k, str(v)) for k, v in changes.items() if v is not None]
    return f"{base}?{urlencode(pairs, quote_via=quote)}"


def not_supported(method: str) -> ApiError:
    return ApiError(405, "MethodNotAllowed", f"The requested resource does not support "
                                             f"http method '{method}'.")
