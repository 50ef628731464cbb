"""A Sage-side importer that runs here: what Zynk (or Sage's own File > Import) does next to a
real Sage 50, played against the replica, which stands in for the Sage company — so the whole
two-phase handoff (write a file, import it, read the confirmation, only then mark documents
exported in ConnectWise) runs in tests, the crash suite and the demo. ``docs/zynk-importer.md``
says what it imitates and what is not verified.

``import_outbox`` is Zynk's XML import: each ``*.xml`` is loaded record by record in Zynk's
order with Prevent Duplicates and Auto Create Account, the replica applying Sage's rules; every
record goes to ``<stem>-success.xml`` or ``<stem>-fail.xml`` (``zynk_files``), then the input
moves into ``processed/``. ``import_csv_sets`` is Sage's CSV import (``sage_import_csv``), its
imported sets remembered in ``.sage-import-state.json``. Nothing prints or exits: a user mistake
raises ``ConfigError`` naming the path and the fix; a damaged input is reported in
``ImportReport.messages`` and left where it is, unimported.
"""

from __future__ import annotations

import hashlib
import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from lxml import etree

from tasks.errors import ConfigError, LoadError
from tasks.files import write_atomic
from tasks.gate import without
from tasks.held import plural
from tasks.sage50.protocol import ALREADY_PRESENT, LOADED, DocumentResult
from tasks.sage50.replica import ReplicaWriter
from tasks.sage50.sage_import_csv import import_set
from tasks.sage50.sage_import_sets import (Damaged, read_input, read_set, read_state, set_dirs,
                                           write_state)
from tasks.sage50.sagexml import CompanyXml, parse_company
from tasks.sage50.zynk_files import DUPLICATE_DESCRIPTION, ZynkError, outcome_document

PROCESSED = "processed"
MOVED_AWAY = "moved-away"
IMPORT_ERROR = "Import Error"
DUPLICATE_ERROR = "Duplicate"
FAULT_ERRORS = ("The period is locked", "Account is on hold")


@dataclass(frozen=True)
class ImportOptions:
    prevent_duplicates: bool = True      # Zynk: an Id imported before is skipped into the Fail File
    auto_create_accounts: bool = True    # Zynk invoices task: create a missing customer
    fail_share: float = 0.0              # fault: fail this share of documents (by key hash)
    half_written: bool = False           # fault: leave the last outcome file cut off half way
    again: bool = False                  # fault: import what was processed once more
    move_away: bool = False              # fault: move the input away without importing it
    financial_year_start: date | None = None   # CSV: dates outside the year are "out of range"

    def __post_init__(self) -> None:
        if not 0 <= self.fail_share <= 1:
            raise ConfigError(f"sage import options: fail_share: got {self.fail_share!r} — "
                              f"expected a share from 0 to 1, e.g. 0.2")


@dataclass
class ImportReport:
    files: list[str] = field(default_factory=list)     # input files (or CSV sets) imported
    imported: int = 0                    # documents and accounts imported
    failed: int = 0                      # refused, with a reason
    duplicates: int = 0                  # skipped or found as already imported
    moved_away: int = 0                  # input files (or sets) moved away unimported
    messages: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """A short human summary: one line of counts, then the messages."""
        head = (f"{plural(len(self.files), 'file')} read: {self.imported} imported, "
                f"{self.failed} failed, {plural(self.duplicates, 'duplicate')}")
        if self.moved_away:
            head += f", {self.moved_away} moved away unimported"
        return [head, *self.messages]


@dataclass(slots=True)
class _Doc:
    """One record of the input (an account, an invoice, a transaction group) and its fate."""
    key: str
    elements: list[etree._Element]       # one element, or a transaction group's splits
    account: bool
    errors: list[ZynkError] = field(default_factory=list)
    duplicate: bool = False


def import_outbox(folder: Path, success_folder: Path, fail_folder: Path,
                  replica: ReplicaWriter, options: ImportOptions = ImportOptions()
                  ) -> ImportReport:
    """Import every unprocessed ``*.xml`` in ``folder`` into the replica, as Zynk would."""
    folder = require_folder(folder, "the Zynk outbox folder")
    outcome = (_outcome_folder(folder, success_folder, "Success"),
               _outcome_folder(folder, fail_folder, "Fail"))
    report = ImportReport()
    inputs = _inputs(folder, options.again)
    if options.move_away:
        for path in (p for p in inputs if p.parent == folder):
            _move_away(path, folder, report)
        return report
    for path in inputs:
        if not _import_file(path, folder, outcome, replica, options, report):
            break                        # half_written: the importer "died" mid-file
    return report


def import_csv_sets(folder: Path, replica: ReplicaWriter,
                    options: ImportOptions = ImportOptions()) -> ImportReport:
    """Import every CSV set in ``folder`` not imported before, as Sage's File > Import would."""
    folder = require_folder(folder, "the Sage CSV import folder")
    state = read_state(folder)
    report = ImportReport()
    for set_dir in set_dirs(folder, report, skip=MOVED_AWAY):
        if set_dir.name in state and not options.again:
            continue
        if options.move_away:
            _move_away(set_dir, folder, report)
            continue
        try:
            csv_set = read_set(set_dir)
        except Damaged as exc:
            report.messages.append(f"{set_dir.name}: not imported, left in place — {exc}")
            continue
        import_set(csv_set, replica, options, report)
        report.files.append(set_dir.name)
        state[set_dir.name] = {"imported_at": datetime.now().isoformat(timespec="seconds")}
        write_state(folder, state)
    return report


def _move_away(path: Path, folder: Path, report: ImportReport) -> None:
    move_into(path, folder / MOVED_AWAY)
    report.moved_away += 1
    report.messages.append(f"{path.name}: moved to {MOVED_AWAY}/ unimported (move_away fault)")


def _outcome_folder(folder: Path, where: Path, which: str) -> Path:
    where = make_folder(Path(where), f"the {which} File folder")
    if where.resolve() in (folder.resolve(), (folder / PROCESSED).resolve()):
        raise ConfigError(f"{where}: the {which} Files would land in the folder the importer "
                          f"reads, and be imported — give them a folder of their own")
    return where


def _inputs(folder: Path, again: bool) -> list[Path]:
    def xml_in(where: Path) -> list[Path]:
        return sorted(p for p in where.glob("*.xml") if p.is_file() and not p.name.startswith("."))
    processed = folder / PROCESSED
    return (xml_in(processed) if again and processed.is_dir() else []) + xml_in(folder)


def _import_file(path: Path, folder: Path, outcome: tuple[Path, Path], replica: ReplicaWriter,
                 options: ImportOptions, report: ImportReport) -> bool:
    """One input file; False when the half_written fault stopped the importer."""
    data = read_input(path)
    try:
        company = parse_company(data)
    except LoadError as exc:
        report.messages.append(f"{path.name}: not imported, left in {path.parent} — {exc}")
        return True
    docs = _load(company, data, replica, options, path.name)
    _tally(path.name, docs, options, report)
    report.files.append(path.name)
    if not _write_outcomes(path.stem, docs, outcome, options.half_written):
        report.messages.append(f"{path.name}: the importer stopped while writing its result "
                               f"(half_written fault); the file stays in {path.parent}")
        return False
    if path.parent == folder:
        move_into(path, folder / PROCESSED)
    return True


def _documents(company: CompanyXml) -> list[_Doc]:
    """The records in the order the replica reports them: accounts, invoices, transactions."""
    return ([_Doc(a.key, [a.element], True) for a in company.accounts]
            + [_Doc(i.key, [i.element], False) for i in company.invoices]
            + [_Doc(g.key, [s.element for s in g.splits], False) for g in company.transactions])


def _load(company: CompanyXml, data: bytes, replica: ReplicaWriter, options: ImportOptions,
          source: str) -> list[_Doc]:
    docs = _documents(company)
    stamp = timestamp()
    chosen = {id(d): fault for d in docs if not d.account
              and (fault := fault_error(d.key, options.fail_share))}
    xml = without(company, {d.key for d in docs if id(d) in chosen}) if chosen else data
    loaded = [d for d in docs if id(d) not in chosen]
    with _auto_create(replica, options.auto_create_accounts):
        receipt = replica.load(xml, source=source)
    if [r.key for r in receipt.results] != [d.key for d in loaded]:
        raise LoadError(f"{source}: the replica's receipt does not match the file's records — "
                        f"report this as a cwsage bug")
    for doc, result in zip(loaded, receipt.results):
        _judge(doc, result, options, stamp)
    for doc in docs:
        if id(doc) in chosen:
            doc.errors = [ZynkError(stamp, IMPORT_ERROR, chosen[id(doc)])]
    return docs


def _judge(doc: _Doc, result: DocumentResult, options: ImportOptions, stamp: str) -> None:
    """What Zynk would say of one record, from what the replica did with it."""
    if result.status == LOADED or (result.status == ALREADY_PRESENT and doc.account):
        return                           # Zynk's customer/supplier tasks create or update
    if result.status == ALREADY_PRESENT:
        doc.duplicate = True
        if options.prevent_duplicates:
            doc.errors = [ZynkError(stamp, DUPLICATE_ERROR, DUPLICATE_DESCRIPTION)]
        return
    reason = (result.reason or "refused by Sage").removeprefix(f"{doc.key}: ")
    doc.errors = [ZynkError(stamp, IMPORT_ERROR, reason)]


def _tally(name: str, docs: list[_Doc], options: ImportOptions, report: ImportReport) -> None:
    for doc in docs:
        if doc.duplicate and options.prevent_duplicates:
            report.duplicates += 1
        elif doc.errors:
            report.failed += 1
            report.messages.append(f"{name}: {doc.key} failed — {doc.errors[0].description}")
        else:
            report.imported += 1
            if doc.duplicate:
                report.messages.append(
                    f"{name}: {doc.key} imported again with Prevent Duplicates off — a real "
                    f"Sage would now hold it twice; the replica cannot hold a duplicate, so it "
                    f"holds it once")


def _write_outcomes(stem: str, docs: list[_Doc], outcome: tuple[Path, Path],
                    half_written: bool) -> bool:
    """The Fail File, then the Success File, each only when it has records. With
    ``half_written`` the last one is left cut off half way (returns False)."""
    fail = [(el, d.errors) for d in docs if d.errors for el in d.elements]
    success = [(el, []) for d in docs if not d.errors for el in d.elements]
    files = [(outcome[1] / f"{stem}-fail.xml", fail), (outcome[0] / f"{stem}-success.xml",
                                                        success)]
    files = [(path, records) for path, records in files if records]
    for n, (path, records) in enumerate(files, start=1):
        data = outcome_document(records)
        try:
            if half_written and n == len(files):
                path.write_bytes(data[:len(data) // 2])
                return False
            write_atomic(path, data, durable=True)
        except OSError as exc:
            raise ConfigError(f"{path}: cannot write the import result ({exc}) — make "
                              f"{path.parent} writable; the input is imported again on the "
                              f"next run and its documents then show as duplicates") from exc
    return True


@contextmanager
def _auto_create(replica: ReplicaWriter, on: bool):
    """Zynk's Auto Create Account, for one load: the replica reads it from its settings."""
    before = replica.settings
    replica.settings = before.model_copy(update={"auto_create_accounts": on})
    try:
        yield
    finally:
        replica.settings = before


def fault_error(key: str, share: float) -> str | None:
    """The Sage-like error a ``fail_share`` fault gives document ``key``, or None: the same
    documents fail on every run (by a hash of the key)."""
    if share <= 0:
        return None
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    if int.from_bytes(digest[:4], "big") / 2 ** 32 >= share:
        return None
    return FAULT_ERRORS[digest[4] % len(FAULT_ERRORS)]


# -- files and folders -------------------------------------------------------------------------

def timestamp() -> str:
    """An Error's Date, as Zynk writes dates: yyyy-MM-ddTHH:mm:ss."""
    return datetime.now().strftime("%Y-%m-%dT%H:%M:%S")


def require_folder(folder: Path, what: str) -> Path:
    folder = Path(folder)
    if not folder.is_dir():
        raise ConfigError(f"{folder}: {what} does not exist or is not a folder — create it, or "
                          f"give the folder cwsage writes to")
    return folder


def make_folder(folder: Path, what: str) -> Path:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"{folder}: {what} cannot be created ({exc}) — create it by hand or "
                          f"give a folder this user can write") from exc
    return folder


def move_into(path: Path, folder: Path) -> Path:
    """Move a file or a folder into ``folder``; a name already there gets a number."""
    make_folder(folder, f"the {folder.name} folder")
    target, n = folder / path.name, 1
    while path.is_dir() and target.exists():
        n += 1
        target = folder / f"{path.name}-{n}"
    try:
        os.replace(path, target)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be moved into {folder} ({exc}) — check the folder's "
                          f"permissions") from exc
    return target
