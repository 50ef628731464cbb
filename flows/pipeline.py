"""The flow: one pipeline run, its stages in order, nothing else."""

from __future__ import annotations

from prefect import flow

from flows.context import open_run
from flows.notify import on_flow_completion, on_flow_failure
from tasks.errors import RetriableError
from tasks.extract import extract_task, plan_task
from tasks.load import load_task
from tasks.post import post_task
from tasks.readiness import readiness_task
from tasks.recover import recover_task
from tasks.report import report_task
from tasks.transform import transform_task
from tasks.validate import validate_task


def _retriable(task, task_run, state) -> bool:
    try:
        state.result()
    except RetriableError:
        return True
    except Exception:
        return False
    return False


@flow(name="cwsage-pipeline", flow_run_name="{pipeline}", validate_parameters=False,
      on_failure=[on_flow_failure], on_crashed=[on_flow_failure],
      on_completion=[on_flow_completion])
def run_pipeline(pipeline: str, spec_path: str = "pipelines.yaml", dry_run: bool = False) -> dict:
    """Recover → plan → per chunk: extract, validate, transform, load, post → report."""
    with open_run(spec_path, pipeline, dry_run) as ctx:
        p = ctx.pipeline_spec
        retry = dict(retries=p.retries, retry_delay_seconds=p.retry_delay_seconds,
                     retry_condition_fn=_retriable)
        recover_task(ctx)
        leftover = post_task.with_options(**retry)(ctx, 0)
        plan = plan_task.with_options(**retry, result_storage=ctx.results)(ctx)
        stats = {"unposted": plan.count, "chunks": len(plan.chunks), "loaded": 0,
                 "already_present": 0, "rejected": 0, "quarantined": 0,
                 "batches": [leftover] if leftover else []}
        for number, ids in enumerate(plan.chunks, 1):
            chunk = extract_task.with_options(**retry, result_storage=ctx.results)(ctx, number,
                                                                                  ids)
            checked = validate_task.with_options(result_storage=ctx.results)(ctx, chunk)
            sage = transform_task.with_options(result_storage=ctx.results)(ctx, chunk, checked)
            loaded = load_task(ctx, checked, sage)
            batch = post_task.with_options(**retry)(ctx, number)
            stats["loaded"] += len(loaded.loaded)
            stats["already_present"] += len(loaded.already_present)
            stats["rejected"] += len(loaded.rejected)
            stats["quarantined"] += len(checked.quarantined)
            stats["batches"] += [batch] if batch else []
        if ctx.dry_run:
            return readiness_task(ctx, stats)
        return report_task(ctx, stats)
