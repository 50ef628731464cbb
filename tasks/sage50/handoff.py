"""What the two file writers share: the manifest's answers about handed-off documents.

A document written for a Sage-side importer is confirmed by evidence from the Sage side (a
Zynk success file, Sage's own tables read through ODBC) or by the person who imported the
file (``cwsage confirm FILE``); the manifest keeps the latest word per document.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

from tasks.errors import ConfigError
from tasks.sage50.outbox_manifest import Manifest
from tasks.sage50.protocol import FAILED, IMPORTED

SHOWN_FILES = 5


class ManifestHandoff:
    """Mixed into a file writer that keeps a ``Manifest`` (``self._live()``) and a lock."""

    name: str

    def file_name(self, given: str) -> str:
        """The manifest's name for a written file, from its path or name as a person gives
        it (the import CSV writer names a set after its folder)."""
        return Path(given.strip()).name

    def handoff_of(self, given: str) -> list[str]:
        """The document keys handed off in one written file; a name never written is an
        error that lists the newest files."""
        with self._lock:
            manifest: Manifest = self._live()
            name = self.file_name(given)
            keys = manifest.keys_of_file(name)
            if keys:
                return keys
            newest = manifest.file_names()[:SHOWN_FILES]
            listed = ", ".join(newest) if newest else "none yet"
            raise ConfigError(f"{self.name}: {given!r} is not a file this writer handed off "
                              f"— give the name of a written file (newest: {listed})")

    def record_confirmation(self, keys: Iterable[str], evidence: str,
                            failed: str | None = None) -> None:
        """A person's word on a file: imported, or (``failed``: why) not imported."""
        outcome = FAILED if failed else IMPORTED
        fix = ("correct the cause, then `cwsage resend {key}` to write it again for the "
               "importer") if failed else None
        with self._lock:
            self._live().record_outcomes([(k, outcome, evidence, failed,
                                           fix.format(key=k) if fix else None) for k in keys])
