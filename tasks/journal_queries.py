"""The journal's queries: what it holds, as typed records (``tasks.journal_records``).

A mixin of ``tasks.journal.Journal``: it reads through the journal's store (``db``). Lookups
by state go through the state index and are sorted here, not by SQL: ``ORDER BY key`` makes
SQLite walk the primary key over every document the pipeline ever had instead of the state
index over the few in that state — a cost that grew with the journal.
"""

from __future__ import annotations

from typing import Iterable, Iterator

from tasks.journal_records import (HELD_STATES, STATES, HeldDocument, HistoryEvent,
                                   JournalDocument, JournalRun)


class JournalQueries:
    def keys_in(self, pipeline: str, state: str) -> list[str]:
        """The keys in one state, sorted."""
        return sorted(r[0] for r in self.db.execute(
            "SELECT key FROM documents INDEXED BY documents_state WHERE pipeline=? AND state=?",
            (pipeline, state)))

    def documents(self, pipeline: str, keys: Iterable[str] | None = None,
                  states: Iterable[str] | None = None) -> list[JournalDocument]:
        """The pipeline's documents (those among ``keys``, in ``states``), sorted by key."""
        if states is None:
            rows = self.db.execute("SELECT * FROM documents WHERE pipeline=? ORDER BY key",
                                   (pipeline,)).fetchall()
        else:                   # by the state index, sorted here
            states = list(states)
            rows = sorted(self.db.execute(
                "SELECT * FROM documents INDEXED BY documents_state WHERE pipeline=? AND state "
                f"IN ({','.join('?' * len(states))})", (pipeline, *states)),
                key=lambda row: row["key"])
        wanted = None if keys is None else set(keys)
        return [JournalDocument.of(r) for r in rows if wanted is None or r["key"] in wanted]

    def quarantined(self, pipeline: str) -> list[JournalDocument]:
        """Documents held back before Sage, sorted by key."""
        return self.documents(pipeline, states=["quarantined"])

    def held(self, pipeline: str) -> list[HeldDocument]:
        """Documents held back (``HELD_STATES``), sorted by key, each with when its current
        hold began (``held_since``; when the history does not say, its last change)."""
        docs = self.documents(pipeline, states=HELD_STATES)
        since = self.held_since(pipeline, {d.key: d.state for d in docs})
        return [HeldDocument(d, since.get(d.key, d.updated_at)) for d in docs]

    def pages(self, pipeline: str, states: Iterable[str], run_id: str | None = None,
              size: int = 2000) -> Iterator[list[JournalDocument]]:
        """Documents in pages (by key), optionally only those a run touched last."""
        states = list(states)
        sql = (f"SELECT * FROM documents WHERE pipeline=? AND key > ? AND state IN "
               f"({','.join('?' * len(states))})" + (" AND last_run=?" if run_id else "")
               + " ORDER BY key LIMIT ?")
        last = ""
        while True:
            rows = self.db.execute(sql, (pipeline, last, *states, *([run_id] if run_id else []),
                                         size)).fetchall()
            if not rows:
                return
            yield [JournalDocument.of(r) for r in rows]
            last = rows[-1]["key"]

    def counts(self, pipeline: str) -> dict[str, int]:
        result = {state: 0 for state in STATES}
        for row in self.db.execute("SELECT state, COUNT(*) n FROM documents WHERE pipeline=? "
                                   "GROUP BY state", (pipeline,)):
            result[row["state"]] = row["n"]
        return result

    def held_since(self, pipeline: str, states: dict[str, str]) -> dict[str, str]:
        """When each held document's (key → the state it is held in) current hold began: its
        first move into that state since it was last loaded or posted — every run re-checks
        it and moves it again, so neither ``updated_at`` nor ``first_seen`` says it."""
        since: dict[str, str | None] = dict.fromkeys(states)
        keys = list(states)
        for start in range(0, len(keys), 900):
            part = keys[start:start + 900]
            for key, to_state, at in self.db.execute(
                    f"SELECT key, to_state, at FROM events WHERE pipeline=? AND key IN "
                    f"({','.join('?' * len(part))}) ORDER BY id", (pipeline, *part)):
                if to_state in ("loaded", "posted"):
                    since[key] = None
                elif to_state == states[key] and since[key] is None:
                    since[key] = at
        return {k: v for k, v in since.items() if v}

    def history(self, pipeline: str, key: str) -> list[HistoryEvent]:
        return [HistoryEvent.of(r) for r in self.db.execute(
            "SELECT * FROM events WHERE pipeline=? AND key=? ORDER BY id", (pipeline, key))]

    def last_run(self, pipeline: str) -> JournalRun | None:
        row = self.db.execute("SELECT * FROM runs WHERE pipeline=? ORDER BY started_at DESC "
                              "LIMIT 1", (pipeline,)).fetchone()
        return JournalRun.of(row) if row else None

    def pipelines(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT DISTINCT pipeline FROM documents "
                                              "ORDER BY pipeline")]
