"""The contract every Sage-side writer keeps, and the records a load returns.

A writer takes one Sage 50 UK XML document (a Zynk ``<Company>``), loads it into its target and
says, per document, what happened. Document keys are the XML ``<Id>`` of an invoice, customer or
supplier, and the ``SecondReference`` of a group of transaction splits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Protocol, runtime_checkable

LOADED = "loaded"
HANDED_OFF = "handed_off"    # written for a Sage-side importer; in Sage only once it confirms
ALREADY_PRESENT = "already_present"
REJECTED = "rejected"
HELD = "held"                # the caller's check refused it before anything was written
STATUSES = (LOADED, HANDED_OFF, ALREADY_PRESENT, REJECTED, HELD)
# A check the caller hands to ``Writer.load``: called with each document as Sage prices it
# (``pricing.PricedDoc``) before it is written; True holds the document back.
Check = Callable[[Any], bool]


@dataclass(frozen=True)
class SageFacts:
    """What the resolve step must know of the target company: each tax code's rate, the
    currencies with a configured exchange rate (foreign units per base unit), the base."""

    tax_rates: Mapping[int, Decimal]
    currency_rates: Mapping[str, Decimal]
    base_currency: str = "GBP"
    rates_key: str = "sage.sage50_replica.currency_rates"    # where a user configures rates

    def rate_of(self, code: int | None) -> Decimal | None:
        return None if code is None else self.tax_rates.get(code)


@dataclass(frozen=True)
class DocumentResult:
    key: str                 # the document's XML key, e.g. "CW-INV-5120"
    status: str              # one of STATUSES
    sage_ref: str | None     # where it sits in Sage, e.g. "SI 12 / invoice 10457"
    reason: str | None       # for "rejected": field, value and the fix


# What the Sage side says of a handed-off document (``HandoffWriter.confirmations``).
IMPORTED = "imported"        # Sage holds it with the money that was handed off
FAILED = "failed"            # the importer did not import it: send it again once fixed
DIFFERS = "differs"          # Sage holds it, but not as it was handed off: a person decides


@dataclass(frozen=True)
class Confirmation:
    key: str
    outcome: str             # IMPORTED | FAILED | DIFFERS
    evidence: str            # where it was read: a success file, a fail file, Sage's tables
    reason: str | None = None    # FAILED/DIFFERS: the importer's words, or what differs
    fix: str | None = None


@dataclass(frozen=True)
class LineTotals:
    nominal_code: str
    tax_code: int
    net: Decimal
    tax: Decimal
    rate: Decimal
    description: str


@dataclass(frozen=True)
class DocumentTotals:
    key: str
    doc_type: str            # "SI" | "SC" | "PI" | "PC"
    account_ref: str
    currency: str
    net: Decimal             # in the document's currency
    tax: Decimal
    gross: Decimal
    lines: tuple[LineTotals, ...]


@dataclass
class LoadReceipt:
    results: list[DocumentResult] = field(default_factory=list)
    accounts_created: list[str] = field(default_factory=list)

    def by_status(self, status: str) -> list[DocumentResult]:
        return [r for r in self.results if r.status == status]

    def counts(self) -> dict[str, int]:
        """How many documents ended in each status (every status always present)."""
        out = dict.fromkeys(STATUSES, 0)
        for r in self.results:
            out[r.status] += 1
        return out


@dataclass
class ConfirmationRead:
    """One reading of the Sage side: what it says of the documents asked about, the Ids it
    names that were never handed off, and the files it could not read yet."""

    confirmations: dict[str, Confirmation] = field(default_factory=dict)
    strays: list[str] = field(default_factory=list)      # "Id 123 in success file X"
    unreadable: list[str] = field(default_factory=list)  # "X: why" — read again next time


@runtime_checkable
class Writer(Protocol):
    name: str
    target: Path             # the replica file, the outbox folder: what a claim is made on

    def load(self, company_xml: bytes, *, source: str,
             check: Check | None = None) -> LoadReceipt: ...

    def facts(self) -> SageFacts: ...

    def present(self, keys: Iterable[str]) -> set[str]: ...

    def totals(self, keys: Iterable[str]) -> dict[str, DocumentTotals]: ...

    def close(self) -> None: ...


@runtime_checkable
class HandoffWriter(Writer, Protocol):
    """A writer whose documents reach Sage through an importer on the Sage side: ``load``
    reports new documents ``handed_off``, ``present``/``totals`` answer for what was handed
    off, and only ``confirmations`` says what Sage holds."""

    def confirmations(self, keys: Iterable[str]) -> ConfirmationRead: ...

    def handoff_of(self, name: str) -> list[str]: ...
