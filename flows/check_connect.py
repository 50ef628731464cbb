"""``cwsage check --connect``: can this machine reach everything the spec names?

After the spec loads, one look at each thing a run needs, writing nothing anywhere:

- ConnectWise: one cheap authenticated GET, tried once with a short timeout; a failure is
  reported as the client sorts it (refused, a name that does not resolve, TLS, keys refused,
  permission missing, or a temporary failure that a run would retry);
- each pipeline's Sage target: the replica file (its folder can be created and written; an
  existing file reads as a replica), the file writers' folders, the ODBC DSN (one attempt);
- the shared state, when the spec has ``state:``: the PostgreSQL server answers, the password
  is accepted and the journal's schema is there or can be made (``tasks.state``);
- the Prefect API, when one is configured: ``GET <PREFECT_API_URL>/health``.

Every result is one line: what was found, or what failed and how to fix it. No secret is shown.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, TextIO

import requests

from tasks.inert import terminal
from tasks.connectwise import origin, unreachable
from tasks.context import cwsage_home, make_client
from tasks.errors import ConfigError, CwsageError, RetriableError
from tasks.sage50 import sage_odbc
from tasks.sage50.replica import check_replica

PROBE = "/finance/accounting/batches"    # read by every accounting pipeline's API member
PROBE_TIMEOUT = 10.0
PREFECT_TIMEOUT = 5.0
PREFECT_FIXES = {kind: "check PREFECT_API_URL and that the Prefect server is up"
                 for kind in ("connection refused", "name not resolved",
                              "certificate not verified", "TLS handshake failed")}


@dataclass(frozen=True)
class CheckResult:
    what: str             # "ConnectWise", "Sage target of invoices", "Prefect API"
    ok: bool
    detail: str           # one line: what was found, or what failed and the fix
    info: bool = False    # neither a pass nor a failure: something to know


def check_connect(spec, env: Mapping[str, str] | None = None) -> list[CheckResult]:
    """Check ConnectWise, every pipeline's Sage target and the Prefect API for ``spec``
    (a loaded ``flows.spec.Spec``); ``env`` defaults to the process environment."""
    env = os.environ if env is None else env
    memo: dict[str, list[tuple[bool, str]]] = {}        # pipelines sharing a target: one look
    results = [check_connectwise(spec.connectwise)]
    for name in spec.pipelines:
        writer, settings = spec.writer_for(spec.pipeline(name))
        key = f"{writer} {settings!r}"
        if key not in memo:
            memo[key] = sage_target(writer, settings)
        failed = [text for ok, text in memo[key] if not ok]
        detail = "; ".join(failed) or f"{writer}: " + "; ".join(t for _, t in memo[key])
        off = "" if spec.pipeline(name).enabled else " (enabled: false)"
        results.append(CheckResult(f"Sage target of {name}{off}", not failed, detail))
    if spec.state is not None:
        results.append(check_state(spec.shared_state()))
    results.append(check_prefect(env))
    return results


def check_state(shared) -> CheckResult:
    """Open the shared journal (creating its schema on first use, as a run would)."""
    from tasks.state import open_journal
    try:
        journal = open_journal(Path("."), shared)
    except CwsageError as exc:
        return CheckResult("Shared state", False, str(exc))
    try:
        where, pipelines = journal.where, journal.pipelines()
    finally:
        journal.close()
    known = f"documents of {', '.join(pipelines)}" if pipelines else "no documents yet"
    return CheckResult("Shared state", True, f"the journal at {where} answers ({known})")


def print_checks(results: list[CheckResult], out: TextIO = sys.stdout) -> int:
    """One line per result; 0 when every check passed, else 1."""
    for r in results:
        mark = "info" if r.info else "ok" if r.ok else "FAIL"
        print(f"{mark:<4}  {r.what}: {terminal(r.detail)}", file=out)
    return 0 if all(r.ok for r in results) else 1


# -- ConnectWise -----------------------------------------------------------------------------
def check_connectwise(cfg) -> CheckResult:
    """One authenticated GET, tried once (the client's own sorting of failures reports it)."""
    try:
        client = make_client(cfg.model_copy(update={
            "max_attempts": 1, "timeout_seconds": min(cfg.timeout_seconds, PROBE_TIMEOUT)}))
    except ConfigError as exc:
        return CheckResult("ConnectWise", False, str(exc))
    try:
        count = client.count(PROBE)
    except RetriableError as exc:               # the client's own words, minus "tried once"
        return CheckResult("ConnectWise", False, (
            f"ConnectWise at {origin(cfg.base_url)}: GET {PROBE}/count: {exc.__cause__ or exc}"
            " — a temporary failure that runs retry; check again later"))
    except CwsageError as exc:
        return CheckResult("ConnectWise", False, str(exc))
    except requests.RequestException as exc:    # no scheme, no host: not a URL to call
        return CheckResult("ConnectWise", False, (
            f"connectwise.base_url is not a URL ConnectWise can be reached at "
            f"({type(exc).__name__}) — give https://<site>/v4_6_release/apis/3.0"))
    finally:
        client.close()
    return CheckResult("ConnectWise", True, (
        f"{origin(cfg.base_url)} accepted the API keys for company {cfg.company!r} "
        f"(GET {PROBE}/count: {count} accounting batches)"))


# -- the Sage side ---------------------------------------------------------------------------
def sage_target(writer: str, settings) -> list[tuple[bool, str]]:
    """(ok, text) for each thing the writer needs (``settings``: its validated, resolved
    settings): its file or folders, its ODBC DSN."""
    if writer == "sage50_replica":
        return [replica_file(settings.path)]
    found = [folder_state(settings.folder, f"sage.{writer}.folder", write=True)]
    if writer == "zynk_xml_outbox":      # Zynk writes its Success and Fail Files; we read them
        found += [folder_state(getattr(settings, key), f"sage.{writer}.{key}", write=False)
                  for key in ("success_folder", "fail_folder")]
    if getattr(settings, "odbc_dsn", None):
        found.append(odbc_state(settings))
    return found


def replica_file(setting: Path | None) -> tuple[bool, str]:
    key = "sage.sage50_replica.path" if setting else \
        "sage.sage50_replica.path (not set: $CWSAGE_HOME/sage50.db)"
    path = Path(setting) if setting else cwsage_home() / "sage50.db"
    if not os.path.exists(path):
        return creatable(path, key)
    if path.is_dir():
        return False, f"{key}: {path} is a folder — give the replica's file name, such as " \
                      f"{path / 'sage50.db'}"
    try:
        check_replica(path)
    except CwsageError as exc:
        return False, str(exc)
    if not (os.access(path, os.W_OK) and os.access(path.parent, os.W_OK | os.X_OK)):
        return False, f"{key}: {path} is not writable by this user (nor must its folder be: " \
                      "SQLite writes its journal beside it) — fix the permissions"
    return True, f"{path} is a readable Sage 50 replica, writable by this user"


def folder_state(path: Path, key: str, write: bool) -> tuple[bool, str]:
    if not os.path.exists(path):
        return creatable(path, key, folder=True)
    if not path.is_dir():
        return False, f"{key}: {path} is a file, not a folder — give a folder"
    need, word = (os.W_OK | os.X_OK, "writable") if write else (os.R_OK | os.X_OK, "readable")
    if not os.access(path, need):
        return False, f"{key}: {path} is not {word} by this user — fix its permissions or " \
                      "choose another folder"
    return True, f"{path} is a {word} folder"


def creatable(path: Path, key: str, folder: bool = False) -> tuple[bool, str]:
    """Could ``path`` be created, judged from its nearest existing ancestor (nothing is
    created here)?"""
    base = next(p for p in path.parents if os.path.exists(p))
    kind = "folder" if folder else "file"
    if not base.is_dir():
        return False, f"{key}: {path} cannot be created: {base} is a file, not a folder — " \
                      f"choose a {kind} in a folder"
    if not os.access(base, os.W_OK | os.X_OK):
        return False, f"{key}: {path} cannot be created: {base} is not writable by this " \
                      "user — fix its permissions or choose another place"
    return True, f"{path} does not exist yet; it can be created in {base}"


def odbc_state(settings) -> tuple[bool, str]:
    """One read-only connection through ``sage_odbc.connect`` and one read of Sage's tables."""
    password = settings.odbc_password
    login = sage_odbc.Login(settings.odbc_dsn, settings.odbc_user,
                            password.get_secret_value() if password else None)
    try:
        conn = sage_odbc.connect(login)
        try:
            sage_odbc.headers(conn, [], set())       # reads the CURRENCY table, nothing else
        finally:
            conn.close()
    except (CwsageError, *sage_odbc.db_errors()) as exc:
        return False, f"sage.sage50_import_csv.odbc_dsn: {login.redact(str(exc))}"
    return True, f"ODBC DSN {login.dsn!r} answers read-only"


# -- Prefect ---------------------------------------------------------------------------------
def check_prefect(env: Mapping[str, str]) -> CheckResult:
    url = env.get("PREFECT_API_URL") or profile_setting("PREFECT_API_URL")
    if not url:
        return CheckResult("Prefect API", True, "no Prefect API configured: runs use a "
                           "temporary local server", info=True)
    health = url.rstrip("/") + "/health"
    try:
        response = requests.get(health, timeout=PREFECT_TIMEOUT, headers=_auth(env))
    except requests.RequestException as exc:
        gone = unreachable(exc)
        return CheckResult("Prefect API", False, gone.message("Prefect API", url, PREFECT_FIXES)
                           if gone else f"Prefect API at {origin(url)}: no answer from /health "
                           f"({type(exc).__name__}) — check PREFECT_API_URL and the server")
    if response.status_code != 200:
        return CheckResult("Prefect API", False, (
            f"Prefect API at {origin(url)}: GET /health answered HTTP {response.status_code} — "
            "check PREFECT_API_URL (it ends in /api) and PREFECT_API_KEY"))
    return CheckResult("Prefect API", True, f"{origin(url)} answered GET /health")


def profile_setting(name: str) -> str | None:
    """A setting as the active Prefect profile holds it (``prefect config set NAME=…``)."""
    try:
        from prefect.settings import load_current_profile
        values = {s.name: v for s, v in load_current_profile().settings.items()}
    except Exception:                       # no readable profile: nothing configured there
        return None
    return str(values.get(name) or "") or None


def _auth(env: Mapping[str, str]) -> dict[str, str]:
    """Prefect Cloud's API key, as Prefect's own client sends it (never shown)."""
    key = env.get("PREFECT_API_KEY") or profile_setting("PREFECT_API_KEY")
    return {"Authorization": f"Bearer {key}"} if key else {}
