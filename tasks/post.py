"""Post: mark the documents Sage accepted as posted in ConnectWise, as one accounting batch.

The batch's ``processedRecordIds`` are exactly the GL entry ids of documents the journal holds
as loaded — never of quarantined or rejected ones, never an empty batch. The intent (batch
identifier and ids) is written to the journal before the call; creating a batch is never retried
blindly: when its answer is lost, the batch is looked up by its identifier first.
"""

from __future__ import annotations

import json
import logging

from prefect import task
from prefect.cache_policies import NO_CACHE
from pydantic import BaseModel, ConfigDict, Field

from tasks.entities import ALL_FLAGS
from tasks.errors import CwsageError, stage_message
from tasks.faults import crash_point

log = logging.getLogger("cwsage.post")


class PostConfig(BaseModel):
    """``pipelines.<name>.post``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    batch_prefix: str = Field("CWSAGE", pattern=r"^[A-Z0-9][A-Z0-9_-]{0,11}$")


def batch_identifier(ctx) -> str:
    """``CWSAGE-INV-20261125T171500-ab12cd-003``: unique, ≤ 50 characters. The number counts
    every batch this run has attempted, so a retried post never reuses an identifier."""
    kind = ctx.entity.abbreviation
    sequence = ctx.journal.batches_of_run(ctx.run_id) + 1
    return f"{ctx.pipeline_spec.post.batch_prefix}-{kind}-{ctx.run_id}-{sequence:03d}"[:50]


def find_batch(client, identifier: str) -> dict | None:
    """Look a batch up by its identifier (the answer to a lost create-batch response)."""
    found = client.get("/finance/accounting/batches",
                       {"conditions": f'batchIdentifier="{identifier}"', "pageSize": 10})
    return found[0] if found else None


def post_loaded(ctx) -> dict | None:
    """Batch every document the journal holds as loaded; return the batch, or None."""
    journal, pipeline = ctx.journal, ctx.pipeline
    rows = journal.documents(pipeline, states=["loaded"])
    if not rows:
        return None
    keys = [r["key"] for r in rows]
    ids = sorted({int(i) for r in rows for i in json.loads(r["gl_ids"] or "[]")})
    if not ids:
        raise CwsageError(stage_message(pipeline, "post", f"documents {keys[:5]} carry no GL "
                                        "entry ids; refusing to create an empty batch"))
    identifier = batch_identifier(ctx)
    journal.begin_batch(pipeline, ctx.run_id, identifier, keys, ids)
    body = {flag: flag == ctx.entity.export_flag for flag in ALL_FLAGS}
    body.update(batchIdentifier=identifier, processedRecordIds=ids)
    crash_point("before-batch")
    try:
        created = ctx.client.post("/finance/accounting/batches", body, retry=False)
    except CwsageError:
        settle_open_batch(ctx, identifier)
        raise
    crash_point("after-batch")
    batch_id = (created or {}).get("id") if isinstance(created, dict) else None
    if batch_id is None:
        batch_id = (find_batch(ctx.client, identifier) or {}).get("id")
    journal.settle_batch(identifier, batch_id, ctx.run_id)
    crash_point("after-post")
    log.info("[%s] post: batch %s (id %s): %d documents, %d GL entries", pipeline, identifier,
             batch_id, len(keys), len(ids))
    return {"batch": identifier, "id": batch_id, "documents": len(keys), "gl_entries": len(ids)}


def settle_open_batch(ctx, identifier: str) -> None:
    """After a failed or unanswered create: posted if ConnectWise has the batch, else loaded."""
    found = find_batch(ctx.client, identifier)
    ctx.journal.settle_batch(identifier, found["id"] if found else None, ctx.run_id)


@task(name="post", task_run_name="{ctx.pipeline}-post", cache_policy=NO_CACHE)
def post_task(ctx, chunk: int) -> dict | None:
    """Batch what is loaded (``chunk`` 0: what an earlier run loaded but did not post)."""
    if ctx.dry_run or not ctx.pipeline_spec.post.enabled or not ctx.entity.postable:
        return None
    return post_loaded(ctx)
