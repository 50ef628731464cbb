"""Any ConnectWise list endpoint, served from a JSON file (``--fixture PATH=FILE``).

FILE is a JSON array of records, each a JSON object with a whole-number ``id`` (every
ConnectWise list record has one), ids unique — or a list pipeline's saved export,
``{"records": [...]}`` as ``cwsage export`` writes it, so a pipeline's test fixture is
served as it is. ``GET PATH`` then answers as a ConnectWise list
endpoint does, with the rules the sandbox applies to its seeded lists (``sandbox.listing``):
``page``/``pageSize`` (1-based, at most 1000, a ``Link`` header), forward-only paging,
``conditions``, ``orderBy`` and ``fields``; ``GET PATH/count`` counts, ``GET PATH/{id}`` reads
one record (where the sandbox does not already answer it: ``/finance/invoices/{id}`` stays
the seeded invoices' own). Condition and ``orderBy`` fields must be among the records'
top-level fields, as ConnectWise refuses unknown ones.

Every file is checked when the sandbox starts; every problem is reported at once, each naming
the file, the record and what to change (``ListFixtureError``). A path whose list or count
the sandbox already serves (its seeded lists, the accounting routes) is refused: the fixture
would hide it, or be hidden.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping

from sandbox.listing import Resource

EXAMPLE = '[{"id": 1, "name": "..."}, {"id": 2, "name": "..."}]'
_PATH = re.compile(r"^/[A-Za-z][A-Za-z0-9_]*(?:/[A-Za-z][A-Za-z0-9_]*)*$")


class ListFixtureError(ValueError):
    """A fixture that cannot be served; the message lists every problem."""


@dataclass(frozen=True)
class ListFixture:
    path: str                   # as given, e.g. /finance/agreements/additions
    file: str
    records: tuple[dict, ...]   # ascending id order

    @property
    def route(self) -> str:
        """The path as the API's router sees it: no leading or trailing slash."""
        return self.path.strip("/")

    def resource(self) -> Resource:
        """The records as a list resource (``sandbox.listing``); keys are positions."""
        records = self.records
        fields = frozenset(name for record in records for name in record)
        model = self.route.split("/")[-1]
        return Resource(model, lambda: range(len(records)),
                        lambda key, tier: records[key], fields)

    def index_of(self, record_id: int) -> int | None:
        for index, record in enumerate(self.records):
            if record["id"] == record_id:
                return index
        return None


def fixture_options(texts: list[str]) -> dict[str, str]:
    """The ``PATH=FILE`` values of ``--fixture`` as path → file; ``ListFixtureError`` for one
    not of that form, or a path given twice."""
    out: dict[str, str] = {}
    for text in texts:
        path, sep, file = (part.strip() for part in text.partition("="))
        if not sep or not path or not file:
            raise ListFixtureError(f"--fixture {text!r}: write PATH=FILE, e.g. --fixture "
                                   "/finance/agreements/additions=tests/fixtures/additions.json")
        if path.strip("/").lower() in {p.strip("/").lower() for p in out}:
            raise ListFixtureError(f"--fixture {text!r}: {path} is given twice — give each "
                                   "path one file")
        out[path] = file
    return out


def load_list_fixtures(fixtures: Mapping[str, str | Path] | None,
                       served: Callable[[str], bool]) -> list[ListFixture]:
    """Every fixture checked (see the module); ``served`` says whether the sandbox already
    answers a path (below the API prefix, without slashes)."""
    problems: list[str] = []
    out: list[ListFixture] = []
    seen: dict[str, str] = {}
    for path, file in (fixtures or {}).items():
        found = _fixture(str(path), Path(file), served, seen, problems)
        if found is not None:
            out.append(found)
    if problems:
        raise ListFixtureError(problems[0] if len(problems) == 1 else
                               f"{len(problems)} problems in the list fixtures:\n  "
                               + "\n  ".join(problems))
    return out


def _fixture(path: str, file: Path, served: Callable[[str], bool], seen: dict[str, str],
             problems: list[str]) -> ListFixture | None:
    before = len(problems)
    route = path.strip("/").lower()
    if not _PATH.match(path.rstrip("/") or "/"):
        problems.append(f"{file}: fixture path {path!r} is not a list endpoint path — write it "
                        "as /area/collection, e.g. /finance/agreements/additions")
    elif route.split("/")[-1] == "count" or served(route) or served(f"{route}/count"):
        problems.append(f"{file}: fixture path {path} is already served by the sandbox's own "
                        "data — choose a path it does not serve (its seeded lists and "
                        "accounting routes stay as they are)")
    elif route in seen:
        problems.append(f"{file}: fixture path {path} is also served from {seen[route]} — "
                        "give each path one file")
    seen.setdefault(route, str(file))
    records = _records(file, problems)
    if records is None or len(problems) > before:
        return None
    return ListFixture(path.rstrip("/"), str(file),
                       tuple(sorted(records, key=lambda r: r["id"])))


def _records(file: Path, problems: list[str]) -> list[dict] | None:
    try:
        raw = json.loads(file.read_text(encoding="utf-8"))
    except OSError as exc:
        problems.append(f"{file}: cannot read the fixture ({exc.strerror or exc}) — check "
                        "the path after '='")
        return None
    except ValueError as exc:
        problems.append(f"{file}: not valid JSON ({exc}) — a fixture is a JSON array of "
                        f"records such as {EXAMPLE}")
        return None
    if isinstance(raw, dict) and list(raw) == ["records"] and isinstance(raw["records"], list):
        raw = raw["records"]                      # a saved export of a list pipeline
    if not isinstance(raw, list):
        problems.append(f"{file}: expected a JSON array of records such as {EXAMPLE} (or a "
                        f"saved export, {{\"records\": [...]}}), got a JSON {_json_type(raw)}"
                        + (f" with keys {', '.join(map(str, list(raw)[:5]))}"
                           if isinstance(raw, dict) else ""))
        return None
    ids: dict[int, int] = {}
    for n, record in enumerate(raw):
        if not isinstance(record, dict):
            problems.append(f"{file}: record [{n}] is a JSON {_json_type(record)} — each "
                            "record is a JSON object")
            continue
        ident = record.get("id")
        if isinstance(ident, bool) or not isinstance(ident, int):
            problems.append(f"{file}: record [{n}] has id {ident!r} — give every record a "
                            "whole-number id, as ConnectWise does")
        elif ident in ids:
            problems.append(f"{file}: record [{n}] has id {ident}, as record [{ids[ident]}] "
                            "does — ids must be unique")
        else:
            ids[ident] = n
    return raw


def _json_type(value: object) -> str:
    names = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}
    return names.get(type(value), "number")
