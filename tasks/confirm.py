"""Confirm: what the Sage side says of documents handed off to its importer.

A file writer (the Zynk outbox, Sage's own import files) only hands documents off; they wait
``handed_off`` until the Sage side confirms them. Every run reads the confirmations first —
before anything is batched — and moves each waiting document on:

* imported (Sage holds it, with the money handed off) → ``loaded``, batched by the post stage;
* failed (the importer refused it) → ``quarantined`` with the importer's words and the fix;
  it stays there until a person says the cause is fixed (``cwsage resend``) or it changes in
  ConnectWise, and is then written again;
* differs (Sage holds it, but not as handed off, or only in part) → ``unreconciled``: never
  batched until a person has looked.

``cwsage confirm FILE`` is the person's word for a file they imported (``confirm_file``).
A document waiting longer than ``sage.confirm_within`` is overdue: the run is not green and
the alert names it with its file.
"""

from __future__ import annotations

import getpass
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Iterable

from tasks.faults import crash_point
from tasks.inert import terminal
from tasks.journal_handoff import SAGE_IMPORT
from tasks.journal_records import moment
from tasks.sage50.protocol import DIFFERS, FAILED, IMPORTED, HandoffWriter
from tasks.held import plural

log = logging.getLogger("cwsage.confirm")


@dataclass
class Confirmed:
    """What one reading of the Sage side changed."""

    imported: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    differs: list[str] = field(default_factory=list)
    strays: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return any((self.imported, self.failed, self.differs, self.strays, self.unreadable))


@dataclass(frozen=True)
class Waiting:
    key: str
    number: str | None
    file: str | None
    since: datetime
    age: timedelta
    overdue: bool

    @property
    def age_text(self) -> str:
        return age_text(self.age)


def settle_handoffs(journal, pipeline: str, run_id: str, writer,
                    keys: Iterable[str] | None = None) -> Confirmed:
    """Read the Sage side's answers and move every waiting document (or every one of
    ``keys`` that waits) they settle."""
    done = Confirmed()
    if not isinstance(writer, HandoffWriter):
        return done
    waiting = journal.keys_in(pipeline, "handed_off")
    if keys is not None:
        wanted = set(keys)
        waiting = [k for k in waiting if k in wanted]
    read = writer.confirmations(waiting)
    done.strays, done.unreadable = read.strays, read.unreadable
    asked = set(waiting)
    said = {key: c for key, c in read.confirmations.items() if key in asked}
    if said:
        crash_point("during-confirm")
    by = {o: {k: c for k, c in said.items() if c.outcome == o} for o in (IMPORTED, FAILED,
                                                                          DIFFERS)}
    journal.mark_loaded(pipeline, run_id, {k: f"in Sage: {c.evidence}"
                                           for k, c in by[IMPORTED].items()})
    journal.quarantine(pipeline, run_id, {k: [{"expectation": "sage import", "reason": c.reason,
                                               "value": c.evidence, "fix": c.fix}]
                                          for k, c in by[FAILED].items()}, stage=SAGE_IMPORT)
    journal.hold_unreconciled(pipeline, run_id, {k: [{"expectation": "sage import",
                                                      "reason": c.reason, "value": c.evidence,
                                                      "fix": c.fix}]
                                                 for k, c in by[DIFFERS].items()})
    done.imported, done.failed, done.differs = (sorted(by[o]) for o in (IMPORTED, FAILED,
                                                                         DIFFERS))
    _log(pipeline, done)
    return done


def _log(pipeline: str, done: Confirmed) -> None:
    if done.imported or done.failed or done.differs:
        log.info("[%s] confirm: Sage confirmed %s, refused %d, holds %d otherwise", pipeline,
                 plural(len(done.imported), "document"), len(done.failed), len(done.differs))
    for stray in done.strays[:20]:
        log.warning("[%s] confirm: %s was never handed off by cwsage — ignored", pipeline,
                    terminal(stray))
    for what in done.unreadable:
        log.warning("[%s] confirm: %s — read again on the next run", pipeline, terminal(what))


def confirm_file(journal, pipeline: str, run_id: str, writer, given: str,
                 failed: str | None = None, by: str | None = None) -> list[str]:
    """A person's word that they imported one written file (or, with ``failed``, that the
    import failed and why): its waiting documents move on, recorded with who and when."""
    waiting = set(journal.keys_in(pipeline, "handed_off"))
    keys = [k for k in writer.handoff_of(given) if k in waiting]   # never a settled one
    who = by or user_name()
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    evidence = f"confirmed by {who} at {stamp}: {writer.file_name(given)}"
    writer.record_confirmation(keys, evidence, failed)
    done = settle_handoffs(journal, pipeline, run_id, writer, keys)
    return done.failed if failed else done.imported


def waiting_documents(journal, pipeline: str, within: timedelta,
                      now: datetime | None = None) -> list[Waiting]:
    """Documents waiting for the Sage side, oldest first, with their age and file."""
    now = now or datetime.now(timezone.utc)
    out = []
    for doc in journal.waiting(pipeline):
        since = moment(doc.updated_at)              # when it was handed off
        age = max(now - since, timedelta(0))
        out.append(Waiting(doc.key, doc.doc_number, doc.sage_ref, since, age, age > within))
    return out


def age_text(age: timedelta) -> str:
    minutes = int(age.total_seconds() // 60)
    if minutes < 120:
        return f"{minutes} min"
    hours = minutes // 60
    return f"{hours} h" if hours < 48 else f"{hours // 24} days"


def user_name() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "unknown user"
