"""Prefect artifacts with stable keys: each stage tells its part of a run's story in the UI.

Keys are ``{pipeline}-{what}`` — ``{company}-{pipeline}-{what}`` when the spec names its
company — (lower case, digits and dashes, as Prefect requires) so the Artifacts page groups
every run's versions together. Outside a Prefect run (the offline
``cwsage transform``, unit tests calling ``.fn``) publishing is skipped.

The UI renders every text cell of a table artifact as Markdown, so ``table_rows`` makes each
one inert (``tasks.inert.markdown``); numbers stay numbers. A Markdown artifact's builder
escapes the values it writes into its text itself (``tasks.run_markdown``).
"""

from __future__ import annotations

import logging
import re
from contextvars import ContextVar

from tasks.inert import markdown

log = logging.getLogger("cwsage.artifacts")
MAX_ROWS = 500


# The company a run belongs to (``company:`` in the spec), set for the run by
# ``flows.run_open.open_run``; it prefixes every key, so two companies' runs on one Prefect
# keep their artifacts apart. Task threads inherit it (Prefect copies the context).
SCOPE: ContextVar[str] = ContextVar("cwsage_artifact_scope", default="")


def artifact_key(pipeline: str, what: str) -> str:
    scope = SCOPE.get()
    text = f"{scope}-{pipeline}-{what}" if scope else f"{pipeline}-{what}"
    return re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")


def _in_run() -> bool:
    from prefect.context import FlowRunContext, TaskRunContext
    return FlowRunContext.get() is not None or TaskRunContext.get() is not None


def publish_table(pipeline: str, what: str, rows: list[dict], description: str) -> None:
    if not _in_run():
        return
    from prefect.artifacts import create_table_artifact
    if len(rows) > MAX_ROWS:
        description += f" (first {MAX_ROWS} of {len(rows)} rows)"
    create_table_artifact(key=artifact_key(pipeline, what), table=table_rows(rows),
                          description=description)


def table_rows(rows: list[dict]) -> list[dict]:
    """The rows a table artifact shows: the first ``MAX_ROWS``, each text cell inert Markdown."""
    shown = [{key: markdown(value) if isinstance(value, str) else value
              for key, value in row.items()} for row in rows[:MAX_ROWS]]
    return shown or [{"": "none"}]


def publish_markdown(pipeline: str, what: str, text: str, description: str) -> None:
    if not _in_run():
        return
    from prefect.artifacts import create_markdown_artifact
    create_markdown_artifact(key=artifact_key(pipeline, what), markdown=text,
                             description=description)
