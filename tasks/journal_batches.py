"""The journal's batches: the intent before a create-batch call, its settlement from
ConnectWise's answer, documents found posted in ConnectWise, and the home's marker.

A mixin of ``tasks.journal.Journal``: it uses the journal's connection, transactions and
state moves (``_tx``, ``_move_many``, ``_states``), so every change stays one transaction.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone
from typing import Iterable

from tasks.journal_records import JournalBatch


def now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class BatchLedger:
    def begin_batch(self, pipeline: str, run_id: str, identifier: str, keys: list[str],
                    record_ids: list[int]) -> None:
        stamp = now()
        with self._tx():
            self.db.execute("INSERT INTO batches (batch_identifier, pipeline, state, record_ids,"
                            " keys, run_id, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?)",
                            (identifier, pipeline, "intent", json.dumps(record_ids),
                             json.dumps(keys), run_id, stamp, stamp))
            self._move_many(pipeline, run_id, [(key, "posting", identifier,
                                                 {"batch_identifier": identifier})
                                                for key in keys])

    def settle_batch(self, identifier: str, cw_batch_id: int | None, run_id: str) -> list[str]:
        """Record the batch as created (an id) or as not created (None); return its keys."""
        with self._tx():
            batch = self.batch(identifier)
            keys = list(batch.keys)
            state = "created" if cw_batch_id is not None else "not-created"
            self.db.execute("UPDATE batches SET state=?, cw_batch_id=?, updated_at=? "
                            "WHERE batch_identifier=?", (state, cw_batch_id, now(), identifier))
            if cw_batch_id is None:
                moves = [(k, "loaded", "batch not created", {"batch_identifier": None})
                         for k in keys]
            else:
                moves = [(k, "posted", identifier, {"batch_id": cw_batch_id}) for k in keys]
            self._move_many(batch.pipeline, run_id, moves)
            return keys

    def adopt_posted(self, pipeline: str, run_id: str, keys: Iterable[str], cw_batch_id: int,
                     identifier: str, detail: str) -> None:
        """ConnectWise holds these documents in batch ``cw_batch_id`` (found there, e.g. after
        a create-batch call that timed out): the journal follows. A batch of this journal with
        that identifier is recorded as created."""
        keys = list(keys)
        with self._tx():
            before = self._states(pipeline, keys)
            moves = [(k, "posting", detail, {"batch_identifier": identifier})
                     for k in keys if before.get(k) == "loaded"]
            self._move_many(pipeline, run_id, moves)
            self._move_many(pipeline, run_id, [
                (k, "posted", detail, {"batch_id": cw_batch_id, "batch_identifier": identifier})
                for k in keys if before.get(k) in ("loaded", "posting")])
            self.db.execute("UPDATE batches SET state='created', cw_batch_id=?, updated_at=? "
                            "WHERE batch_identifier=? AND state != 'created'",
                            (cw_batch_id, now(), identifier))

    def batch(self, identifier: str) -> JournalBatch | None:
        row = self.db.execute("SELECT * FROM batches WHERE batch_identifier=?",
                              (identifier,)).fetchone()
        return JournalBatch.of(row) if row else None

    def recorded_marker(self) -> str | None:
        """The marker of the home that wrote this journal's batches, if one was recorded."""
        row = self.db.execute("SELECT value FROM meta WHERE name='home'").fetchone()
        return row[0] if row else None

    def home_marker(self) -> str:
        """Six characters naming this journal (this cwsage home) in the batch identifiers it
        writes, so a batch written by another home against the same tenant is recognised."""
        recorded = self.recorded_marker()
        if recorded:
            return recorded
        with self._tx():
            self.db.execute("INSERT OR IGNORE INTO meta VALUES ('home', ?)",
                            (uuid.uuid4().hex[:6],))
        return self.db.execute("SELECT value FROM meta WHERE name='home'").fetchone()[0]

    def batches_of_run(self, run_id: str) -> int:
        return self.db.execute("SELECT COUNT(*) FROM batches WHERE run_id=?",
                               (run_id,)).fetchone()[0]

    def open_batches(self, pipeline: str) -> list[JournalBatch]:
        """Batches whose create call has no recorded outcome yet, oldest first."""
        return [JournalBatch.of(r) for r in self.db.execute(
            "SELECT * FROM batches WHERE pipeline=? AND state='intent' ORDER BY created_at",
            (pipeline,))]

