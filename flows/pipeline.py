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
        run, journal, client, writer, resolver = (ctx.run, ctx.journal, ctx.client, ctx.writer,
                                                  ctx.resolver)
        p = run.pipeline_spec
        retry = dict(retries=p.retries, retry_delay_seconds=p.retry_delay_seconds,
                     retry_condition_fn=_retriable)
        extract = extract_task.with_options(**retry, result_storage=run.results)
        validate = validate_task.with_options(result_storage=run.results)
        transform = transform_task.with_options(result_storage=run.results)
        batch = post_task.with_options(**retry)

        def post(checked: frozenset = frozenset()):
            return None if dry_run else batch(run, journal, client, writer, checked)

        # a file writer: Sage's answers are read first
        recovered = {} if dry_run else recover_task(run, journal, client, writer)
        leftover = post()
        plan = plan_task.with_options(**retry, result_storage=run.results)(run, client, journal)
        progress.planned(pipeline, len(plan.chunks), plan.count)
        tally = RunTally(plan.count, len(plan.chunks), recovered, leftover, KnownCompanies())

        def prepare(number: int, ids: list):
            """A chunk extracted, validated and transformed on the pool (futures): the stages
            without side effects beyond the journal's ``extracted``."""
            chunk = extract.submit(run, client, journal, resolver, number, ids, tally.known)
            checked = validate.submit(run, resolver, chunk)
            return chunk, checked, transform.submit(run, resolver, chunk, checked)

        def load_and_post(chunk, checked, sage) -> None:
            loaded = load_task(run, journal, writer, resolver, chunk, checked, sage)
            tally.add(loaded, len(checked.quarantined), post(loaded.confirmed))
            progress.chunk_done(pipeline, len(chunk.keys), tally.counts.quarantined)

        if p.workers == 1:          # each stage in turn, in the flow's own thread
            for number, ids in enumerate(plan.chunks, 1):
                chunk = extract(run, client, journal, resolver, number, ids, tally.known)
                tally.extracted(chunk)
                checked = validate(run, resolver, chunk)
                load_and_post(chunk, checked, transform(run, resolver, chunk, checked))
        else:
            _ahead(plan.chunks, p.workers - 1, tally, prepare, load_and_post)
        if dry_run:
            return readiness_task(run, journal, writer, tally.counts)
        return report_task(run, journal, writer, tally.counts, tally.cursor)


def _ahead(chunks: list, ahead: int, tally: RunTally, prepare, load_and_post) -> None:
    """Prepare up to ``ahead`` chunks on the pool while the current one loads and posts, in
    chunk order. A failure stops the run after the chunks in flight settle (they only extract,
    check and transform — nothing reaches Sage or ConnectWise's batches from the pool). Each
    extract reads the company records known when it was submitted; only this thread updates
    them."""
    todo = deque(enumerate(chunks, 1))
    flight: deque = deque(prepare(*todo.popleft()) for _ in range(min(ahead, len(todo))))
    try:
        while flight:
            chunk, checked, sage = flight.popleft()
            chunk = chunk.result()                # the first failure is the one reported
            tally.extracted(chunk)
            checked, sage = checked.result(), sage.result()
            if todo:
                flight.append(prepare(*todo.popleft()))
            load_and_post(chunk, checked, sage)
    finally:
        for futures in flight:
            for future in futures:
                future.wait()
