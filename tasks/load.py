"""Load: hand a chunk's Sage 50 XML to the configured writer and record what it accepted."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

from prefect import task
from prefect.cache_policies import NO_CACHE

from tasks.artifacts import publish_table
from tasks.errors import LoadError, stage_message
from tasks.chunks import chunk_export
from tasks.confirm import settle_handoffs
from tasks.faults import crash_point
from tasks.gate import MoneyCheck, changed_in_target, target_problems
from tasks.sage50.protocol import (ALREADY_PRESENT, HANDED_OFF, HELD, LOADED, REJECTED,
                                   HandoffWriter)
from tasks.sage50.rules import fixes
from tasks.held import plural

log = logging.getLogger("cwsage.load")


@dataclass(frozen=True)
class LoadSummary:
    number: int
    loaded: tuple[str, ...]
    already_present: tuple[str, ...]
    rejected: tuple[str, ...]
    accounts_created: tuple[str, ...]
    priced: int = 0                          # documents the money gate priced
    gate_held: tuple[str, ...] = ()          # … and held before Sage
    handed_off: tuple[str, ...] = ()         # written for a Sage-side importer to confirm
    # loaded, and checked in the target by this load (the money gate priced them, or found
    # them unchanged there): the post stage that follows need not ask the target again
    confirmed: frozenset[str] = frozenset()


def hold_for_money(run, journal, holds: dict[str, list]) -> None:
    """Documents the money gate held: quarantined with both figures, never in Sage."""
    if holds:
        journal.quarantine(run.pipeline, run.run_id, {
            key: [dict(h.as_dict(), expectation="money gate") for h in found]
            for key, found in holds.items()}, stage="gate")
        log.warning("[%s] load: the money gate held %s", run.pipeline,
                    plural(len(holds), "document"))


def changed_gate(run, journal, writer, facts, xml: bytes,
                 keys: tuple[str, ...]) -> tuple[bytes, tuple[str, ...]]:
    """Documents already in the target that changed in ConnectWise since: held, taken out."""
    present = writer.present(keys)
    if not present:
        return xml, keys
    xml, held = changed_in_target(xml, writer.totals(present), facts)
    hold_for_money(run, journal, held)
    return xml, tuple(k for k in keys if k not in held)


def load_documents(run, journal, writer, xml: bytes, keys: tuple[str, ...], source: str,
                   number: int = 0, check: MoneyCheck | None = None) -> LoadSummary:
    """Intent first (``loading``), then the writer — which prices each document and lets the
    money gate (``check``) hold it — then the outcome per document, then the check after
    load: what the target holds against what was priced."""
    pipeline = run.pipeline
    journal.mark(pipeline, run.run_id, keys, "loading", source)
    crash_point("before-writer")
    receipt = writer.load(xml, source=source, check=check)
    crash_point("after-writer")
    results = {r.key: r for r in receipt.results if r.key in set(keys)}
    silent = [k for k in keys if k not in results]
    if silent:
        raise LoadError(stage_message(pipeline, "load", f"the writer did not report on "
                                      f"{len(silent)} documents ({', '.join(silent[:5])}); "
                                      "they stay 'loading' and are checked on the next run"))
    by = lambda status: tuple(k for k, r in results.items() if r.status == status)  # noqa: E731
    held = by(HELD)
    hold_for_money(run, journal, {k: check.held[k] for k in held} if check else {})
    written = by(LOADED) + by(HANDED_OFF)
    priced = {k: check.priced[k] for k in written if k in check.priced} if check else {}
    unreconciled = target_problems(priced, writer.totals(priced)) if priced else {}
    handoff = isinstance(writer, HandoffWriter)     # in Sage only once Sage confirms it
    done = {k: r.sage_ref if r.status != ALREADY_PRESENT or handoff
            else f"already in Sage: {r.sage_ref}"
            for k, r in results.items() if r.status in (LOADED, HANDED_OFF, ALREADY_PRESENT)
            and k not in unreconciled}
    if handoff:
        journal.hand_off(pipeline, run.run_id, done)
        if by(ALREADY_PRESENT):             # handed off before: Sage may have answered
            settle_handoffs(journal, pipeline, run.run_id, writer, by(ALREADY_PRESENT))
    else:
        journal.mark_loaded(pipeline, run.run_id, done)
    journal.hold_unreconciled(pipeline, run.run_id, {
        key: [dict(h.as_dict(), expectation="target check") for h in holds]
        for key, holds in unreconciled.items()})
    rejected = {k: [{"expectation": "sage import", "reason": r.reason,
                     "fix": fixes(r.reason)}]
                for k, r in results.items() if r.status == REJECTED}
    journal.quarantine(pipeline, run.run_id, rejected, stage="load")
    crash_point("after-load")
    checked_here = frozenset(done) if check is not None and not handoff else frozenset()
    return LoadSummary(number, by(LOADED), by(ALREADY_PRESENT), tuple(rejected),
                       tuple(receipt.accounts_created), len(check.priced) if check else 0,
                       held, by(HANDED_OFF), checked_here)


def record_quarantine(run, journal, checked, sage_chunk, open_keys: set[str]) -> None:
    """Validation findings and stylesheet failures, into the journal. This stage writes them,
    so a cached validate/transform result has exactly the effect of a computed one."""
    held = {k: v for k, v in checked.reasons().items() if k in open_keys}
    journal.quarantine(run.pipeline, run.run_id, held, stage="validate")
    journal.quarantine(run.pipeline, run.run_id, {
        key: [{"expectation": "stylesheet", "reason": message,
               "fix": "correct the stylesheet (or the document in ConnectWise) and run again"}]
        for key, message in sage_chunk.failures if key in open_keys}, stage="transform")


def publish_stages(run, chunk, checked) -> None:
    """The extraction, validation and quarantine artifacts of a chunk, published here, by a
    stage that is never cached: a retried run whose earlier stages came from the cache shows
    them as a fresh one does."""
    publish_table(run.pipeline, "extraction", [{
        "chunk": chunk.number, "documents": len(chunk.keys), "lines": chunk.lines,
        "customers": chunk.companies}], f"Chunk {chunk.number} of run {run.run_id}")
    publish_table(run.pipeline, "validation", list(checked.table),
                  f"Expectations on chunk {checked.number} of run {run.run_id}")
    if checked.findings:
        publish_table(run.pipeline, "quarantine", list(checked.findings),
                      f"Documents held back in chunk {checked.number}: reason and fix")


@task(name="load", task_run_name="{run.pipeline}-load", cache_policy=NO_CACHE)
def load_task(run, journal, writer, resolver, chunk, checked, sage_chunk) -> LoadSummary:
    """The chunk's findings into the journal, then its documents through the money gate into
    the target (``writer``); what the target already holds that changed in ConnectWise is
    held, never written over."""
    pipeline = run.pipeline
    publish_stages(run, chunk, checked)
    pending = set(journal.keys_in(pipeline, "extracted"))
    record_quarantine(run, journal, checked, sage_chunk,
                      pending | set(journal.keys_in(pipeline, "quarantined")))
    keys = tuple(k for k in sage_chunk.keys if k in pending)   # a retry skips what is done
    if sage_chunk.packed is None or not keys:
        return LoadSummary(sage_chunk.number, (), (), (), ())
    source = f"{run.pipeline} chunk {sage_chunk.number}"
    xml, check, changed = sage_chunk.xml, None, ()
    if run.entity.has_money:
        before = keys
        xml, keys = changed_gate(run, journal, writer, resolver.facts, xml, keys)
        changed = tuple(k for k in before if k not in keys)
        if not keys:
            return LoadSummary(sage_chunk.number, (), (), (), (), 0, changed)
        check = MoneyCheck(resolver.resolve(chunk_export(chunk.path)), resolver.facts)
    summary = load_documents(run, journal, writer, xml, keys, source, sage_chunk.number, check)
    summary = replace(summary, priced=summary.priced + len(changed),
                      gate_held=changed + summary.gate_held)
    log.info("[%s] load: chunk %d: %d loaded, %d handed off, %d already in Sage, %d rejected",
             run.pipeline, sage_chunk.number, len(summary.loaded), len(summary.handed_off),
             len(summary.already_present), len(summary.rejected))
    publish_table(run.pipeline, "load-receipt", receipt_rows(summary, keys),
                  f"Load receipt for chunk {sage_chunk.number} of run {run.run_id}")
    return summary


def receipt_rows(summary: LoadSummary, keys: tuple[str, ...]) -> list[dict]:
    """The receipt as a person reads it: the range of documents and how many went where, then
    every exception (rejected, already in Sage) and every account created. Each document's own
    Sage reference is in the journal (``cwsage quarantine``, ``status``), not in the UI's DB."""
    rows = [{"documents": f"{keys[0]} … {keys[-1]}" if len(keys) > 1 else keys[0],
             "outcome": "loaded", "count": len(summary.loaded)}]
    if summary.handed_off:
        rows.append({"documents": f"{summary.handed_off[0]} … {summary.handed_off[-1]}",
                     "outcome": "handed off to the Sage-side importer, waiting for Sage",
                     "count": len(summary.handed_off)})
    rows += [{"documents": k, "outcome": "already in Sage", "count": 1}
             for k in summary.already_present[:100]]
    rows += [{"documents": k, "outcome": "rejected by Sage", "count": 1} for k in summary.rejected]
    rows += [{"documents": k, "outcome": "held by the money gate", "count": 1}
             for k in summary.gate_held]
    rows += [{"documents": ref, "outcome": "account created", "count": 1}
             for ref in summary.accounts_created]
    return rows
