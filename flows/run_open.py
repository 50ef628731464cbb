"""Opening a run: the spec, the pipeline, the lock, the journal's run record."""

from __future__ import annotations

import logging
from contextlib import contextmanager
from typing import Iterator

from flows.spec import load_spec
from tasks.artifacts import SCOPE, publish_markdown
from tasks.context import RunContext, cwsage_home
from tasks.inert import markdown as md
from tasks.inert import terminal

log = logging.getLogger("cwsage.run")


def _flow_run_id() -> str | None:
    """Inside a Prefect flow run, the run id follows the flow run, so a retry of that flow run
    (UI Retry, ``prefect flow-run retry``) is the same run: same folder, same cached stages."""
    from prefect.context import FlowRunContext
    context = FlowRunContext.get()
    if context is None or context.flow_run is None:
        return None
    flow_run = context.flow_run
    return f"{flow_run.created:%Y%m%dT%H%M%S}-{flow_run.id.hex[:6]}"


def note_retry(pipeline: str) -> str | None:
    """A flow run being run again (the UI's Retry, ``prefect flow-run retry``) says so: it is
    tagged ``retried`` and ``attempt-N``, its log and a ``retry`` artifact name the earlier
    attempt's failure. Returns that failure's message; None on a first attempt or outside
    Prefect. Never fails the run: the history is a courtesy, the run is the point."""
    from prefect.context import FlowRunContext
    context = FlowRunContext.get()
    flow_run = context.flow_run if context else None
    if flow_run is None or (flow_run.run_count or 1) <= 1:
        return None
    try:
        earlier = _earlier_failure(flow_run)
    except Exception as exc:            # the API is the one thing this must not depend on
        log.warning("[%s] this run is attempt %d; its history could not be read (%s)",
                    pipeline, flow_run.run_count, type(exc).__name__)
        return None
    text = terminal(earlier or "no failure recorded")
    log.warning("[%s] this run is attempt %d of flow run %s; the earlier attempt failed: %s",
                pipeline, flow_run.run_count, flow_run.name, text)
    publish_markdown(pipeline, "retry", f"# {md(pipeline)}: attempt {flow_run.run_count}\n\n"
                     f"The earlier attempt of this flow run failed:\n\n> {md(text)}\n",
                     f"Attempt {flow_run.run_count} of flow run {flow_run.name}")
    return earlier


def _earlier_failure(flow_run) -> str | None:
    from prefect import get_client
    with get_client(sync_client=True) as client:
        states = client.read_flow_run_states(flow_run.id)
        failed = [s for s in states if s.is_failed() or s.is_crashed()]
        tags = sorted({*(flow_run.tags or []), "retried", f"attempt-{flow_run.run_count}"})
        client.update_flow_run(flow_run.id, tags=tags)
    return failed[-1].message if failed else None


@contextmanager
def open_run(spec_path: str, pipeline: str, dry_run: bool = False) -> Iterator[RunContext]:
    """The spec is re-read on every run, so mapping edits apply on the next run. A dry run
    works on throwaway copies of the journal and the replica, so it takes no lock."""
    try:
        spec = load_spec(spec_path)
    except BaseException:
        note_retry(pipeline)
        raise
    scope = SCOPE.set(spec.company or "")
    try:
        note_retry(pipeline)
        with _run(spec, pipeline, dry_run) as ctx:
            yield ctx
    finally:
        SCOPE.reset(scope)


@contextmanager
def _run(spec, pipeline: str, dry_run: bool) -> Iterator[RunContext]:
    ctx = RunContext(spec=spec, pipeline_spec=spec.pipeline(pipeline), home=cwsage_home(),
                     dry_run=dry_run)
    if not dry_run:
        ctx.acquire()
    ctx.run.begin(ctx.journal.begin_run(pipeline, _flow_run_id()))
    ctx.resolver                    # the target's facts, read here, before stages run in threads
    status = "failed"
    try:
        yield ctx
        status = "completed"
        ctx.tidy()
    finally:
        try:
            ctx.journal.finish_run(ctx.run_id, status, ctx.journal.counts(pipeline))
        finally:
            ctx.close()
