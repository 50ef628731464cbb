"""Prefect artifacts with stable keys: each stage tells its part of a run's story in the UI.

Keys are ``{pipeline}-{what}`` (lower case, digits and dashes, as Prefect requires) so the
Artifacts page groups every run's versions together. Outside a Prefect run (the offline
``cwsage transform``, unit tests calling ``.fn``) publishing is skipped.
"""

from __future__ import annotations

import logging
import re

log = logging.getLogger("cwsage.artifacts")
MAX_ROWS = 500


def artifact_key(pipeline: str, what: str) -> str:
    return re.sub(r"[^a-z0-9-]+", "-", f"{pipeline}-{what}".lower()).strip("-")


def _in_run() -> bool:
    from prefect.context import FlowRunContext, TaskRunContext
    return FlowRunContext.get() is not None or TaskRunContext.get() is not None


def publish_table(pipeline: str, what: str, rows: list[dict], description: str) -> None:
    if not _in_run():
        return
    from prefect.artifacts import create_table_artifact
    shown = rows[:MAX_ROWS]
    if len(rows) > MAX_ROWS:
        description += f" (first {MAX_ROWS} of {len(rows)} rows)"
    create_table_artifact(key=artifact_key(pipeline, what), table=shown or [{"": "none"}],
                          description=description)


def publish_markdown(pipeline: str, what: str, markdown: str, description: str) -> None:
    if not _in_run():
        return
    from prefect.artifacts import create_markdown_artifact
    create_markdown_artifact(key=artifact_key(pipeline, what), markdown=markdown,
                             description=description)
