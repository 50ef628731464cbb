"""Sage-side writers: load Sage 50 UK XML (Zynk schema) into a target, behind one protocol.

    writer = get_writer("sage50_replica", settings, home)
    receipt = writer.load(company_xml, source="invoices chunk 3")

``sage50_replica`` is an embedded SQLite replica of a Sage 50 UK company that applies Sage's
import rules and posts to the ledgers; ``zynk_xml_outbox`` drops the XML, atomically and never
twice per document, into a folder a Sage-side Zynk importer reads.
"""

from __future__ import annotations

import difflib
from pathlib import Path

from tasks.errors import ConfigError
from tasks.sage50.import_csv_writer import CsvImportWriter
from tasks.sage50.outbox import OutboxWriter
from tasks.sage50.protocol import Writer
from tasks.sage50.replica import ReplicaWriter
from tasks.config.sage import SETTINGS

WRITERS: dict[str, type] = {
    ReplicaWriter.name: ReplicaWriter,
    OutboxWriter.name: OutboxWriter,
    CsvImportWriter.name: CsvImportWriter,
}

def get_writer(name: str, settings, home: Path) -> Writer:
    """Build the writer registered as ``name`` with its validated settings (``SETTINGS[name]``,
    ``None``: the defaults); an unknown name lists the known ones."""
    cls = WRITERS.get(name)
    if cls is None:
        close = difflib.get_close_matches(str(name), list(WRITERS), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ConfigError(f"unknown Sage writer {name!r}{hint} — valid values: "
                          f"{', '.join(WRITERS)}")
    return cls(settings if settings is not None else SETTINGS[name](), Path(home))
