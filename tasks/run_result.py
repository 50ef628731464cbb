"""A pipeline run's outcome: what the flow returns and every output renders, one module each
(the terminal: ``flows.terminal``; the run-summary artifact: ``tasks.run_markdown``; the
readiness report's HTML and CSV: ``tasks.readiness``; alerts: ``flows.notify``).

The flow counts what moved chunk by chunk (``RunTally``), then the report stage (or, in a dry
run, the readiness stage) returns one frozen result: ``RunResult`` or ``DryRunResult``; a run
that failed is a ``FailedRun``. Text here is plain: each output makes it inert as it renders it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Mapping

from tasks.held import HeldGroup
from tasks.reconcile import Reconciliation


@dataclass(frozen=True)
class PostedBatch:
    """A ConnectWise accounting batch the run created (the post stage's answer)."""

    batch: str                  # the batch identifier cwsage wrote
    id: int | None              # ConnectWise's id of it
    documents: int
    gl_entries: int

    @classmethod
    def of(cls, answer: Mapping[str, Any]) -> "PostedBatch":
        return cls(answer["batch"], answer.get("id"), answer["documents"],
                   answer.get("gl_entries", 0))


@dataclass(frozen=True)
class RunCounts:
    """What one run moved, in documents."""

    unposted: int = 0           # unposted in ConnectWise at the start
    chunks: int = 0
    loaded: int = 0
    already_present: int = 0
    rejected: int = 0
    quarantined: int = 0
    priced: int = 0             # priced by the money gate
    gate_held: int = 0          # … and held for money that differs from ConnectWise
    handed_off: int = 0
    confirmed: int = 0          # confirmed by the Sage side since the last run
    import_failed: int = 0      # refused by the Sage-side importer
    strays: int = 0             # named by the importer, never handed off by cwsage
    unreadable: tuple[str, ...] = ()     # what could not be read from the Sage side yet
    batches: tuple[PostedBatch, ...] = ()

    @property
    def posted(self) -> int:
        """Documents batched in ConnectWise by this run."""
        return sum(b.documents for b in self.batches)


class RunTally:
    """What a run has found so far, kept by the flow alone: the counts (each chunk added as it
    is loaded and posted), the highest cursor value the chunks found, and the company records
    fetched (an immutable snapshot each chunk's extract reads)."""

    def __init__(self, unposted: int, chunks: int, recovered: Mapping[str, Any],
                 leftover: Mapping[str, Any] | None, known: Any = None):
        self.cursor: str | None = None
        self.known = known
        self.counts = RunCounts(
            unposted=unposted, chunks=chunks, confirmed=recovered.get("confirmed", 0),
            import_failed=recovered.get("import_failed", 0),
            strays=len(recovered.get("strays") or ()),
            unreadable=tuple(recovered.get("unreadable") or ()),
            batches=(PostedBatch.of(leftover),) if leftover else ())

    def extracted(self, chunk) -> None:
        """A chunk was extracted: its cursor value and its company records are the run's."""
        if chunk.cursor and (self.cursor is None or chunk.cursor > self.cursor):
            self.cursor = chunk.cursor
        if self.known is not None:
            self.known = self.known.with_chunk(chunk)

    def add(self, loaded, held_before_load: int, batch: Mapping[str, Any] | None) -> None:
        """One chunk: its load summary, how many validation held, the batch it was posted in."""
        c = self.counts
        self.counts = replace(
            c, loaded=c.loaded + len(loaded.loaded),
            handed_off=c.handed_off + len(loaded.handed_off),
            already_present=c.already_present + len(loaded.already_present),
            rejected=c.rejected + len(loaded.rejected),
            quarantined=c.quarantined + held_before_load + len(loaded.gate_held),
            priced=c.priced + loaded.priced, gate_held=c.gate_held + len(loaded.gate_held),
            batches=c.batches + ((PostedBatch.of(batch),) if batch else ()))


@dataclass(frozen=True)
class RunResult:
    """A run that completed: what moved, the journal's states after it, the reconciliation
    and the held documents grouped by cause."""

    pipeline: str
    run_id: str
    counts: RunCounts
    states: Mapping[str, int]
    has_money: bool             # its documents carry money (not list records)
    reconciliation: Reconciliation
    held: tuple[HeldGroup, ...]
    noun: str                   # what one document is called: invoice, expense bill, …
    post_back: bool = True      # batched back to ConnectWise once in Sage (not every kind is)

    @property
    def ok(self) -> bool:
        return self.reconciliation.agrees


@dataclass(frozen=True)
class DryRunResult:
    """A dry run: the readiness of each document, and where its report was written."""

    pipeline: str
    run_id: str
    counts: RunCounts
    ready: int
    warnings: int
    blocked: int
    report_csv: str
    report_html: str
    rows: tuple[dict, ...]      # the report's document rows (``tasks.readiness.COLUMNS``)
    held: tuple[HeldGroup, ...]
    noun: str
    ok = True


@dataclass(frozen=True)
class FailedRun:
    """A run that did not complete: the error, in one line."""

    pipeline: str
    error: str
    ok = False


Outcome = RunResult | DryRunResult | FailedRun
