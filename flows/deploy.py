"""Deployments: one Prefect deployment of ``cwsage-pipeline`` per pipeline of the spec.

``cwsage serve`` registers a deployment per pipeline — named after it, with the YAML's
schedule (cron and time zone, or an interval), its tags and description, one run at a time —
then runs their flow runs in this process's children until stopped. Before that it deletes
the deployments of pipelines no longer in the YAML, so the server lists what the spec says.
The flow re-reads the spec at the start of every run: mapping edits apply on the next run.
While serving, the spec is watched (``watch_spec``): a pipeline added or removed, or a schedule
changed, is announced at once with the one thing to do — restart ``serve``, which then
registers, deletes or reschedules the deployments.

``cwsage serve --work-pool NAME`` registers the same deployments on a work pool and returns;
``prefect worker start --pool NAME`` on any machine with cwsage installed runs them.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from datetime import timedelta
from uuid import UUID

from tasks.context import cwsage_home
from tasks.errors import ConfigError

FLOW_NAME = "cwsage-pipeline"
COMPANY_TAG = "company:"
log = logging.getLogger("cwsage.serve")


def schedules_for(pipeline) -> list:
    """The YAML's schedule as Prefect schedules (a cron keeps its time zone)."""
    from prefect.schedules import Cron, Interval
    s = pipeline.schedule
    if s is None:
        return []
    if s.cron:
        return [Cron(s.cron, timezone=s.timezone)]
    return [Interval(timedelta(seconds=s.interval_seconds), timezone=s.timezone)]


def build_deployments(spec) -> list:
    """One ``RunnerDeployment`` per pipeline; nothing is sent to the server.

    The entrypoint is the module path ``flows.pipeline.run_pipeline``: a worker needs cwsage
    installed and the spec at the same path, not a checkout in a particular folder."""
    from prefect.flows import EntrypointType
    from flows.pipeline import run_pipeline
    return [run_pipeline.to_deployment(
        name=spec.deployment_name(name),
        parameters={"pipeline": name, "spec_path": str(spec.path)},
        schedules=schedules_for(p), paused=False, tags=["cwsage", *company_tags(spec), *p.tags],
        description=p.description or f"cwsage pipeline {name}", concurrency_limit=1,
        entrypoint_type=EntrypointType.MODULE_PATH) for name, p in spec.enabled().items()]


def company_tags(spec) -> list[str]:
    """The tag that marks a spec's deployments as its own (none for a spec without one)."""
    return [f"{COMPANY_TAG}{spec.company}"] if spec.company else []


def owned_by(spec, deployment) -> bool:
    """A deployment belongs to ``spec``'s namespace: its company's tag, or, for a spec that
    names no company, no company tag at all. Other companies' deployments are never touched."""
    tags = [t for t in deployment.tags or [] if t.startswith(COMPANY_TAG)]
    return tags == company_tags(spec)


def sync_deployments(spec) -> list[str]:
    """Delete the deployments of ``cwsage-pipeline`` in this spec's namespace whose pipeline
    is not in the spec, or is there with ``enabled: false``."""
    from prefect import get_client
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName
    wanted = {spec.deployment_name(name) for name in spec.enabled()}
    removed = []
    with get_client(sync_client=True) as client:
        found = client.read_deployments(
            flow_filter=FlowFilter(name=FlowFilterName(any_=[FLOW_NAME])))
        for deployment in found:
            if owned_by(spec, deployment) and deployment.name not in wanted:
                client.delete_deployment(deployment.id)
                removed.append(deployment.name)
    return sorted(removed)


def register(spec, work_pool: str | None = None, sync: bool = True) -> dict[str, UUID]:
    """Reconcile, then create or update every deployment without serving them.

    With ``work_pool`` the deployments are bound to that pool (created as a ``process`` pool
    when missing) and any worker polling the pool runs them."""
    if sync:
        sync_deployments(spec)
    if work_pool:
        ensure_process_pool(work_pool)
    return {d.name: d.apply(work_pool_name=work_pool) for d in build_deployments(spec)}


def ensure_process_pool(name: str) -> bool:
    """Create the work pool as a ``process`` pool unless it exists; True when created."""
    from prefect import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectNotFound
    with get_client(sync_client=True) as client:
        try:
            client.read_work_pool(name)
            return False
        except ObjectNotFound:
            client.create_work_pool(WorkPoolCreate(name=name, type="process"))
            return True


def serve(spec, limit: int | None = None, pause_on_shutdown: bool = True,
          sync: bool = True, out=None) -> None:
    """Reconcile, register and serve every pipeline's deployment; blocks until stopped."""
    import prefect
    os.environ["CWSAGE_HOME"] = str(cwsage_home())     # flow runs share this process's home
    if sync:
        sync_deployments(spec)
    stop = threading.Event()
    watch_spec(spec, stop, out=out)
    try:
        prefect.serve(*build_deployments(spec), limit=limit,
                      pause_on_shutdown=pause_on_shutdown)
    finally:
        stop.set()


def served_shape(spec) -> dict[str, tuple]:
    """What a deployment is made of, per pipeline: a change here needs ``serve`` restarted."""
    return {name: (p.schedule.model_dump_json() if p.schedule else None, tuple(p.tags),
                   p.description) for name, p in spec.enabled().items()}


def spec_changes(served: dict[str, tuple], now: dict[str, tuple]) -> list[str]:
    added = sorted(set(now) - set(served))
    removed = sorted(set(served) - set(now))
    changed = sorted(n for n in set(now) & set(served) if now[n] != served[n])
    return ([f"new pipeline {n}" for n in added] + [f"pipeline {n} removed" for n in removed]
            + [f"schedule, tags or description of {n} changed" for n in changed])


def watch_spec(spec, stop: threading.Event, interval: float = 10.0, out=None) -> threading.Thread:
    """Re-read the spec every ``interval`` seconds while serving; say plainly, once per
    change, what changed and that ``serve`` must be restarted to serve it."""
    def loop() -> None:
        from flows.spec import load_spec
        last, announced = served_shape(spec), None
        while not stop.wait(interval):
            try:
                now = served_shape(load_spec(spec.path, need_connection=False,
                                             check_files=False))
            except ConfigError as exc:
                message = f"{spec.path.name} no longer loads ({exc.problems[0]}) — fix it; " \
                          "the served pipelines keep their deployments"
            else:
                changes = spec_changes(last, now)
                message = (f"{spec.path.name} changed while serving: {'; '.join(changes)} — "
                           "restart `cwsage serve` (Ctrl+C, then start it again) to serve "
                           "it; runs already use the new mappings") if changes else None
            if message and message != announced:
                log.warning("%s", message)
                print(f"cwsage serve: {message}", file=out or sys.stdout, flush=True)
            announced = message or announced
    thread = threading.Thread(target=loop, name="cwsage-spec-watch", daemon=True)
    thread.start()
    return thread


def check_api() -> str:
    """The Prefect API URL, or a ConfigError saying how to start one."""
    from prefect import get_client
    from prefect.settings import PREFECT_API_URL
    url = PREFECT_API_URL.value()
    if not url:
        raise ConfigError("cwsage serve: PREFECT_API_URL is not set — start a server with "
                          "`prefect server start` and export "
                          "PREFECT_API_URL=http://127.0.0.1:4200/api")
    with get_client(sync_client=True) as client:
        problem = client.api_healthcheck()
    if problem is not None:
        raise ConfigError(f"cwsage serve: the Prefect API at {url} does not answer "
                          f"({type(problem).__name__}) — is `prefect server start` running?")
    return url


def serve_command(spec_path: str, limit: int | None, pause_on_shutdown: bool,
                  work_pool: str | None, out=None) -> int:
    from flows.spec import load_spec
    spec = load_spec(spec_path, need_connection=work_pool is None)
    url = check_api()
    for name in sync_deployments(spec):
        print(f"{FLOW_NAME}/{name}: deleted — its pipeline is no longer in "
              f"{spec.path.name}, or is disabled there", file=out)
    if work_pool is None:
        names = [spec.deployment_name(n) for n in spec.enabled()]
        print(f"serving {len(names)} deployment{'s' if len(names) != 1 else ''} of "
              f"{FLOW_NAME} at {url} ({', '.join(names)}); Ctrl+C stops", file=out, flush=True)
        serve(spec, limit=limit, pause_on_shutdown=pause_on_shutdown, sync=False, out=out)
        return 0
    if ensure_process_pool(work_pool):
        print(f"work pool {work_pool} created (type process)", file=out)
    for name in register(spec, work_pool=work_pool, sync=False):
        print(f"{FLOW_NAME}/{name} → work pool {work_pool}", file=out)
    print(f"start a worker on each machine that runs them: prefect worker start --pool "
          f"{work_pool}", file=out)
    return 0
