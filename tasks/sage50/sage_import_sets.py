"""Reading the sets of Sage's own import files that the ``sage50_import_csv`` writer leaves, as
Sage's Data Import reads them (no header row, Windows-1252, Sage's fixed column order), for the
importer that plays the Sage side (``sage_import_csv``); and that importer's memory of the sets
it has imported (``.sage-import-state.json``).
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from tasks.errors import ConfigError
from tasks.files import write_atomic
from tasks.sage50.import_csv import ACCOUNT_COLUMNS, TRANSACTION_COLUMNS

if TYPE_CHECKING:
    from tasks.sage50.sage_import import ImportReport

MANIFEST_NAME = "manifest.json"
STATE_NAME = ".sage-import-state.json"
FILE_KINDS = {"customers": "customer", "suppliers": "supplier", "transactions": None}


class Damaged(Exception):
    """A set that cannot be imported as it stands: it is left in place, unimported."""


@dataclass(slots=True)
class CsvSet:
    stem: str
    accounts: dict[str, list[dict[str, str]]] = field(default_factory=dict)   # kind -> rows
    rows: list[dict[str, str]] = field(default_factory=list)                 # transactions
    documents: list[str] = field(default_factory=list)


def read_input(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc}) — give this user read access to it, "
                          f"or move it out of the folder") from exc


def set_dirs(folder: Path, report: ImportReport, skip: str) -> list[Path]:
    """The set folders, in order; one without a manifest yet is reported and left alone."""
    out = []
    for path in sorted(folder.iterdir()):
        if not path.is_dir() or path.name.startswith(".") or path.name == skip:
            continue
        if (path / MANIFEST_NAME).is_file():
            out.append(path)
        else:
            report.messages.append(f"{path.name}: no {MANIFEST_NAME} yet (still being written?) "
                                   f"— left in place")
    return out


def read_state(folder: Path) -> dict:
    path = folder / STATE_NAME
    if not path.exists():
        return {}
    try:
        state = json.loads(read_input(path))
        if not isinstance(state, dict):
            raise ValueError("not a JSON object")
    except ValueError as exc:
        raise ConfigError(f"{path}: is not the importer's state ({exc}) — restore it, or "
                          f"delete it to import every set in {folder} again") from exc
    return state


def write_state(folder: Path, state: dict) -> None:
    path = folder / STATE_NAME
    try:
        write_atomic(path, json.dumps(state, indent=1, sort_keys=True).encode(), durable=True)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be written ({exc}) — make {folder} writable; this "
                          f"run's sets are imported again next time and their documents show "
                          f"as already in Sage") from exc


def read_set(set_dir: Path) -> CsvSet:
    manifest = _manifest(set_dir)
    documents = manifest.get("documents")
    keys = [d.get("key") if isinstance(d, dict) else d
            for d in (documents if isinstance(documents, list) else [])]
    csv_set = CsvSet(set_dir.name, documents=[k for k in keys if isinstance(k, str)])
    for kind, name in manifest["files"].items():
        columns = TRANSACTION_COLUMNS if kind == "transactions" else ACCOUNT_COLUMNS
        rows = _csv_rows(set_dir / name, columns)
        if FILE_KINDS[kind] is None:
            csv_set.rows = rows
        else:
            csv_set.accounts[FILE_KINDS[kind]] = rows
    return csv_set


def _manifest(set_dir: Path) -> dict:
    try:
        manifest = json.loads(read_input(set_dir / MANIFEST_NAME))
    except ValueError as exc:
        raise Damaged(f"{MANIFEST_NAME} is not JSON ({exc})") from exc
    files = manifest.get("files") if isinstance(manifest, dict) else None
    if not isinstance(files, dict) or not files:
        raise Damaged(f"{MANIFEST_NAME} names no files")
    for kind, name in files.items():
        if kind not in FILE_KINDS:
            raise Damaged(f"{MANIFEST_NAME} names a {kind!r} file; Sage's import takes "
                          f"{', '.join(FILE_KINDS)}")
        if not isinstance(name, str) or Path(name).name != name or name.startswith("."):
            raise Damaged(f"{MANIFEST_NAME}: {kind} file {name!r} is not a file name in the set")
    if manifest.get("stem") not in (None, set_dir.name):
        raise Damaged(f"{MANIFEST_NAME} is for set {manifest['stem']!r}, not {set_dir.name!r}")
    return manifest


def _csv_rows(path: Path, columns: tuple[str, ...]) -> list[dict[str, str]]:
    if not path.is_file():
        raise Damaged(f"{path.name} is named in {MANIFEST_NAME} but is not in the set")
    try:
        text = read_input(path).decode("cp1252")
        rows = [row for row in csv.reader(io.StringIO(text, newline="")) if any(map(str.strip,
                                                                                     row))]
    except (UnicodeDecodeError, csv.Error) as exc:
        raise Damaged(f"{path.name} is not Windows-1252 CSV ({exc})") from exc
    for n, row in enumerate(rows, start=1):
        if len(row) > len(columns):
            raise Damaged(f"{path.name} row {n} has {len(row)} columns; Sage's layout has "
                          f"{len(columns)}")
    return [dict(zip(columns, [c.strip() for c in row] + [""] * (len(columns) - len(row))))
            for row in rows]
