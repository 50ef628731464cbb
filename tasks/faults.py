"""Deterministic crash points, for proving that a run killed anywhere is settled by the next.

Inert unless ``CWSAGE_CRASH_AT`` is set, e.g. ``CWSAGE_CRASH_AT=after-writer:2`` — the process
kills itself with SIGKILL (no clean-up, no finally blocks: what a power cut or an OOM kill
does) the 2nd time it reaches the point ``after-writer``. Several points may be given,
comma-separated. The points, in the order a chunk meets them:

  after-extract     the chunk is exported and recorded as extracted
  after-validate    the chunk is validated
  after-transform   the Sage XML is written
  before-writer     the journal holds the 'loading' intent; the writer has not run
  after-writer      the writer has committed; the journal does not know yet
  after-load        the journal records the documents as loaded
  before-batch      the journal holds the batch intent; ConnectWise has not been called
  after-batch       ConnectWise created the batch; the journal does not know yet
  after-post        the journal records the documents as posted

and, with a file writer, where a run reads what the Sage side confirmed (before any batch):

  during-confirm    the writer's manifest holds the importer's answers; the journal does not
  after-confirm     the journal has moved the confirmed documents on; nothing is batched yet
"""

from __future__ import annotations

import os
import signal
import threading

POINTS = ("after-extract", "after-validate", "after-transform", "before-writer",
          "after-writer", "after-load", "before-batch", "after-batch", "after-post")
HANDOFF_POINTS = ("during-confirm", "after-confirm")
_hits: dict[str, int] = {}
_lock = threading.Lock()


def crash_point(name: str) -> None:
    plan = os.environ.get("CWSAGE_CRASH_AT")
    if not plan:
        return
    with _lock:
        _hits[name] = _hits.get(name, 0) + 1
        hit = _hits[name]
    for item in plan.split(","):
        point, _, count = item.strip().partition(":")
        if point == name and hit == int(count or 1):
            os.kill(os.getpid(), signal.SIGKILL)
