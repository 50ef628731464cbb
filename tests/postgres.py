"""A real PostgreSQL server for the tests of shared state, started once per test session.

The server is the machine's own PostgreSQL (Debian's ``postgresql`` package: ``initdb`` and
``postgres`` under ``/usr/lib/postgresql/<version>/bin``, or wherever ``CWSAGE_PG_BINDIR``
says), in a fresh data folder, on a free loopback port, with password authentication over TCP
as a deployment would use it. PostgreSQL refuses to run as root, so under root it runs as the
``postgres`` user. Where no server can be started the tests that need one are skipped, saying
why — unless ``CWSAGE_REQUIRE_POSTGRES=1`` (CI sets it), where that is a failure.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

USER, PASSWORD, DATABASE = "cwsage", "test-" + uuid.uuid4().hex[:12], "cwsage"


@dataclass(frozen=True)
class Server:
    url: str            # no password: it comes from the environment, as in a real spec
    password: str

    def schema(self) -> str:
        """A schema of its own for one test: tests never see one another's journals."""
        return "t_" + uuid.uuid4().hex[:16]


def bindir() -> Path | None:
    given = os.environ.get("CWSAGE_PG_BINDIR")
    candidates = [given] if given else sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                                              key=lambda p: int(p.split("/")[-2]), reverse=True)
    if not given and shutil.which("initdb"):
        candidates.append(str(Path(os.path.realpath(shutil.which("initdb"))).parent))
    for folder in candidates:
        if folder and all((Path(folder) / tool).exists() for tool in ("initdb", "pg_ctl")):
            return Path(folder)
    return None


def _as_server_user() -> list[str]:
    if os.geteuid() != 0:
        return []
    if not shutil.which("runuser"):
        raise RuntimeError("running as root, and runuser is missing to start PostgreSQL as "
                           "the postgres user")
    return ["runuser", "-u", "postgres", "--"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(folder: Path) -> tuple[Server, callable]:
    """Start a server with its data in ``folder``; return it and the function that stops it."""
    tools = bindir()
    if tools is None:
        raise RuntimeError("PostgreSQL's server programs (initdb, pg_ctl) are not installed — "
                           "apt-get install postgresql, or set CWSAGE_PG_BINDIR")
    prefix = _as_server_user()
    folder.mkdir(parents=True, exist_ok=True)
    if prefix:
        shutil.chown(folder, "postgres")
    data, pwfile, port = folder / "data", folder / "pw", _free_port()
    pwfile.write_text(PASSWORD + "\n")
    if prefix:
        shutil.chown(pwfile, "postgres")
    run = lambda *args: subprocess.run([*prefix, *map(str, args)], check=True,  # noqa: E731
                                       capture_output=True, text=True, timeout=120)
    run(tools / "initdb", "-D", data, "-U", USER, "--pwfile", pwfile, "--auth-host",
        "scram-sha-256", "--auth-local", "peer", "-E", "UTF8", "--no-sync")
    options = (f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off "
               "-c max_connections=60")
    run(tools / "pg_ctl", "-D", data, "-o", options, "-l", folder / "server.log", "-w", "start")
    stop = lambda: run(tools / "pg_ctl", "-D", data, "-m", "immediate", "stop")  # noqa: E731
    try:
        import psycopg
        with psycopg.connect(host="127.0.0.1", port=port, user=USER, password=PASSWORD,
                             dbname="postgres", autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {DATABASE}")
    except BaseException:
        stop()
        raise
    return Server(f"postgresql://{USER}@127.0.0.1:{port}/{DATABASE}", PASSWORD), stop


@pytest.fixture(scope="session")
def postgres():
    """The session's PostgreSQL server (see the module docstring)."""
    folder = Path(tempfile.mkdtemp(prefix="cwsage-pg-"))
    folder.chmod(0o755)
    try:
        server, stop = start(folder)
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        detail = getattr(exc, "stderr", "") or ""
        shutil.rmtree(folder, ignore_errors=True)
        why = f"no PostgreSQL server for the shared-state tests: {exc} {detail}".strip()
        if os.environ.get("CWSAGE_REQUIRE_POSTGRES") == "1":
            pytest.fail(why)
        pytest.skip(why)
    try:
        yield server
    finally:
        try:
            stop()
        finally:
            shutil.rmtree(folder, ignore_errors=True)
