"""The flow: one pipeline run, its stages in order, nothing else.

With ``workers: 1`` every stage of a chunk runs in turn. With ``workers: N`` (N > 1) up to
N − 1 chunks ahead are prepared — extracted, validated, transformed — on the flow's thread pool
while the current chunk loads and posts. Loads and posts stay in the flow's own thread, one
chunk at a time and in chunk order: one writer per target, and the journal sees each chunk
loaded before the next.
"""

from __future__ import annotations

from collections import deque

from prefect import flow
from prefect.task_runners import ThreadPoolTaskRunner

from flows import progress
from flows.run_open import open_run
from flows.notify import on_flow_completion, on_flow_failure
from tasks.config.spec import MAX_WORKERS
from tasks.errors import RetriableError
from tasks.extract import KnownCompanies, extract_task, plan_task
from tasks.load import load_task
from tasks.post import post_task
from tasks.readiness import readiness_task
from tasks.recover import recover_task
from tasks.report import report_task
from tasks.run_result import DryRunResult, RunResult, RunTally
from tasks.transform import transform_task
from tasks.validate import validate_task

# A chunk being prepared holds up to three threads (extract running, validate and transform
# waiting on it), so this pool never starves however many chunks the spec lets ahead.
POOL = ThreadPoolTaskRunner(max_workers=3 * (MAX_WORKERS - 1))


def _retriable(task, task_run, state) -> bool:
    try:
        state.result()
    except RetriableError:
        return True
    except Exception:
        return False
    return False


@flow(name="cwsage-pipeline", flow_run_name="{pipeline}", validate_parameters=False,
      task_runner=POOL, on_failure=[on_flow_failure], on_crashed=[on_flow_failure],
      on_completion=[on_flow_completion])
def run_pipeline(pipeline: str, spec_path: str = "pipelines.yaml",
                 dry_run: bool = False) -> RunResult | DryRunResult:
    """Recover → plan → per chunk: extract, validate, transform, load, post → report. A dry
    run is the same stages on throwaway copies of the journal and the target, without the two
    that change ConnectWise or settle an earlier run (recover, post), and reports readiness."""
    with open_run(spec_path, pipeline, dry_run) as ctx:
        p = ctx.pipeline_spec
        retry = dict(retries=p.retries, retry_delay_seconds=p.retry_delay_seconds,
                     retry_condition_fn=_retriable)
        extract = extract_task.with_options(**retry, result_storage=ctx.results)
        validate = validate_task.with_options(result_storage=ctx.results)
        transform = transform_task.with_options(result_storage=ctx.results)
        batch = post_task.with_options(**retry)

        def post(checked: frozenset = frozenset()):
            return None if dry_run else batch(ctx, checked)

        recovered = {} if dry_run else recover_task(ctx)   # a file writer: Sage's answers first
        leftover = post()
        plan = plan_task.with_options(**retry, result_storage=ctx.results)(ctx)
        progress.planned(pipeline, len(plan.chunks), plan.count)
        tally = RunTally(plan.count, len(plan.chunks), recovered, leftover, KnownCompanies())

        def load_and_post(chunk, checked, sage) -> None:
            loaded = load_task(ctx, chunk, checked, sage)
            tally.add(loaded, len(checked.quarantined), post(loaded.confirmed))
            progress.chunk_done(pipeline, len(chunk.keys), tally.counts.quarantined)

        if p.workers == 1:
            for number, ids in enumerate(plan.chunks, 1):
                chunk = extract(ctx, number, ids, tally.known)
                tally.extracted(chunk)
                checked = validate(ctx, chunk)
                load_and_post(chunk, checked, transform(ctx, chunk, checked))
        else:
            _pipelined(ctx, plan.chunks, p.workers - 1, tally, extract, validate, transform,
                       load_and_post)
        if dry_run:
            return readiness_task(ctx, tally.counts)
        return report_task(ctx, tally.counts, tally.cursor)


def _pipelined(ctx, chunks: list, ahead: int, tally: RunTally, extract, validate, transform,
               load_and_post) -> None:
    """Prepare up to ``ahead`` chunks on the pool while the current one loads and posts.
    A failure stops the run after the chunks in flight settle (they only extract, check and
    transform — nothing reaches Sage or ConnectWise's batches from the pool). Each extract
    reads the company records known when it was submitted; only this thread updates them."""
    todo = deque(enumerate(chunks, 1))
    flight: deque = deque()

    def submit() -> None:
        number, ids = todo.popleft()
        chunk = extract.submit(ctx, number, ids, tally.known)
        checked = validate.submit(ctx, chunk)
        flight.append((chunk, checked, transform.submit(ctx, chunk, checked)))

    try:
        while todo and len(flight) < ahead:
            submit()
        while flight:
            chunk, checked, sage = flight.popleft()
            chunk = chunk.result()                # the first failure is the one reported
            tally.extracted(chunk)
            checked, sage = checked.result(), sage.result()
            if todo:
                submit()
            load_and_post(chunk, checked, sage)
    finally:
        for futures in flight:
            for future in futures:
                future.wait()
