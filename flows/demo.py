"""``cwsage demo``: every pipeline against a local ConnectWise sandbox, through the Zynk outbox
into the Sage 50 replica — the two-phase handoff as it runs against a real Sage 50.

1. cwsage hands the documents off: it writes them for the Sage-side importer and marks nothing
   exported in ConnectWise;
2. the importer on the Sage side runs (Zynk, played here by ``cwsage sage-import``): it imports
   into the replica and writes its Success and Fail Files;
3. cwsage runs again: it reads the importer's answers, then batches in ConnectWise exactly what
   Sage confirmed; refusals are quarantined with the importer's words.

Pipelines that read a list endpoint the sandbox does not seed (a kind declared in
pipelines.yaml, such as ``agreement_invoices`` from /finance/invoices) are served from the
pipeline's own test fixture, ``tests/fixtures/<pipeline>.json`` (or ``<pipeline>-export.json``)
beside the spec — the file ``tests/contract`` checks it with. A pipeline with neither is left
out of the demo, and the demo says so.

The demo has its own home, ``$CWSAGE_HOME/demo`` (``demo_home``). Its spec is the project's,
with the writer switched to the outbox (written to ``demo-pipelines.yaml`` there). The sandbox
keeps its state in that home, so a second demo sees what the first one posted: nothing is
loaded or posted twice.
"""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from pathlib import Path

import yaml

from flows.progress import shown
from flows.runner import run_in_turn
from flows.spec import load_spec
from flows.summary import status_rows
from flows.terminal import (print_quarantine, print_reconciliation, print_run_results,
                            print_waiting)
from tasks.context import RunContext, cwsage_home
from tasks.held import noun_for
from tasks.report import reconcile_run

@contextmanager
def sandbox_environment(home, seed: int, invoices: int, spec=None):
    """The sandbox, serving what ``spec``'s pipelines read (``serve_list_sources``); yields
    it and the pipelines it cannot serve (name → endpoint)."""
    from sandbox.server import SandboxServer
    server = SandboxServer(host="127.0.0.1", port=0, seed=seed, invoices=invoices,
                           state_file=home / "sandbox-state.json")
    skipped = serve_list_sources(server.api, spec) if spec is not None else {}
    server.start()
    creds = server.credentials
    values = {"CW_BASE_URL": server.base_url, "CW_COMPANY": creds["company"],
              "CW_PUBLIC_KEY": creds["public_key"], "CW_PRIVATE_KEY": creds["private_key"],
              "CW_CLIENT_ID": creds["client_id"]}
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield server, skipped
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        server.stop()


@contextmanager
def demo_home():
    """The demo's own home, ``$CWSAGE_HOME/demo`` (``.cwsage/demo`` by default): its journal,
    replica, outbox and sandbox state never mix with those of real runs, which would otherwise
    find the demo's documents "already in Sage". ``CWSAGE_HOME`` points there while it runs."""
    home = cwsage_home() / "demo"
    saved = os.environ.get("CWSAGE_HOME")
    os.environ["CWSAGE_HOME"] = str(home)
    try:
        yield home
    finally:
        if saved is None:
            os.environ.pop("CWSAGE_HOME", None)
        else:
            os.environ["CWSAGE_HOME"] = saved


def run_demo(spec_path: str, seed: int = 7, invoices: int = 120, out=None) -> int:
    out = out or sys.stdout
    with demo_home() as home:
        code = _demo(spec_path, seed, invoices, out, home)
    print(f"\nThe demo's state is in {home} (its own home: real runs never see it). To look "
          f"at it: CWSAGE_HOME={home} cwsage status", file=out)
    return code


def _demo(spec_path: str, seed: int, invoices: int, out, home: Path) -> int:
    home.mkdir(parents=True, exist_ok=True)
    spec = load_spec(spec_path, need_connection=False)   # fail fast on a broken spec
    with sandbox_environment(home, seed, invoices, spec) as (server, skipped):
        demo_spec = str(handoff_spec(Path(spec_path), home, skip=set(skipped)))
        print(f"ConnectWise sandbox: {server.base_url} (seed {seed}, {invoices} invoices)",
              file=out)
        for fixture in server.api.fixtures:
            where = Path(fixture.file).relative_to(spec.path.parent)
            print(f"  {fixture.path} served from {where}", file=out)
        for name, path in skipped.items():
            print(f"  {name}: left out — the sandbox does not serve {path} and there is no "
                  f"tests/fixtures/{name}.json to serve it from", file=out)
        print(f"Zynk outbox, Sage 50 replica and journal: {home}", file=out)
        print("\n1. cwsage hands the documents off to the importer on the Sage side "
              "(nothing is batched in ConnectWise yet):", file=out)
        with shown():
            handed = run_in_turn(demo_spec)
        print_run_results(handed, out, reconciliation=False)
        for row in status_rows(demo_spec):
            print_waiting(f"  {row['pipeline']}", row["waiting"], out)
        print("\n2. The importer on the Sage side runs (Zynk, played by `cwsage sage-import`):",
              file=out)
        from flows.handoff_cli import sage_import_command
        from tasks.sage50.sage_import import ImportOptions
        sage_import_command(demo_spec, ImportOptions(), out=out)
        print("\n3. cwsage reads what Sage confirmed, then batches exactly that in "
              "ConnectWise:", file=out)
        with shown():
            results = run_in_turn(demo_spec)
        print_run_results(results, out, reconciliation=False)
        _print_totals(demo_spec, home, out)
    return 0 if all(r.ok for r in results) else 1


def serve_list_sources(api, spec) -> dict[str, str]:
    """Serve each list endpoint of ``spec``'s pipelines that the sandbox does not seed from the
    pipeline's fixture (see the module); return the pipelines left out (name → endpoint)."""
    fixtures: dict[str, Path] = {}
    skipped: dict[str, str] = {}
    folder = spec.path.parent / "tests" / "fixtures"
    for name, p in spec.pipelines.items():
        kind = p.extract.kind
        path = kind.source.endpoint if kind is not None else p.extract.endpoint
        if path is None or path in fixtures or api.serves(path):
            continue
        found = [f for f in (folder / f"{name}.json", folder / f"{name}-export.json")
                 if f.is_file()]
        if found:
            fixtures[path] = found[0]
        else:
            skipped[name] = path
    api.add_fixtures(fixtures)
    return skipped


def handoff_spec(spec_path: Path, home: Path, skip: set[str] = frozenset()) -> Path:
    """The project's spec with the writer switched to the Zynk outbox in ``home`` (the
    replica's exchange rates carried over), its stylesheets and suites named by absolute
    path so the copy may live in ``home``; the pipelines ``skip`` left out. Every pipeline is
    on, those off by default (``enabled: false``) too: the sandbox serves each its own
    documents, so none reaches Sage twice."""
    raw = yaml.safe_load(spec_path.read_text("utf-8"))
    raw["pipelines"] = {k: v for k, v in (raw.get("pipelines") or {}).items() if k not in skip}
    sage = raw.setdefault("sage", {}) or {}
    replica = sage.get("sage50_replica") or {}
    sage["writer"] = "zynk_xml_outbox"
    sage["zynk_xml_outbox"] = {"folder": str(home / "zynk-inbox"),
                               "currency_rates": replica.get("currency_rates") or {}}
    base = spec_path.resolve().parent
    for name, body in (raw.get("pipelines") or {}).items():
        body = body if isinstance(body, dict) else {}
        body.pop("enabled", None)
        transform, validate = body.get("transform") or {}, body.get("validate") or {}
        body["transform"] = dict(transform, stylesheet=str(
            base / (transform.get("stylesheet") or f"xslt/{name}.xsl")))
        body["validate"] = dict(validate, suite=str(
            base / (validate.get("suite") or f"expectations/{name}.json")))
        raw["pipelines"][name] = body
    path = home / "demo-pipelines.yaml"
    path.write_text("# written by `cwsage demo` from " + str(spec_path.resolve()) + "\n"
                    + yaml.safe_dump(raw, sort_keys=False), "utf-8")
    return path


def _print_totals(spec_path: str, home, out) -> None:
    spec = load_spec(spec_path)
    balances = None
    for name, p in spec.pipelines.items():
        ctx = RunContext(spec=spec, pipeline_spec=p, home=home)
        try:
            held = ctx.journal.quarantined(name)
            print(f"\n{name}: nothing held back" if not held else "", file=out)
            print_quarantine(held, noun_for(ctx.entity), out, heading=f"{name}: {len(held)} "
                             "held back (cwsage quarantine list)")
            if ctx.entity.has_money:
                print_reconciliation(reconcile_run(ctx.run, ctx.journal, ctx.writer, run_only=False), out,
                                     title=" of everything loaded so far", shown=3)
        finally:
            ctx.close()
    from tasks.sage50.replica import ReplicaWriter
    with ReplicaWriter(spec.writer_for_name("sage50_replica"), home) as sage:
        balances = sage.audit_balances()
    if balances:
        debits, credits = balances
        verdict = "balanced" if debits == credits else "OUT OF BALANCE"
        print(f"\nSage audit trail: debits {debits} = credits {credits} ({verdict})", file=out)
