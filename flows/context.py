"""Opening a run: the spec, the pipeline, the lock, the journal's run record."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from flows.spec import load_spec
from tasks.context import RunContext, cwsage_home


def _flow_run_id() -> str | None:
    """Inside a Prefect flow run, the run id follows the flow run, so a retry of that flow run
    (UI Retry, ``prefect flow-run retry``) is the same run: same folder, same cached stages."""
    from prefect.context import FlowRunContext
    context = FlowRunContext.get()
    if context is None or context.flow_run is None:
        return None
    flow_run = context.flow_run
    return f"{flow_run.created:%Y%m%dT%H%M%S}-{flow_run.id.hex[:6]}"


@contextmanager
def open_run(spec_path: str, pipeline: str, dry_run: bool = False) -> Iterator[RunContext]:
    """The spec is re-read on every run, so mapping edits apply on the next run. A dry run
    works on throwaway copies of the journal and the replica, so it takes no lock."""
    spec = load_spec(spec_path)
    ctx = RunContext(spec=spec, pipeline_spec=spec.pipeline(pipeline), home=cwsage_home(),
                     dry_run=dry_run)
    if not dry_run:
        ctx.acquire()
    ctx.run_id = ctx.journal.begin_run(pipeline, _flow_run_id())
    ctx.facts                       # read from the target here, before stages run in threads
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
