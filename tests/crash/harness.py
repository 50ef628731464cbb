"""Kill ``cwsage run`` anywhere, run it again, and check that nothing was posted twice or lost.

Each trial: a fresh $CWSAGE_HOME and a fresh ConnectWise sandbox (in this process, so it
outlives the killed run); ``cwsage run invoices`` in a child process that is killed — either by
itself at a deterministic crash point (``CWSAGE_CRASH_AT``, see tasks/faults.py) or by SIGKILL
from here after a random delay; then plain runs until one succeeds. Then the invariants:

* every valid ConnectWise invoice is in Sage exactly once (INVOICE.EXTERNAL_ID), and nothing else;
* every GL entry of a loaded invoice is in exactly one ConnectWise batch, and no other GL entry is;
* the quarantined (broken) invoices are still unposted in ConnectWise, and only they;
* the journal holds nothing in flight, and ConnectWise and Sage totals reconcile.

``python -m tests.crash.harness --trials 50`` runs a longer soak of random kills.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from sandbox.server import SandboxServer
from tests.writer_settings import make_writer

ROOT = Path(__file__).resolve().parents[2]
INVOICES, CHUNK = 24, 8


@dataclass
class Trial:
    name: str
    runs: list[int] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def with_rates(text: str) -> str:
    """The spec text with the exchange rates a company holding EUR and USD customers would
    configure (cwsage ships none: without a rate a foreign document is held)."""
    old = "  sage50_replica: {}"
    assert old in text, "pipelines.yaml: the sage50_replica line moved; update with_rates"
    return text.replace(old, "  sage50_replica: {currency_rates: {EUR: 1.15, USD: 1.27}}")


def project(folder: Path) -> Path:
    """A copy of the real spec with small chunks and no retry delays."""
    for name in ("xslt", "expectations"):
        shutil.copytree(ROOT / name, folder / name)
    text = (ROOT / "pipelines.yaml").read_text()
    text = text.replace("    chunk_size: 1000", f"    chunk_size: {CHUNK}")
    text = text.replace("  retry_delay_seconds: 10", "  retry_delay_seconds: 0")
    text = with_rates(text)
    (folder / "pipelines.yaml").write_text(text)
    return folder / "pipelines.yaml"


def child_env(server: SandboxServer, home: Path, api_url: str | None, crash: str | None) -> dict:
    creds = server.credentials
    env = dict(os.environ, CWSAGE_HOME=str(home), CW_BASE_URL=server.base_url,
               CW_COMPANY=creds["company"], CW_PUBLIC_KEY=creds["public_key"],
               CW_PRIVATE_KEY=creds["private_key"], CW_CLIENT_ID=creds["client_id"],
               PREFECT_LOGGING_LEVEL="ERROR", PYTHONPATH=str(ROOT))
    env.pop("CWSAGE_CRASH_AT", None)
    if api_url:
        env["PREFECT_API_URL"] = api_url
    if crash:
        env["CWSAGE_CRASH_AT"] = crash
    return env


def run_once(spec: Path, env: dict, kill_after: float | None = None) -> int:
    cmd = [sys.executable, "-m", "flows.cli", "--spec", str(spec), "run", "invoices"]
    child = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, start_new_session=True)
    if kill_after is not None:
        try:
            child.wait(timeout=kill_after)
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
    _, err = child.communicate(timeout=300)
    if child.returncode not in (0, -signal.SIGKILL):
        sys.stderr.write(err.decode(errors="replace")[-2000:])
    return child.returncode


def trial(name: str, workdir: Path, api_url: str | None, *, crash: str | None = None,
          kill_after: float | None = None, seed: int = 3) -> Trial:
    result = Trial(name)
    folder = Path(tempfile.mkdtemp(dir=workdir))
    spec, home = project(folder), folder / "home"
    server = SandboxServer(port=0, seed=seed, invoices=INVOICES, expenses=0, procurement=0,
                           broken_share=0.125).start()
    try:
        result.runs.append(run_once(spec, child_env(server, home, api_url, crash), kill_after))
        for _ in range(3):
            code = run_once(spec, child_env(server, home, api_url, None))
            result.runs.append(code)
            if code == 0:
                break
        result.problems = invariants(server, home) if result.runs[-1] == 0 else \
            [f"the runs after the crash did not succeed: exit codes {result.runs}"]
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)
    return result


def run_capture(spec: Path, env: dict) -> tuple[int, str]:
    """One run to its end, with what it printed on stderr."""
    cmd = [sys.executable, "-m", "flows.cli", "--spec", str(spec), "run", "invoices"]
    done = subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, timeout=300)
    return done.returncode, done.stderr.decode(errors="replace")


def settle(result: Trial, spec: Path, server: SandboxServer, home: Path,
           api_url: str | None) -> None:
    """Run again until a run succeeds (at most three), then check the invariants."""
    for _ in range(3):
        code = run_once(spec, child_env(server, home, api_url, None))
        result.runs.append(code)
        if code == 0:
            break
    result.problems += invariants(server, home) if result.runs[-1] == 0 else \
        [f"the runs after the fault did not succeed: exit codes {result.runs}"]


def two_writers_trial(workdir: Path, api_url: str | None) -> Trial:
    """A second cwsage home starts against the same replica while the first is running: it
    is refused (the target's claim), and the first home's work ends exactly once."""
    result = Trial("two homes, one target")
    folder = Path(tempfile.mkdtemp(dir=workdir))
    spec, home, other = project(folder), folder / "home", folder / "other-home"
    target = folder / "shared.db"
    spec.write_text(spec.read_text().replace("  sage50_replica: {currency_rates:",
                                             f"  sage50_replica: {{path: {target}, "
                                             "currency_rates:"))
    server = SandboxServer(port=0, seed=5, invoices=INVOICES, expenses=0, procurement=0,
                           broken_share=0.125).start()
    try:
        cmd = [sys.executable, "-m", "flows.cli", "--spec", str(spec), "run", "invoices"]
        first = subprocess.Popen(cmd, cwd=ROOT, env=child_env(server, home, api_url, None),
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        claim = target.with_name(target.name + ".cwsage-claim")
        for _ in range(600):
            if claim.exists() or first.poll() is not None:
                break
            time.sleep(0.1)
        code, err = run_capture(spec, child_env(server, other, api_url, None))
        result.runs += [first.wait(timeout=300), code]
        if code == 0 or "is written by another cwsage home" not in err or "Traceback" in err:
            result.problems.append(f"the second home was not refused cleanly: {code} {err[-500:]}")
        (home / "sage50.db").symlink_to(target)     # where the invariants read the replica
        settle(result, spec, server, home, api_url)
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)
    return result


def damaged_target_trial(workdir: Path, api_url: str | None) -> Trial:
    """Killed after a load; the replica is then damaged: the next run refuses it in one line,
    naming the file; restored from its copy, the runs after finish exactly once."""
    result = Trial("damaged target after a kill")
    folder = Path(tempfile.mkdtemp(dir=workdir))
    spec, home = project(folder), folder / "home"
    server = SandboxServer(port=0, seed=7, invoices=INVOICES, expenses=0, procurement=0,
                           broken_share=0.125).start()
    try:
        result.runs.append(run_once(spec, child_env(server, home, api_url, "after-load:1")))
        replica, backup = home / "sage50.db", folder / "backup.db"
        source = sqlite3.connect(replica)
        copy = sqlite3.connect(backup)
        source.backup(copy)
        source.close()
        copy.close()
        for leftover in home.glob("sage50.db-*"):
            leftover.unlink()
        replica.write_bytes(b"this is not a database" * 100)
        code, err = run_capture(spec, child_env(server, home, api_url, None))
        result.runs.append(code)
        if code != 2 or str(replica) not in err or "Traceback" in err:
            result.problems.append(f"the damaged replica was not refused cleanly: {code} "
                                   f"{err[-500:]}")
        shutil.copyfile(backup, replica)
        settle(result, spec, server, home, api_url)
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)
    return result


def with_outbox(text: str, outbox: Path) -> str:
    """The spec text loading through the Zynk outbox in ``outbox``, with the replica's rates."""
    return text.replace("  writer: sage50_replica", f"  writer: zynk_xml_outbox\n"
                        f"  zynk_xml_outbox: {{folder: {outbox}, currency_rates: "
                        "{EUR: 1.15, USD: 1.27}}", 1)


def import_in_sage(home: Path, outbox: Path, **faults) -> None:
    """Zynk's run on the Sage side: the outbox into the replica the invariants read."""
    from tasks.sage50.sage_import import ImportOptions, import_outbox
    with make_writer("sage50_replica", {"currency_rates": {"EUR": 1.15, "USD": 1.27}}, home) as sage:
        import_outbox(outbox, outbox / "success", outbox / "fail", sage,
                      ImportOptions(**faults))


BEFORE_IMPORT = ("before-writer", "after-writer", "after-load")


def handoff_trial(point: str, workdir: Path, api_url: str | None) -> Trial:
    """Through the Zynk outbox, killed at ``point``: while handing off (before the importer
    ran) or while reading its answers and batching them (after). Then importer and runs in
    turn until a run finishes with nothing waiting: nothing is batched before Sage confirmed
    it, nothing is imported twice, every handed-off document ends loaded or quarantined."""
    result = Trial(f"handoff, killed at {point}")
    folder = Path(tempfile.mkdtemp(dir=workdir))
    spec, home, outbox = project(folder), folder / "home", folder / "zynk-inbox"
    spec.write_text(with_outbox(spec.read_text(), outbox))
    server = SandboxServer(port=0, seed=9, invoices=INVOICES, expenses=0, procurement=0,
                           broken_share=0.125).start()
    early = point.split(":")[0] in BEFORE_IMPORT
    try:
        result.runs.append(run_once(spec, child_env(server, home, api_url,
                                                    point if early else None)))
        if _batch_count(server):
            result.problems.append("a batch was created before the importer ran")
        if not early:
            import_in_sage(home, outbox)
            result.runs.append(run_once(spec, child_env(server, home, api_url, point)))
        for _ in range(4):
            import_in_sage(home, outbox)
            result.runs.append(run_once(spec, child_env(server, home, api_url, None)))
            if result.runs[-1] == 0 and not _waiting(home):
                break
        result.problems += invariants(server, home) if result.runs[-1] == 0 else \
            [f"the runs after the crash did not succeed: exit codes {result.runs}"]
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)
    return result


def _batch_count(server: SandboxServer) -> int:
    return len(_session(server).get(f"{server.base_url}/finance/accounting/batches",
                                    params={"pageSize": 1000}).json())


def _waiting(home: Path) -> int:
    db = sqlite3.connect(home / "journal.db")
    try:
        return db.execute("SELECT COUNT(*) FROM documents WHERE state='handed_off'").fetchone()[0]
    finally:
        db.close()


def invariants(server: SandboxServer, home: Path, journal: bool = True) -> list[str]:
    """The suite's invariants on ConnectWise, Sage (``home``'s replica) and, unless the journal
    lives elsewhere (``journal=False``), the home's journal."""
    problems = []
    broken = {b.id for b in server.data.broken_documents() if b.kind == "invoice"}
    valid = {5001 + i for i in range(INVOICES)} - broken
    db = sqlite3.connect(home / "sage50.db")
    ids = [row[0] for row in db.execute("SELECT EXTERNAL_ID FROM INVOICE")]
    if len(ids) != len(set(ids)):
        problems.append(f"an invoice is in Sage twice: {sorted(ids)}")
    if {int(i.removeprefix("CW-INV-")) for i in ids} != valid:
        problems.append(f"Sage holds {sorted(ids)}, expected the {len(valid)} valid invoices")
    problems += _batches(server, valid)
    if journal:
        problems += _journal(home)
    return problems


def _session(server: SandboxServer) -> requests.Session:
    c = server.credentials
    s = requests.Session()
    s.auth = (f"{c['company']}+{c['public_key']}", c["private_key"])
    s.headers["clientId"] = c["client_id"]
    return s


def _batches(server: SandboxServer, valid: set[int]) -> list[str]:
    s, base = _session(server), server.base_url
    entries: list[int] = []
    invoices: set[int] = set()
    for batch in s.get(f"{base}/finance/accounting/batches", params={"pageSize": 1000}).json():
        rows = s.get(f"{base}/finance/accounting/batches/{batch['id']}/entries",
                     params={"pageSize": 1000}).json()
        entries += [r["id"] for r in rows]
        invoices |= {r["invoice"]["id"] for r in rows if r.get("invoice")}
    problems = []
    if len(entries) != len(set(entries)):
        problems.append("a GL entry is in more than one batch")
    if invoices != valid:
        problems.append(f"batched invoices {sorted(invoices)} differ from the valid ones")
    unposted = {r["id"] for r in s.get(f"{base}/finance/accounting/unpostedinvoices",
                                       params={"pageSize": 1000}).json()}
    if unposted & valid or len(unposted) != 24 - len(valid):
        problems.append(f"ConnectWise still lists {sorted(unposted)} as unposted")
    return problems


def _journal(home: Path) -> list[str]:
    db = sqlite3.connect(home / "journal.db")
    states = dict(db.execute("SELECT state, COUNT(*) FROM documents GROUP BY state").fetchall())
    problems = []
    if states.get("loading") or states.get("posting") or states.get("loaded") or \
            states.get("handed_off"):
        problems.append(f"the journal still has work in flight: {states}")
    open_batches = db.execute("SELECT COUNT(*) FROM batches WHERE state='intent'").fetchone()[0]
    if open_batches:
        problems.append(f"{open_batches} batch intents were never settled")
    return problems


def _prefect_server(workdir: Path) -> tuple[subprocess.Popen, str]:
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = dict(os.environ, PREFECT_HOME=str(workdir / "prefect"),
               PREFECT_SERVER_ANALYTICS_ENABLED="false")
    server = subprocess.Popen([sys.executable, "-m", "prefect", "server", "start", "--host",
                               "127.0.0.1", "--port", str(port), "--no-ui"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/api"
    for _ in range(120):
        try:
            if requests.get(f"{url}/health", timeout=1).ok:
                return server, url
        except requests.RequestException:
            time.sleep(0.5)
    server.kill()
    raise RuntimeError("the Prefect server did not start")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.crash.harness")
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--max-delay", type=float, default=12.0)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    workdir = Path(tempfile.mkdtemp(prefix="cwsage-soak-"))
    prefect, url = _prefect_server(workdir)
    passed = failed = 0
    try:
        for n in range(args.trials):
            delay = rng.uniform(1.0, args.max_delay)
            result = trial(f"random kill after {delay:.2f}s", workdir, url, kill_after=delay,
                           seed=rng.randint(1, 10_000))
            ok = not result.problems
            passed, failed = passed + ok, failed + (not ok)
            print(f"trial {n + 1}: {result.name}: runs {result.runs}: "
                  f"{'ok' if ok else '; '.join(result.problems)}", flush=True)
    finally:
        prefect.terminate()
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
