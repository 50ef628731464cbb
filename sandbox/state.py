"""The mutable part of the sandbox: accounting batches, posted documents, master-data edits.

Documents themselves are regenerated from the seed; the state only records, per document
kind, which batch each document is in (one ``array('i')`` of batch ids, 0 = unposted), the
batches, and the edits made with ``PATCH`` to companies, members and invoices (an invoice's
edits are its new line amounts, by line GL id: ``{"lines": {"100007": {"quantity": "2",
"itemPrice": "240.00"}}}``).

With ``--state FILE`` every change is written at once — to a temporary file in the same
folder, flushed and fsynced, then renamed over ``FILE`` — and the file is read back on start,
so batches and edits survive a restart. The file records the generator options it was made
with (and a digest of the ``--documents`` file, if any); starting with other options is
refused, since its document numbers would then name different documents.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from array import array
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

KINDS = ("invoice", "expense", "procurement")
FLAGS = {"invoice": "exportInvoicesFlag", "expense": "exportExpensesFlag",
         "procurement": "exportProductsFlag"}
FORMAT = "cwsage-sandbox-state/1"


class StateError(Exception):
    """The state file cannot be used; the message says why and what to do."""


def now_stamp() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Batch:
    id: int
    identifier: str
    flags: dict[str, bool]
    documents: dict[str, list[int]]          # kind -> document indexes
    entered: str = field(default_factory=now_stamp)

    def record(self) -> dict:
        """The ``AccountingBatch`` model (docs/connectwise-behaviour.md, "Accounting batches")."""
        return {"id": self.id, "batchIdentifier": self.identifier,
                **{flag: bool(self.flags.get(flag)) for flag in FLAGS.values()},
                "closedFlag": False,
                "_info": {"lastUpdated": self.entered, "dateEntered": self.entered,
                          "enteredBy": "sandbox", "updatedBy": "sandbox"}}


def _later(now: str, previous: str) -> str:
    if not previous or now > previous:
        return now
    bumped = datetime.fromisoformat(previous.replace("Z", "+00:00")) + timedelta(seconds=1)
    return bumped.strftime("%Y-%m-%dT%H:%M:%SZ")


def _ranges(indexes: list[int]) -> list[list[int]]:
    runs: list[list[int]] = []
    for index in sorted(indexes):
        if runs and runs[-1][1] == index - 1:
            runs[-1][1] = index
        else:
            runs.append([index, index])
    return runs


def _unranges(runs: list[list[int]]) -> list[int]:
    return [i for start, end in runs for i in range(start, end + 1)]


class SandboxState:
    def __init__(self, counts: dict[str, int], fingerprint: dict[str, Any],
                 path: str | Path | None = None):
        self.lock = threading.RLock()
        self.counts, self.fingerprint = dict(counts), dict(fingerprint)
        self.path = Path(path) if path else None
        self.posted = {kind: array("i", [0]) * counts.get(kind, 0) for kind in KINDS}
        self.batches: dict[int, Batch] = {}
        self.next_batch_id = 1
        self.edits: dict[str, dict[int, dict]] = {"company": {}, "member": {}, "invoice": {}}
        self.version = 0
        self._unposted: dict[str, tuple[int, list[int]]] = {}
        if self.path and self.path.exists():
            self._load()

    # -- reads ----------------------------------------------------------------------------
    def unposted(self, kind: str) -> list[int]:
        """Indexes of the documents of ``kind`` in no batch (cached until the next change)."""
        with self.lock:
            cached = self._unposted.get(kind)
            if cached and cached[0] == self.version:
                return cached[1]
            marks = self.posted[kind]
            keys = [i for i in range(len(marks)) if not marks[i]]
            self._unposted[kind] = (self.version, keys)
            return keys

    def batch_of(self, kind: str, index: int) -> int:
        return self.posted[kind][index]

    def batch_by_identifier(self, identifier: str) -> Batch | None:
        folded = identifier.casefold()
        return next((b for b in self.batches.values() if b.identifier.casefold() == folded), None)

    # -- changes --------------------------------------------------------------------------
    def add_batch(self, identifier: str, flags: dict[str, bool],
                  documents: dict[str, list[int]]) -> Batch:
        with self.lock:
            batch = Batch(self.next_batch_id, identifier, flags, documents)
            self.next_batch_id += 1
            self.batches[batch.id] = batch
            self._mark(batch, batch.id)
            self.save()
            return batch

    def delete_batch(self, batch_id: int) -> Batch | None:
        with self.lock:
            batch = self.batches.pop(batch_id, None)
            if batch:
                self._mark(batch, 0)
                self.save()
            return batch

    def edit(self, kind: str, record_id: int, changes: dict[str, Any],
             last_updated: str = "") -> dict:
        """Record edits of a company, member or invoice; returns all its edits so far.

        ``_info.lastUpdated`` becomes now, and always moves forward from ``last_updated``
        (the record's previous value), so ``lastUpdated > [...]`` finds every edit.
        """
        with self.lock:
            edits = self.edits[kind].setdefault(record_id, {})
            edits.update(changes)
            edits["_info"] = {"lastUpdated": _later(now_stamp(), last_updated),
                              "updatedBy": "sandbox"}
            self.version += 1
            self.save()
            return edits

    def _mark(self, batch: Batch, value: int) -> None:
        for kind, indexes in batch.documents.items():
            marks = self.posted[kind]
            for index in indexes:
                marks[index] = value
        self.version += 1

    # -- persistence ----------------------------------------------------------------------
    def snapshot(self) -> dict:
        return {"format": FORMAT, "fingerprint": self.fingerprint,
                "nextBatchId": self.next_batch_id,
                "batches": [{"id": b.id, "batchIdentifier": b.identifier, "flags": b.flags,
                             "entered": b.entered,
                             "documents": {k: _ranges(v) for k, v in b.documents.items()}}
                            for b in self.batches.values()],
                "edits": {kind: {str(k): v for k, v in edits.items()}
                          for kind, edits in self.edits.items()}}

    def save(self) -> None:
        if not self.path:
            return
        data = json.dumps(self.snapshot(), indent=1).encode()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=self.path.name + ".", suffix=".tmp",
                                   dir=self.path.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        _fsync_dir(self.path.parent)

    def _load(self) -> None:
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError) as exc:
            raise StateError(f"{self.path}: cannot read the sandbox state ({exc}); "
                             "fix or delete the file") from exc
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise StateError(f"{self.path}: not a sandbox state file (format {FORMAT})")
        if data.get("fingerprint") != self.fingerprint:
            raise StateError(f"{self.path}: written for {data.get('fingerprint')}, but the "
                             f"sandbox now runs with {self.fingerprint}; start it with the "
                             "same options or use another state file")
        self.next_batch_id = int(data["nextBatchId"])
        for raw in data["batches"]:
            docs = {kind: _unranges(runs) for kind, runs in raw["documents"].items()}
            batch = Batch(int(raw["id"]), raw["batchIdentifier"], raw["flags"], docs,
                          raw["entered"])
            self.batches[batch.id] = batch
            self._mark(batch, batch.id)
        for kind, edits in data.get("edits", {}).items():
            self.edits[kind] = {int(k): v for k, v in edits.items()}


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
