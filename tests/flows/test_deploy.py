"""Deployments against a real ``prefect server start``: schedules from the YAML, reconciliation
of removed pipelines, and ``cwsage serve`` running a deployment against the sandbox.

The server runs in a subprocess with its own PREFECT_HOME; this process talks to it only inside
``temporary_settings`` blocks, so the session's test harness is left as it was."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import requests
import yaml

from bench.procs import free_port, stop_group
from flows import deploy
from flows.spec import load_spec
from sandbox.server import SandboxServer

pytestmark = pytest.mark.slow
BIN = Path(sys.executable).parent
HOURLY = {"description": "The same invoices, every hour", "extract": {"entity": "invoices"},
          "transform": {"stylesheet": "xslt/invoices.xsl"},
          "validate": {"suite": "expectations/invoices.json"},
          "schedule": {"interval_seconds": 3600}, "tags": ["hourly"]}
STAGES = {"invoices-recover", "invoices-plan", "invoices-extract", "invoices-validate",
          "invoices-transform", "invoices-load", "invoices-post", "invoices-report"}


def prefect_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    return {**env, "PREFECT_SERVER_ANALYTICS_ENABLED": "false", **extra}


@pytest.fixture(scope="module")
def prefect_server(tmp_path_factory):
    home = tmp_path_factory.mktemp("prefect-server")
    port = free_port()
    log = open(home / "server.log", "w")
    process = subprocess.Popen(
        [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port),
         "--no-ui"], env=prefect_env(PREFECT_HOME=str(home)), stdout=log,
        stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}/api"
    deadline = time.monotonic() + 60
    while True:
        try:
            if requests.get(f"{url}/health", timeout=1).json() is True:
                break
        except requests.RequestException:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            stop_group(process)
            pytest.fail(f"prefect server did not start: {(home / 'server.log').read_text()}")
        time.sleep(0.3)
    yield url
    stop_group(process)
    log.close()


@contextmanager
def api(url: str):
    """This process's Prefect client pointed at the test server, for the block only."""
    from prefect.settings import PREFECT_API_URL, temporary_settings
    with temporary_settings({PREFECT_API_URL: url}):
        from prefect import get_client
        with get_client(sync_client=True) as client:
            yield client


def deployments(client) -> dict:
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName
    return {d.name: d for d in client.read_deployments(
        flow_filter=FlowFilter(name=FlowFilterName(any_=["cwsage-pipeline"])))}


def edit(path: Path, change) -> None:
    """Apply ``change`` to the spec's ``pipelines`` mapping (a copy of the real YAML)."""
    raw = yaml.safe_load(path.read_text())
    change(raw["pipelines"])
    path.write_text(yaml.safe_dump(raw, sort_keys=False))


def test_one_deployment_per_pipeline_with_the_yaml_schedule_and_removed_ones_deleted(
        prefect_server, spec, cw_env):
    edit(spec, lambda pipelines: pipelines.update(invoices_hourly=HOURLY))
    loaded = load_spec(spec)
    with api(prefect_server) as client:
        ids = deploy.register(loaded)
        found = deployments(client)
    assert set(ids) == set(found) == set(loaded.enabled()) >= {"invoices", "invoices_hourly"}
    assert "agreement_invoices" in loaded.pipelines and "agreement_invoices" not in found
    invoices, hourly = found["invoices"], found["invoices_hourly"]
    [cron] = invoices.schedules
    assert (cron.schedule.cron, cron.schedule.timezone) == ("*/30 7-19 * * 1-5", "Europe/London")
    assert cron.active and not invoices.paused
    assert hourly.schedules[0].schedule.interval == timedelta(hours=1)
    assert invoices.parameters == {"pipeline": "invoices", "spec_path": str(spec)}
    assert invoices.tags == ["cwsage", "sales"] and hourly.tags == ["cwsage", "hourly"]
    assert hourly.description == "The same invoices, every hour"
    assert invoices.global_concurrency_limit.limit == 1
    assert invoices.entrypoint == "flows.pipeline.run_pipeline"

    def drop_hourly_and_move_invoices(pipelines):
        del pipelines["invoices_hourly"]
        pipelines["expenses"]["enabled"] = False          # switched off: no deployment
        pipelines["invoices"]["schedule"] = {"cron": "15 6 * * 1-5",
                                             "timezone": "America/New_York"}
    edit(spec, drop_hourly_and_move_invoices)
    edited = load_spec(spec)
    with api(prefect_server) as client:
        assert sorted(deploy.sync_deployments(edited)) == ["expenses", "invoices_hourly"]
        deploy.register(edited)
        found = deployments(client)
        assert deploy.sync_deployments(edited) == []
    assert set(found) == set(edited.enabled()) and "invoices_hourly" not in found
    assert "expenses" not in found
    [cron] = found["invoices"].schedules
    assert (cron.schedule.cron, cron.schedule.timezone) == ("15 6 * * 1-5", "America/New_York")


def test_two_companies_share_one_prefect_and_keep_to_their_own(prefect_server, spec, cw_env,
                                                               tmp_path):
    """A UK and an Irish company, each its own spec: deployments and artifacts are named by
    company, and reconciling one spec never deletes the other's (nor a spec's without one)."""
    uk, ie = spec.with_name("uk.yaml"), spec.with_name("ie.yaml")
    for path, company in ((uk, "acme-uk"), (ie, "acme-ie")):
        raw = yaml.safe_load(spec.read_text())
        raw["company"] = company
        path.write_text(yaml.safe_dump(raw, sort_keys=False))
    plain, uk_spec, ie_spec = load_spec(spec), load_spec(uk), load_spec(ie)
    with api(prefect_server) as client:
        for each in (plain, uk_spec, ie_spec):
            deploy.register(each)
        found = deployments(client)
        assert {"invoices", "acme-uk.invoices", "acme-ie.invoices"} <= set(found)
        assert "company:acme-uk" in found["acme-uk.invoices"].tags
        assert found["acme-ie.invoices"].parameters["spec_path"] == str(ie)
        raw = yaml.safe_load(ie.read_text())
        del raw["pipelines"]["procurement"]
        ie.write_text(yaml.safe_dump(raw, sort_keys=False))
        assert deploy.sync_deployments(load_spec(ie)) == ["acme-ie.procurement"]
        for each in (plain, uk_spec):
            assert deploy.sync_deployments(each) == []
        found = deployments(client)
    assert "acme-uk.procurement" in found and "procurement" in found
    from tasks.artifacts import SCOPE, artifact_key
    token = SCOPE.set("acme-ie")
    try:
        assert artifact_key("invoices", "run-summary") == "acme-ie-invoices-run-summary"
    finally:
        SCOPE.reset(token)
    assert artifact_key("invoices", "run-summary") == "invoices-run-summary"


def test_serve_refuses_without_a_server(spec, cw_env, capsys):
    from flows.cli import main
    from prefect.settings import PREFECT_API_URL, temporary_settings
    with temporary_settings({PREFECT_API_URL: f"http://127.0.0.1:{free_port()}/api"}):
        assert main(["--spec", str(spec), "serve"]) == 2
    assert "does not answer" in capsys.readouterr().err


@pytest.fixture
def sandbox():
    server = SandboxServer(host="127.0.0.1", port=0, seed=11, invoices=24, broken_share=0.15)
    server.start()
    yield server
    server.stop()


def invoices_on_demand(pipelines: dict) -> None:
    for name in [n for n in pipelines if n != "invoices"]:
        del pipelines[name]
    del pipelines["invoices"]["schedule"]


def run_env(prefect_server: str, sandbox, tmp_path: Path) -> dict[str, str]:
    """What a serve process or a worker needs: the API, the sandbox's CW_*, a CWSAGE_HOME."""
    creds = sandbox.credentials
    return prefect_env(
        PREFECT_API_URL=prefect_server, PREFECT_HOME=str(tmp_path / "prefect-client"),
        PREFECT_RUNNER_POLL_FREQUENCY="1", CWSAGE_HOME=str(tmp_path / "cwsage-home"),
        CW_BASE_URL=sandbox.base_url, CW_COMPANY=creds["company"],
        CW_PUBLIC_KEY=creds["public_key"], CW_PRIVATE_KEY=creds["private_key"],
        CW_CLIENT_ID=creds["client_id"])


@pytest.fixture
def served(prefect_server, spec, sandbox, tmp_path):
    """``cwsage serve`` in a subprocess with the sandbox's CW_* and its own CWSAGE_HOME,
    serving the invoices pipeline without its schedule (so only the test starts runs)."""
    edit(spec, invoices_on_demand)
    log = open(tmp_path / "serve.log", "w")
    process = subprocess.Popen(
        [str(BIN / "cwsage"), "--spec", str(spec), "serve", "--limit", "2",
         "--no-pause-on-shutdown"], cwd=tmp_path, env=run_env(prefect_server, sandbox, tmp_path),
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    yield process, tmp_path / "cwsage-home", tmp_path / "serve.log"
    stop_group(process)
    log.close()


def wait_for(check, timeout: float, what: str, log: Path):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.5)
    pytest.fail(f"timed out waiting for {what}; serve log:\n{log.read_text()[-3000:]}")


def test_a_served_deployment_fails_then_its_retry_runs_against_the_sandbox(prefect_server,
                                                                         spec, served):
    """A run started on the deployment fails on a broken spec; the spec is fixed and the run is
    retried as the UI's Retry button does it; serve runs it again, to completion."""
    process, home, log = served
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
    from prefect.client.schemas.objects import State, StateType
    with api(prefect_server) as client:
        wait_for(lambda: "being served" in log.read_text() and deployments(client)[
            "invoices"].parameters["spec_path"] == str(spec), 30, "the deployment", log)
        good = spec.read_text()
        spec.write_text(good.replace("chunk_size: 1000", "chunk_size: 0"))
        run = client.create_flow_run_from_deployment(deployments(client)["invoices"].id)
        failed = wait_for(lambda: (s := client.read_flow_run(run.id).state).is_final() and s,
                          60, "the flow run", log)
        assert failed.is_failed() and "chunk_size" in failed.message
        spec.write_text(good)
        client.set_flow_run_state(run.id, State(type=StateType.SCHEDULED, name="AwaitingRetry",
                                                message="Retry from the UI"), force=True)
        again = wait_for(lambda: (r := client.read_flow_run(run.id)).run_count == 2 and
                         r.state.is_final() and r, 60, "the retried run", log)
        assert again.state.is_completed(), log.read_text()[-3000:]
        assert {"retried", "attempt-2"} <= set(again.tags)     # the history shows
        only_run = FlowRunFilter(id=FlowRunFilterId(any_=[run.id]))
        names = wait_for(lambda: STAGES <= (n := {t.name for t in client.read_task_runs(
            flow_run_filter=only_run)}) and n, 15, "the task runs", log)
        artifacts = {a.key: a for a in client.read_artifacts(flow_run_filter=only_run)}
    assert process.poll() is None and names == STAGES
    assert {"invoices-extraction", "invoices-validation", "invoices-quarantine",
            "invoices-load-receipt", "invoices-reconciliation",
            "invoices-reconciliation-by-nominal", "invoices-rounding-differences",
            "invoices-run-summary", "invoices-retry"} <= set(artifacts)
    assert "chunk\\_size: got 0" in artifacts["invoices-retry"].data
    by_type = json.loads(artifacts["invoices-reconciliation"].data)
    by_nominal = json.loads(artifacts["invoices-reconciliation-by-nominal"].data)
    assert sum(Decimal(r["Sage net"]) for r in by_type) == \
        sum(Decimal(r["net"]) for r in by_nominal) > 0
    assert all(r["status"] != "UNEXPLAINED" for r in by_type)
    assert {r["nominal"] for r in by_nominal} <= {"4000", "4001", "4002", "4900"}
    summary = artifacts["invoices-run-summary"].data
    assert summary.startswith("# invoices: run ") and "## Needs a person" in summary
    assert "cwsage quarantine list" in summary
    counts = journal_counts(home)
    assert counts["posted"] > 0 and counts["posted"] + counts["quarantined"] == 24


def journal_counts(home: Path) -> dict:
    from tasks.journal import Journal
    journal = Journal(home / "journal.db")
    try:
        return journal.counts("invoices")
    finally:
        journal.close()


def test_a_work_pool_deployment_runs_on_a_process_worker(prefect_server, spec, sandbox,
                                                         tmp_path):
    """The path to more machines: deployments bound to a process pool, run by a worker
    started in an unrelated folder (it needs cwsage installed and the spec's path)."""
    edit(spec, invoices_on_demand)
    env = run_env(prefect_server, sandbox, tmp_path)
    registered = subprocess.run(
        [str(BIN / "cwsage"), "--spec", str(spec), "serve", "--work-pool", "cwsage-test"],
        env=env, capture_output=True, text=True, timeout=60)
    assert registered.returncode == 0, registered.stderr
    assert "cwsage-pipeline/invoices → work pool cwsage-test" in registered.stdout
    assert "prefect worker start --pool cwsage-test" in registered.stdout
    with api(prefect_server) as client:
        deployment = deployments(client)["invoices"]
        assert deployment.work_pool_name == "cwsage-test"
        assert client.read_work_pool("cwsage-test").type == "process"
        run = client.create_flow_run_from_deployment(deployment.id)
    elsewhere = tmp_path / "worker"
    elsewhere.mkdir()
    worker = subprocess.run(
        [str(BIN / "prefect"), "worker", "start", "--pool", "cwsage-test", "--run-once"],
        cwd=elsewhere, env=env, capture_output=True, text=True, timeout=90)
    with api(prefect_server) as client:
        state = client.read_flow_run(run.id).state
    assert state.is_completed(), worker.stdout[-3000:] + worker.stderr[-3000:]
    from tasks.journal import Journal
    journal = Journal(tmp_path / "cwsage-home" / "journal.db")
    assert journal.counts("invoices")["posted"] > 0
    journal.close()
