"""Spilled chunks: how an extracted chunk is kept on disk between stages, and read back.

A chunk is the export exactly as ConnectWise sent it (``chunk-0001.json``) with the company
records of its parties beside it (``chunk-0001.companies.json``). Stages of one run share the
parsed chunk through a small in-process cache, so it is parsed once, not once per stage.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from threading import Lock

from tasks.files import write_atomic


@dataclass(frozen=True)
class ChunkRef:
    """A spilled chunk: its number, its file and the keys of its documents."""

    number: int
    path: Path
    keys: tuple[str, ...]
    lines: int = 0                  # document lines, for the extraction artifact
    companies: int = 0              # company records fetched with it (spilled beside it)
    cursor: str | None = None       # a list endpoint's highest cursor value in the chunk


_RECENT: "OrderedDict[str, dict]" = OrderedDict()
_RECENT_LOCK = Lock()


def chunk_export(path: Path) -> dict:
    """The parsed chunk, from a small in-process cache (so stages of one run parse it once)."""
    with _RECENT_LOCK:
        if str(path) in _RECENT:
            return _RECENT[str(path)]
    return remember(path, read_chunk(path))


def remember(path: Path, export: dict) -> dict:
    with _RECENT_LOCK:
        _RECENT[str(path)] = export
        while len(_RECENT) > 2:          # the chunk being prepared (and the one after it)
            _RECENT.popitem(last=False)
    return export


def read_chunk(path: Path) -> dict:
    """Read a spilled chunk (or any saved GLExport JSON); money stays Decimal."""
    export = json.loads(path.read_bytes(), parse_float=Decimal)
    companies = companies_path(path)
    if companies.exists() and "companies" not in export:
        export["companies"] = json.loads(companies.read_bytes(), parse_float=Decimal)
    return export


def companies_path(path: Path) -> Path:
    return path.with_name(path.name.replace(".json", "") + ".companies.json")


def atomic_write(path: Path, data: bytes) -> None:
    """A spilled chunk: whole or absent (it can always be exported again, so no fsync)."""
    write_atomic(path, data)
