"""The journal's part for documents handed off to a Sage-side importer (a file writer).

Handed off, a document waits ``handed_off`` until the Sage side confirms it; refused by the
Sage side, it is quarantined (stage ``sage import``) and stays so — a new extraction that finds
it unchanged leaves it there — until a person says the cause is fixed (``release``, the
command ``cwsage resend``) or it changes in ConnectWise.
"""

from __future__ import annotations

from typing import Iterable

from tasks.journal_records import JournalDocument, reasons_of

SAGE_IMPORT = "sage import"     # the stage of a hold the Sage-side importer asked for


class HandoffLedger:
    """Mixed into ``Journal`` (its store ``db``, ``_tx``, ``_move_many``, ``documents``)."""

    def hand_off(self, pipeline: str, run_id: str, refs: dict[str, str | None]) -> None:
        """Written for a Sage-side importer (``refs``: key → the file): waiting for Sage."""
        with self._tx():
            self._move_many(pipeline, run_id, [(k, "handed_off", ref, {"sage_ref": ref})
                                                for k, ref in refs.items()])

    def waiting(self, pipeline: str) -> list[JournalDocument]:
        """Documents handed off to a Sage-side importer and not yet confirmed, oldest first;
        ``updated_at`` is when they were handed off, ``sage_ref`` names the file."""
        return sorted(self.documents(pipeline, states=["handed_off"]),
                      key=lambda doc: (doc.updated_at, doc.key))

    def _refused_by_sage(self, pipeline: str, keys: list[str]) -> dict[str, str]:
        """key → content hash of the documents among ``keys`` held because the Sage-side
        importer refused them (stage ``sage import``)."""
        out = {}
        for start in range(0, len(keys), 900):
            part = keys[start:start + 900]
            for row in self.db.execute(
                    f"SELECT key, reasons, content_hash FROM documents WHERE pipeline=? AND "
                    f"key IN ({','.join('?' * len(part))})", (pipeline, *part)):
                stages = {r.stage for r in reasons_of(row["reasons"])}
                if SAGE_IMPORT in stages:
                    out[row["key"]] = row["content_hash"]
        return out

    def release(self, pipeline: str, run_id: str, keys: Iterable[str] | None,
                detail: str) -> list[str]:
        """Documents the Sage-side importer refused (all, or ``keys`` among them) go back to
        be extracted and written again: the person says the cause is fixed in Sage."""
        with self._tx():
            held = self._refused_by_sage(pipeline, self.keys_in(pipeline, "quarantined"))
            chosen = sorted(held if keys is None else [k for k in keys if k in held])
            self._move_many(pipeline, run_id, [(k, "extracted", detail, {"reasons": None})
                                                for k in chosen])
        return chosen
