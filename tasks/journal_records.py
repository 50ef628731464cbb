"""What the journal answers: typed records of its documents, their history, runs and batches.

The stores give rows (SQLite's or PostgreSQL's, by name and by position) whose money is text
and whose lists are JSON; the journal turns each into a frozen record here, once, so no caller
reads a column by name or parses the journal's JSON. Timestamps stay the journal's text (ISO
8601, UTC, ``2026-03-02T14:05:09.123456Z``); ``moment`` reads one as a ``datetime``.

A record still answers ``record["column"]`` with the stored value, for code not yet moved to
its attributes; new code reads the attributes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Any, Mapping

STATES = ("extracted", "quarantined", "loading", "handed_off", "loaded", "unreconciled",
          "posting", "posted")
# Held documents: before Sage (quarantined), or in Sage with other money than was priced
# (unreconciled: never batched back until a person settles it).
HELD_STATES = ("quarantined", "unreconciled")


def moment(stamp: str) -> datetime:
    """A journal timestamp as an aware UTC ``datetime``."""
    when = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def _parsed(text: str | None, default: Any) -> Any:
    return json.loads(text) if text else default


def _decimal(text: str | None) -> Decimal | None:
    try:
        return None if text is None else Decimal(str(text))
    except InvalidOperation:
        return None


@dataclass(frozen=True)
class Reason:
    """Why a document is held: one finding of the suite, the resolve step, the money gate, a
    stylesheet or Sage's importer. ``stored``: every field as the journal holds it."""

    reason: str | None = None
    fix: str | None = None
    stage: str | None = None
    expectation: str | None = None
    column: str | None = None
    value: Any = None
    stored: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def of(cls, item: Mapping[str, Any]) -> "Reason":
        return cls(item.get("reason"), item.get("fix"), item.get("stage"),
                   item.get("expectation"), item.get("column"), item.get("value"),
                   MappingProxyType(dict(item)))

    def as_dict(self) -> dict[str, Any]:
        return dict(self.stored) or {"reason": self.reason, "fix": self.fix}


def reasons_of(text: str | None) -> tuple[Reason, ...]:
    """The journal's ``reasons`` (JSON text) as records; anything not an object is skipped."""
    return tuple(Reason.of(r) for r in _parsed(text, []) if isinstance(r, dict))


@dataclass(frozen=True)
class JournalDocument:
    """One ConnectWise document as the journal holds it now."""

    pipeline: str
    key: str
    cw_id: str | None
    state: str
    doc_number: str | None
    doc_type: str | None
    account_ref: str | None
    currency: str | None
    net: Decimal | None
    tax: Decimal | None
    gross: Decimal | None
    gl_ids: tuple[int, ...]
    content_hash: str | None
    reasons: tuple[Reason, ...]
    sage_ref: str | None
    batch_identifier: str | None
    batch_id: int | None
    first_seen: str
    updated_at: str
    last_run: str | None

    @classmethod
    def of(cls, row) -> "JournalDocument":
        return cls(row["pipeline"], row["key"], row["cw_id"], row["state"], row["doc_number"],
                   row["doc_type"], row["account_ref"], row["currency"], _decimal(row["net"]),
                   _decimal(row["tax"]), _decimal(row["gross"]),
                   tuple(int(i) for i in _parsed(row["gl_ids"], [])), row["content_hash"],
                   reasons_of(row["reasons"]), row["sage_ref"], row["batch_identifier"],
                   row["batch_id"], row["first_seen"], row["updated_at"], row["last_run"])

    def as_dict(self) -> dict[str, Any]:
        """Every column as ``cwsage quarantine show --json`` prints it (the journal's text
        for money and GL ids, the reasons parsed)."""
        text = {name: None if value is None else str(value)
                for name, value in (("net", self.net), ("tax", self.tax), ("gross", self.gross))}
        return {"pipeline": self.pipeline, "key": self.key, "cw_id": self.cw_id,
                "state": self.state, "doc_number": self.doc_number, "doc_type": self.doc_type,
                "account_ref": self.account_ref, "currency": self.currency, **text,
                "gl_ids": json.dumps(list(self.gl_ids)), "content_hash": self.content_hash,
                "reasons": [r.as_dict() for r in self.reasons], "sage_ref": self.sage_ref,
                "batch_identifier": self.batch_identifier, "batch_id": self.batch_id,
                "first_seen": self.first_seen, "updated_at": self.updated_at,
                "last_run": self.last_run}


@dataclass(frozen=True)
class HeldDocument:
    """A held document and when its current hold began (``Journal.held``)."""

    document: JournalDocument
    since: str


@dataclass(frozen=True)
class HistoryEvent:
    """One move of a document from a state to another."""

    id: int
    pipeline: str
    key: str
    from_state: str | None
    to_state: str
    run_id: str | None
    at: str
    detail: str | None

    @classmethod
    def of(cls, row) -> "HistoryEvent":
        return cls(row["id"], row["pipeline"], row["key"], row["from_state"], row["to_state"],
                   row["run_id"], row["at"], row["detail"])

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "pipeline": self.pipeline, "key": self.key,
                "from_state": self.from_state, "to_state": self.to_state,
                "run_id": self.run_id, "at": self.at, "detail": self.detail}


@dataclass(frozen=True)
class JournalRun:
    """One run of a pipeline: when it started and finished, how it ended, the states after."""

    run_id: str
    pipeline: str
    started_at: str
    finished_at: str | None
    status: str | None
    counts: Mapping[str, int]

    @classmethod
    def of(cls, row) -> "JournalRun":
        return cls(row["run_id"], row["pipeline"], row["started_at"], row["finished_at"],
                   row["status"], MappingProxyType(_parsed(row["counts"], {})))

    @property
    def at(self) -> str:
        """When it finished, or (still running, or died) when it started."""
        return self.finished_at or self.started_at


@dataclass(frozen=True)
class JournalBatch:
    """A ConnectWise batch this journal wrote: ``intent`` before the create call, then
    ``created`` (with ConnectWise's id) or ``not-created``."""

    batch_identifier: str
    pipeline: str
    state: str
    cw_batch_id: int | None
    record_ids: tuple[int, ...]
    keys: tuple[str, ...]
    run_id: str | None
    created_at: str
    updated_at: str

    @classmethod
    def of(cls, row) -> "JournalBatch":
        return cls(row["batch_identifier"], row["pipeline"], row["state"], row["cw_batch_id"],
                   tuple(_parsed(row["record_ids"], [])), tuple(_parsed(row["keys"], [])),
                   row["run_id"], row["created_at"], row["updated_at"])
