"""Take the README's screenshots of the Prefect UI with headless Chromium.

    .venv/bin/python docs/screenshots/take.py          # writes docs/screenshots/*.png

Everything runs on free ports under a temporary folder and is stopped at the end: a Prefect
server with its UI, the ConnectWise sandbox, and ``cwsage serve`` for the real pipelines.yaml.
Each pipeline runs once; then the deployments page, a finished run's artifacts and the
invoices run summary are captured. Needs /usr/bin/chromium (Debian: apt-get install chromium).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))
from bench.procs import free_port, stop_group as stop  # noqa: E402  (run as a script)
BIN = Path(sys.executable).parent
CHROMIUM = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--hide-scrollbars", "--virtual-time-budget=15000")


def start(args: list[str], env: dict, log: Path, cwd: Path) -> subprocess.Popen:
    return subprocess.Popen(args, env=env, cwd=cwd, stdout=open(log, "w"),
                            stderr=subprocess.STDOUT, start_new_session=True)


def wait_until(check, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = check()
            if value:
                return value
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise SystemExit(f"timed out waiting for {what}")


def shoot(url: str, name: str, work: Path, height: int = 1000, width: int = 1400) -> Path:
    out = HERE / name
    profile = tempfile.mkdtemp(dir=work, prefix="chromium-")
    subprocess.run(["chromium", *CHROMIUM, f"--user-data-dir={profile}",
                    f"--window-size={width},{height}", f"--screenshot={out}", url],
                   check=True, capture_output=True, timeout=120)
    print(f"{out.relative_to(ROOT)}  ←  {url}")
    return out


CLICK = """(() => {
  const tab = [...document.querySelectorAll('button, [role=tab], li, a')].find(
    e => e.textContent.trim() === %r && e.offsetParent !== null);
  if (tab) { tab.click(); return true; }
  return false;
})()"""


def shoot_tab(url: str, tab: str, name: str, work: Path, height: int = 1000) -> Path:
    """Open ``url``, click the tab labelled ``tab`` (a ``?tab=`` query is reset while the page
    loads), and capture it through the DevTools protocol."""
    import base64
    import json
    from websockets.sync.client import connect
    out = HERE / name
    profile = Path(tempfile.mkdtemp(dir=work, prefix="chromium-"))
    browser = subprocess.Popen(
        ["chromium", *CHROMIUM[:-1], f"--user-data-dir={profile}", "--remote-debugging-port=0",
         f"--window-size=1400,{height}", url], stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        port = wait_until(lambda: (profile / "DevToolsActivePort").exists() and (
            profile / "DevToolsActivePort").read_text().split()[0], 30, "chromium")
        page = wait_until(lambda: [t for t in requests.get(
            f"http://127.0.0.1:{port}/json/list", timeout=2).json() if t["type"] == "page"],
            30, "the page")[0]
        with connect(page["webSocketDebuggerUrl"], max_size=None) as ws:
            def call(method: str, **params):
                call.n += 1
                ws.send(json.dumps({"id": call.n, "method": method, "params": params}))
                while (reply := json.loads(ws.recv())).get("id") != call.n:
                    pass
                return reply.get("result", {})
            call.n = 0
            wait_until(lambda: call("Runtime.evaluate", expression=CLICK % tab,
                                    returnByValue=True)["result"].get("value"), 60, tab)
            time.sleep(4)
            data = call("Page.captureScreenshot", format="png")["data"]
        out.write_bytes(base64.b64decode(data))
    finally:
        stop(browser)
    print(f"{out.relative_to(ROOT)}  ←  {url} ({tab} tab)")
    return out


def run_every_pipeline(api: str) -> dict:
    """One run of each deployment, to completion; returns {pipeline: flow run id}."""
    import yaml
    from prefect import get_client
    names = set(yaml.safe_load((ROOT / "pipelines.yaml").read_text())["pipelines"])
    with get_client(sync_client=True) as client:
        found = wait_until(lambda: names <= set(d.name for d in client.read_deployments()) and {
            d.name: d for d in client.read_deployments()}, 60, "the deployments")
        runs = {name: client.create_flow_run_from_deployment(d.id).id
                for name, d in found.items()}
        wait_until(lambda: all(client.read_flow_run(i).state.is_final() for i in runs.values()),
                   240, "the flow runs")
        from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
        artifacts = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(
            any_=["invoices-run-summary", "invoices-rounding-differences"])))
        return {"runs": runs, **{a.key: a.id for a in artifacts}}


def main() -> int:
    from sandbox.server import SandboxServer
    work = Path(tempfile.mkdtemp(prefix="cwsage-screens-"))
    port = free_port()
    ui, api = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{port}/api"
    base = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    server = start([str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port",
                    str(port)], {**base, "PREFECT_HOME": str(work / "prefect"),
                                 "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
                                 "PREFECT_SERVER_UI_API_URL": api,
                                 "PREFECT_SERVER_UI_SHOW_PROMOTIONAL_CONTENT": "false"},
                   work / "server.log", work)
    sandbox = SandboxServer(host="127.0.0.1", port=0, seed=7, invoices=60)
    serve = None
    try:
        wait_until(lambda: requests.get(f"{api}/health", timeout=1).json() is True, 90,
                   "the Prefect server")
        sandbox.start()
        creds = sandbox.credentials
        env = {**base, "PREFECT_API_URL": api, "PREFECT_HOME": str(work / "client"),
               "PREFECT_RUNNER_POLL_FREQUENCY": "1", "CWSAGE_HOME": str(work / "cwsage"),
               "CW_BASE_URL": sandbox.base_url, "CW_COMPANY": creds["company"],
               "CW_PUBLIC_KEY": creds["public_key"], "CW_PRIVATE_KEY": creds["private_key"],
               "CW_CLIENT_ID": creds["client_id"]}
        serve = start([str(BIN / "cwsage"), "--spec", str(ROOT / "pipelines.yaml"), "serve",
                       "--limit", "4"], env, work / "serve.log", work)
        os.environ["PREFECT_API_URL"] = api
        done = run_every_pipeline(api)
        invoices = done["runs"]["invoices"]
        shoot(f"{ui}/deployments", "deployments.png", work, 700, 1800)
        shoot_tab(f"{ui}/runs/flow-run/{invoices}", "Artifacts", "run-artifacts.png", work, 1300)
        shoot(f"{ui}/runs/flow-run/{invoices}", "run-graph.png", work)
        for key, name, height in (("invoices-run-summary", "run-summary.png", 2700),
                                  ("invoices-rounding-differences", "rounding-differences.png",
                                   1000)):
            if key in done:
                shoot(f"{ui}/artifacts/artifact/{done[key]}", name, work, height)
        shoot(f"{ui}/artifacts", "artifacts.png", work)
    finally:
        if serve is not None:
            stop(serve)
        sandbox.stop()
        stop(server)
    print(f"logs under {work}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
