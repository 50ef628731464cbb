"""Which of the project's modules one invoice passes through, in the order it meets them.

``python -m bench.invoice_path`` starts the ConnectWise sandbox with one invoice, runs the real
``invoices`` flow into a fresh Sage 50 replica (a temporary home, the shipped spec), and lists
every module of ``flows/`` and ``tasks/`` whose code ran — each once, at its first call — then
their number. It is the measure behind ARCHITECTURE.md's "path of one invoice": a module a reader
must open to follow the invoice is one whose code runs for it. ``--all`` also lists the modules
that only the run's set-up and reporting touched (the spec, the CLI's helpers, the artifacts).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OWN = tuple(str(ROOT / part) + os.sep for part in ("flows", "tasks"))
STAGES = ("extract", "validate", "transform", "load", "post")


def traced(run) -> list[str]:
    """Run ``run()`` and return the project modules whose functions ran, by first call."""
    seen: dict[str, None] = {}

    def profile(frame, event, arg):
        if event == "call":
            name = frame.f_code.co_filename
            if name.startswith(OWN) and name not in seen:
                seen[name] = None
    threading.setprofile(profile)
    sys.setprofile(profile)
    try:
        run()
    finally:
        sys.setprofile(None)
        threading.setprofile(None)
    return [str(Path(name).relative_to(ROOT)) for name in seen]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.invoice_path")
    parser.add_argument("--all", action="store_true", help="list set-up and reporting too")
    args = parser.parse_args(argv)
    os.environ.update(PREFECT_SERVER_ANALYTICS_ENABLED="false",
                      PREFECT_LOGGING_LEVEL="ERROR")
    from prefect.testing.utilities import prefect_test_harness

    from sandbox.server import SandboxServer
    folder = Path(tempfile.mkdtemp(prefix="cwsage-path-"))
    for name in ("xslt", "expectations"):
        shutil.copytree(ROOT / name, folder / name)
    shutil.copy(ROOT / "pipelines.yaml", folder / "pipelines.yaml")
    server = SandboxServer(port=0, seed=3, invoices=1, expenses=0, procurement=0,
                           broken_share=0.0).start()
    creds = server.credentials
    os.environ.update(CWSAGE_HOME=str(folder / "home"), CW_BASE_URL=server.base_url,
                      CW_COMPANY=creds["company"], CW_PUBLIC_KEY=creds["public_key"],
                      CW_PRIVATE_KEY=creds["private_key"], CW_CLIENT_ID=creds["client_id"])
    try:
        with prefect_test_harness(server_startup_timeout=90):
            from flows.pipeline import run_pipeline      # imported before: only calls count
            modules = traced(lambda: run_pipeline("invoices", str(folder / "pipelines.yaml")))
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)
    shown = modules if args.all else [m for m in modules if _on_path(m)]
    for number, module in enumerate(shown, 1):
        print(f"{number:3d}  {module}")
    print(f"{len(shown)} modules{'' if args.all else ' on the invoice path'} "
          f"({len(modules)} ran in all)")
    return 0


def _on_path(module: str) -> bool:
    """The invoice's own path: not the spec's loading, alerts, artifacts or terminal output."""
    aside = ("flows/spec", "flows/notify", "flows/delivery", "flows/progress", "flows/tables",
             "flows/summary", "tasks/artifacts", "tasks/inert", "tasks/errors", "tasks/faults",
             "tasks/caching", "tasks/dbfiles", "tasks/files")
    return not module.startswith(aside)


if __name__ == "__main__":
    sys.exit(main())
