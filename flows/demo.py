"""``cwsage demo``: every pipeline against a local ConnectWise sandbox, into the Sage replica.

The sandbox runs in-process on a free port and keeps its state in $CWSAGE_HOME, so a second
demo on the same home sees what the first one posted: nothing is loaded or posted twice.
"""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager

from flows.runner import run_pipelines
from flows.spec import load_spec
from flows.summary import print_quarantine, print_reconciliation, print_run_results
from tasks.context import RunContext, cwsage_home
from tasks.report import quarantine_rows, reconcile_run


@contextmanager
def sandbox_environment(home, seed: int, invoices: int):
    from sandbox.server import SandboxServer
    server = SandboxServer(host="127.0.0.1", port=0, seed=seed, invoices=invoices,
                           state_file=home / "sandbox-state.json")
    server.start()
    creds = server.credentials
    values = {"CW_BASE_URL": server.base_url, "CW_COMPANY": creds["company"],
              "CW_PUBLIC_KEY": creds["public_key"], "CW_PRIVATE_KEY": creds["private_key"],
              "CW_CLIENT_ID": creds["client_id"]}
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield server
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        server.stop()


def run_demo(spec_path: str, seed: int = 7, invoices: int = 120, out=sys.stdout) -> int:
    home = cwsage_home()
    home.mkdir(parents=True, exist_ok=True)
    load_spec(spec_path, need_connection=False)          # fail fast on a broken spec
    with sandbox_environment(home, seed, invoices) as server:
        print(f"ConnectWise sandbox: {server.base_url} (seed {seed}, {invoices} invoices)",
              file=out)
        print(f"Sage 50 replica and journal: {home}", file=out)
        results = run_pipelines(spec_path)
        print_run_results(results, out, reconciliation=False)
        _print_totals(spec_path, home, out)
    return 0 if all(r.get("ok") for r in results) else 1


def _print_totals(spec_path: str, home, out) -> None:
    spec = load_spec(spec_path)
    balances = None
    for name, p in spec.pipelines.items():
        ctx = RunContext(spec=spec, pipeline_spec=p, home=home)
        try:
            print(f"\n{name}:", file=out)
            print_quarantine(name, quarantine_rows(ctx.journal, name), out)
            if ctx.entity.postable:
                print_reconciliation(reconcile_run(ctx, run_only=False), out,
                                     title=" of everything loaded so far", shown=3)
            if hasattr(ctx.writer, "audit_balances"):
                balances = ctx.writer.audit_balances()
        finally:
            ctx.close()
    if balances:
        debits, credits = balances
        verdict = "balanced" if debits == credits else "OUT OF BALANCE"
        print(f"\nSage audit trail: debits {debits} = credits {credits} ({verdict})", file=out)
