"""Recover: settle what an interrupted run left behind, before anything new is extracted.

* a batch whose create call was made but never settled (``intent``) is looked up in ConnectWise
  by its identifier: found → its documents are posted; not found → they are loaded again;
* a document left ``loading`` is checked against the target (the replica's EXTERNAL_ID, a
  file writer's manifest): present → loaded (handed off, for a file writer); absent →
  extracted, and it flows again;
* what the Sage side has confirmed since (``tasks.confirm``) moves handed-off documents on;
* documents ``loaded`` but not posted are then batched by the post stage, without loading them
  again.
"""

from __future__ import annotations

import logging

from prefect import task
from prefect.cache_policies import NO_CACHE

from tasks.confirm import settle_handoffs
from tasks.faults import crash_point
from tasks.post import settle_open_batches
from tasks.sage50.protocol import HandoffWriter

log = logging.getLogger("cwsage.recover")


def recover(run, journal, client, writer) -> dict:
    pipeline = run.pipeline
    batches = settle_open_batches(run, journal, client)
    loading = journal.keys_in(pipeline, "loading")
    present = writer.present(loading) if loading else set()
    if isinstance(writer, HandoffWriter):
        journal.hand_off(pipeline, run.run_id, {k: "found handed off on recovery"
                                                for k in present})
    else:
        journal.mark_loaded(pipeline, run.run_id, {k: "found in Sage on recovery"
                                                   for k in present})
    absent = [k for k in loading if k not in present]
    journal.mark(pipeline, run.run_id, absent, "extracted", "not in Sage on recovery")
    summary = {"open_batches": batches, "loading_found": len(present),
               "loading_absent": len(absent)}
    if any(summary.values()):
        log.warning("[%s] recover: settled an interrupted run: %s", pipeline, summary)
    confirmed = settle_handoffs(journal, pipeline, run.run_id, writer)
    if confirmed.imported:
        crash_point("after-confirm")
    summary.update(confirmed=len(confirmed.imported), import_failed=len(confirmed.failed),
                   import_differs=len(confirmed.differs), strays=confirmed.strays,
                   unreadable=confirmed.unreadable)
    return summary


@task(name="recover", task_run_name="{run.pipeline}-recover", cache_policy=NO_CACHE)
def recover_task(run, journal, client, writer) -> dict:
    return recover(run, journal, client, writer)
