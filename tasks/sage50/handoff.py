"""What the two file writers share: the manifest's answers about handed-off documents.

A document written for a Sage-side importer is confirmed by evidence from the Sage side (a
Zynk success file, Sage's own tables read through ODBC) or by the person who imported the
file (``cwsage confirm FILE``); the manifest keeps the latest word per document.
"""

from __future__ import annotations

import sqlite3
import threading
from decimal import Decimal
from pathlib import Path
from typing import Iterable

from tasks.errors import ConfigError, LoadError
from tasks.sage50 import rules as r
from tasks.sage50.claim import exclusive
from tasks.sage50.outbox_manifest import MANIFEST_NAME, Manifest
from tasks.sage50.protocol import DIFFERS, FAILED, IMPORTED, DocumentTotals, SageFacts

SHOWN_FILES = 5


class NotHandedOff(ConfigError):
    """A name that is not a file this writer handed off."""


class ManifestHandoff:
    """Mixed into a file writer that keeps a ``Manifest`` (``_manifest``), a ``folder`` and a
    lock: what it handed off, and what the Sage side or a person has said of it since."""

    name: str
    folder: Path

    def _open(self, settings, leftovers: str, remove, purpose: str) -> None:
        """Settings read; the Sage company's chart as configured; the folder and its manifest
        opened; files or folders matching ``leftovers`` that a crash left unrenamed (never
        written, so never read by the importer) removed under the folder's write lock."""
        if settings.folder is None:
            raise ConfigError(f"{self.name} settings: folder is required — set it to the "
                              "folder the Sage-side import reads")
        self.settings, self.folder = settings, settings.folder
        rates = {r.BASE_CURRENCY: Decimal(1), **settings.currency_rates}
        self.chart = r.Chart(tax_rates={**r.UK_TAX_RATES, **settings.tax_rates},
                             no_direct=r.NO_DIRECT_POSTING, currencies=rates,
                             lock_date=settings.lock_date)
        self._lock = threading.RLock()
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._manifest: Manifest | None = Manifest(self.folder / MANIFEST_NAME)
            with exclusive(self.folder):     # not another writer's file in progress
                for leftover in self.folder.glob(leftovers):
                    remove(leftover)
        except (OSError, sqlite3.Error) as exc:
            raise ConfigError(f"{self.name} settings: folder: {self.folder} cannot be used "
                              f"{purpose} — {exc}") from exc
        self.repair_manifest()

    @property
    def target(self) -> Path:
        return self.folder

    def facts(self) -> SageFacts:
        """The tax rates and exchange rates the Sage company holds, as configured here."""
        return SageFacts(self.chart.tax_rates, self.settings.currency_rates,
                         r.BASE_CURRENCY, f"sage.{self.name}.currency_rates")

    def present(self, keys: Iterable[str]) -> set[str]:
        with self._lock:
            return self._live().present(keys)

    def totals(self, keys: Iterable[str]) -> dict[str, DocumentTotals]:
        with self._lock:
            return self._live().totals(keys)

    def close(self) -> None:
        with self._lock:
            if self._manifest is not None:
                self._manifest.close()
                self._manifest = None

    def _live(self) -> Manifest:
        if self._manifest is None:
            raise LoadError(f"{self.name}: {self.folder} is closed")
        return self._manifest

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
            raise NotHandedOff(f"{self.name}: {given!r} is not a file this writer handed off "
                              f"— give the name of a written file (newest: {listed})")

    def record_confirmation(self, keys: Iterable[str], evidence: str,
                            failed: str | None = None) -> None:
        """A person's word on a file: imported, or (``failed``: why) not imported. It settles
        only documents the Sage side has not answered for: evidence that Sage holds a document
        (imported) or holds other money (differs) is never overwritten by a word."""
        outcome = FAILED if failed else IMPORTED
        fix = ("correct the cause, then `cwsage resend {key}` to write it again for the "
               "importer") if failed else None
        with self._lock:
            manifest = self._live()
            answered = {k for k, o in manifest.outcomes(keys).items()
                        if o[0] in (IMPORTED, DIFFERS)}
            manifest.record_outcomes([(k, outcome, evidence, failed,
                                       fix.format(key=k) if fix else None)
                                      for k in keys if k not in answered])
