"""Post: mark the documents Sage accepted as posted in ConnectWise, as one accounting batch.

The batch's ``processedRecordIds`` are exactly the GL entry ids of documents the journal holds
as loaded — never of quarantined or rejected ones, never an empty batch. The intent (batch
identifier and ids) is written to the journal before the call; creating a batch is never retried
blindly: when its answer is lost, the batch is looked up by its identifier first.
"""

from __future__ import annotations

import logging
import re

from prefect import task
from prefect.cache_policies import NO_CACHE

from tasks.entities import ALL_FLAGS
from tasks.errors import (ConfigError, CwsageError, FatalError, RetriableError,
                          stage_message)
from tasks.gate import HALF_PENNY
from tasks.faults import crash_point
from tasks.held import plural

log = logging.getLogger("cwsage.post")


def batch_identifier(run, journal) -> str:
    """``CWSAGE-INV-20261125T171500-ab12cd-h4f2e1-003``: unique, ≤ 50 characters. ``h4f2e1``
    names this cwsage home (``Journal.home_marker``), so a batch another home created against
    the same tenant is recognised; the number counts every batch this run has attempted, so a
    retried post never reuses an identifier."""
    kind = run.entity.abbreviation
    sequence = journal.batches_of_run(run.run_id) + 1
    tail = f"-{run.run_id}-h{journal.home_marker()}-{sequence:03d}"
    return f"{run.pipeline_spec.post.batch_prefix}-{kind}"[:50 - len(tail)] + tail


def find_batch(client, identifier: str) -> dict | None:
    """Look a batch up by its identifier (the answer to a lost create-batch response)."""
    found = client.get("/finance/accounting/batches",
                       {"conditions": f'batchIdentifier="{identifier}"', "pageSize": 10})
    return found[0] if found else None


def settle_open_batches(run, journal, client) -> int:
    """Every batch whose create call had no certain outcome (no answer, a timeout, a 5xx) is
    looked up in ConnectWise — first, before anything new is batched, on every attempt: found,
    its documents are posted; not found, it was not created and they are batched again."""
    batches = journal.open_batches(run.pipeline)
    for batch in batches:
        found = find_batch(client, batch.batch_identifier)
        journal.settle_batch(batch.batch_identifier, found["id"] if found else None,
                                 run.run_id)
    return len(batches)


def post_loaded(run, journal, client, writer, checked: frozenset[str] = frozenset(),
                settle_refusal: bool = True) -> dict | None:
    """Batch every document the journal holds as loaded, once the target confirms it holds
    each with ConnectWise's money (``checked``: those the load just before checked there);
    return the batch, or None."""
    pipeline = run.pipeline
    settle_open_batches(run, journal, client)
    loaded = journal.documents(pipeline, states=["loaded"])
    rows = confirmed_in_target(run, journal, writer, loaded, checked)
    if not rows:
        return None
    keys = [r.key for r in rows]
    ids = sorted({i for r in rows for i in r.gl_ids})
    if not ids:
        raise CwsageError(stage_message(pipeline, "post", f"documents {keys[:5]} carry no GL "
                                        "entry ids; refusing to create an empty batch"))
    identifier = batch_identifier(run, journal)
    journal.begin_batch(pipeline, run.run_id, identifier, keys, ids)
    body = {flag: flag == run.entity.export_flag for flag in ALL_FLAGS}
    body.update(batchIdentifier=identifier, processedRecordIds=ids)
    crash_point("before-batch")
    try:
        created = client.post("/finance/accounting/batches", body, retry=False)
    except FatalError as exc:                   # refused: nothing was created
        journal.settle_batch(identifier, None, run.run_id)
        if settle_refusal and adopt_from_refusal(run, journal, client, str(exc)):
            # what is left, once
            return post_loaded(run, journal, client, writer, checked, settle_refusal=False)
        raise
    except CwsageError:                         # no certain answer: look now, and again later
        found = find_batch(client, identifier)
        if found:
            journal.settle_batch(identifier, found["id"], run.run_id)
        raise
    crash_point("after-batch")
    batch_id = (created or {}).get("id") if isinstance(created, dict) else None
    if batch_id is None:
        batch_id = (find_batch(client, identifier) or {}).get("id")
    if batch_id is None:            # answered, yet not found: settled on the next attempt
        raise RetriableError(stage_message(pipeline, "post", f"ConnectWise answered the "
                                           f"create of batch {identifier} but does not list it "
                                           "yet; it is looked up again before anything else"))
    journal.settle_batch(identifier, batch_id, run.run_id)
    crash_point("after-post")
    log.info("[%s] post: batch %s (id %s): %s, %s", pipeline, identifier, batch_id,
             plural(len(keys), "document"), plural(len(ids), "GL entry", "GL entries"))
    return {"batch": identifier, "id": batch_id, "documents": len(keys), "gl_entries": len(ids)}


_IN_BATCH = re.compile(r"already posted in batch (\d+)", re.IGNORECASE)


def adopt_from_refusal(run, journal, client, message: str) -> int:
    """A refusal that says documents are already posted in batch N is evidence, never a dead
    end: the batch is read from ConnectWise and every loaded document whose GL entries it holds
    is recorded as posted in it. A batch this home did not write but another cwsage home did
    stops the pipeline with the way out. Returns how many documents were found posted."""
    adopted = 0
    for cw_id in sorted({int(n) for n in _IN_BATCH.findall(message)}):
        batch = client.get(f"/finance/accounting/batches/{cw_id}") or {}
        identifier = str(batch.get("batchIdentifier") or "")
        _refuse_other_home(run, journal, identifier)
        entries = _entry_ids(client, cw_id)
        rows = journal.documents(run.pipeline, states=["loaded", "posting"])
        keys = [r.key for r in rows if set(r.gl_ids) & entries]
        ours = journal.batch(identifier) is not None
        journal.adopt_posted(run.pipeline, run.run_id, keys, cw_id, identifier,
                                 f"found posted in ConnectWise batch {cw_id} '{identifier}'"
                                 + ("" if ours else " (not written by cwsage)"))
        log.warning("[%s] post: %s already posted in ConnectWise batch %s '%s'; the journal "
                    "now says so", run.pipeline, plural(len(keys), "document"), cw_id, identifier)
        adopted += len(keys)
    return adopted


def _entry_ids(client, cw_id: int) -> set[int]:
    ids: set[int] = set()
    for page in client.pages(f"/finance/accounting/batches/{cw_id}/entries", {"pageSize": 1000}):
        ids.update(int(e["id"]) for e in page if e.get("id") is not None)
    return ids


def _refuse_other_home(run, journal, identifier: str) -> None:
    marker = re.search(r"-h([0-9a-f]{6})-\d{3}$", identifier)
    prefix = f"{run.pipeline_spec.post.batch_prefix}-{run.entity.abbreviation}-"
    if marker and identifier.startswith(prefix) and marker.group(1) != journal.home_marker():
        raise ConfigError(stage_message(run.pipeline, "post", (
            f"ConnectWise batch '{identifier}' was written by another cwsage home (h"
            f"{marker.group(1)}; this one is h{journal.home_marker()}) for the same "
            f"documents — two homes are loading one tenant into two targets. Run each pipeline "
            f"from one home (see the README: running on several machines); nothing more was "
            f"batched")))


def confirmed_in_target(run, journal, writer, rows: list,
                        checked: frozenset[str] = frozenset()) -> list:
    """The target is asked before a batch: a document the load just before did not check
    (``checked``; one loaded by an earlier or interrupted run) must still be in the target with
    ConnectWise's money. One the target does not hold goes back to be loaded; one it holds
    with other money is held as unreconciled — neither is ever batched."""
    earlier = [r for r in rows if r.key not in checked]
    if not earlier:
        return rows
    keys = [r.key for r in earlier]
    totals = writer.totals(keys)
    absent = [k for k in keys if k not in totals]
    verdicts = {r.key: money_disagreement(r, totals[r.key]) for r in earlier if r.key in totals}
    differs = {key: [reason] for key, reason in verdicts.items() if reason}
    journal.mark(run.pipeline, run.run_id, absent, "extracted",
                     "not in the target when it was to be batched: loaded again")
    journal.hold_unreconciled(run.pipeline, run.run_id, {
        k: [{"expectation": "target check", "reason": reason, "fix": (
            "compare the document in Sage with ConnectWise and correct Sage by hand; it is "
            "not batched until they agree")}] for k, [reason] in differs.items()})
    if absent or differs:
        log.warning("[%s] post: of the documents loaded earlier, the target lacks %d and "
                    "disagrees on %d; none of them is batched", run.pipeline, len(absent),
                    len(differs))
    return [r for r in rows if r.key not in set(absent) | set(differs)]


def money_disagreement(row, held) -> str | None:
    """ConnectWise's totals (the journal's) against the target's, with Sage's per-line VAT
    rounding allowed (half a penny a line)."""
    net, tax = row.net, row.tax
    bound = HALF_PENNY * max(1, len(held.lines))
    if held.doc_type != row.doc_type or held.net != net or abs(held.tax - tax) > bound:
        return (f"the target holds {held.doc_type} net {held.net} VAT {held.tax}; ConnectWise "
                f"states {row.doc_type} net {net} VAT {tax}")
    return None


@task(name="post", task_run_name="{run.pipeline}-post", cache_policy=NO_CACHE)
def post_task(run, journal, client, writer, checked: frozenset[str] = frozenset()) -> dict | None:
    """Batch what the journal holds as loaded — this chunk's documents and any an earlier run
    loaded but did not post — for a kind that is posted back (``post_back``). ``checked``:
    the documents the load just before found in the target with ConnectWise's money."""
    if not run.pipeline_spec.post.enabled or not run.entity.post_back:
        return None
    return post_loaded(run, journal, client, writer, checked)
