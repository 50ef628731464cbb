"""The processes a benchmark runs beside the measured ones: the ConnectWise sandbox and a Prefect
API server, each in its own process, plus running a measured child and reading its peak RSS.

Start-up of the sandbox and of the Prefect server is timed and reported on its own; it is never
part of a measured wall time.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
_URL = re.compile(r"listening on (\S+)")
_EXPORT = re.compile(r"export (CW_[A-Z_]+)=(\S*)")


class BenchError(Exception):
    """A benchmark could not run; the message says which part and why."""


@dataclass
class Finished:
    """How a child process ended: exit status, wall seconds, peak RSS (from ``wait4``)."""

    returncode: int
    wall_s: float
    maxrss_mb: float
    spawned_at: float          # time.time() just before the process was started
    cpu_s: float = 0.0         # user + system CPU seconds of the process
    loadavg: float = 0.0       # the machine's 1-minute load average when it was started


def wait_rusage(proc: subprocess.Popen, timeout: float | None = None
                ) -> tuple[int, float, float]:
    """Reap ``proc`` with ``wait4``; return (exit status, peak RSS in MiB, CPU seconds)."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG if deadline else 0)
        if pid:
            proc.returncode = os.waitstatus_to_exitcode(status)
            return proc.returncode, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime
        if deadline and time.monotonic() > deadline:
            raise subprocess.TimeoutExpired(proc.args, timeout)
        time.sleep(0.05)


def stop(proc: subprocess.Popen, grace: float = 10.0) -> tuple[float, float]:
    """SIGTERM, then SIGKILL after ``grace`` seconds; return (peak RSS MiB, CPU seconds)."""
    if proc.returncode is not None:
        return 0.0, 0.0
    proc.send_signal(signal.SIGTERM)
    try:
        return wait_rusage(proc, grace)[1:]
    except subprocess.TimeoutExpired:
        proc.kill()
        return wait_rusage(proc)[1:]


def run_child(args: list[str], env: dict[str, str], log: Path, timeout: float) -> Finished:
    """Run ``python -m …`` in its own process; its output goes to ``log``."""
    start, spawned_at, load = time.perf_counter(), time.time(), os.getloadavg()[0]
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, *args], cwd=ROOT, env=env, stdout=out,
                                stderr=subprocess.STDOUT)
        try:
            code, rss, cpu = wait_rusage(proc, timeout)
        except subprocess.TimeoutExpired:
            stop(proc, 5)
            raise BenchError(f"{' '.join(args[:2])} did not finish within {timeout:g}s "
                             f"— see {log}") from None
    return Finished(code, time.perf_counter() - start, rss, spawned_at, cpu, load)


def group_cpu_s(pgid: int) -> float:
    """CPU seconds (user + system) of the live processes in a process group, from /proc."""
    tick, total = os.sysconf("SC_CLK_TCK"), 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue                          # the process ended while we looked
        if int(fields[2]) == pgid:            # state ppid pgrp … utime(12) stime(13)
            total += int(fields[11]) + int(fields[12])
    return total / tick


def stop_group(process: subprocess.Popen, grace: float = 20.0) -> None:
    """Stop a process started with ``start_new_session=True`` and every process in its group:
    SIGTERM, then SIGKILL after ``grace`` seconds; reaped either way."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(grace)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    except ProcessLookupError:
        pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Sandbox:
    """``python -m sandbox`` in its own process, with a fresh state file."""

    invoices: int
    lines: int
    state_file: Path
    seed: int = 7
    log: Path | None = None
    proc: subprocess.Popen | None = None
    base_url: str = ""
    env: dict[str, str] = field(default_factory=dict)
    startup_s: float = 0.0
    maxrss_mb: float = 0.0
    cpu_s: float = 0.0

    def start(self, timeout: float = 60.0) -> "Sandbox":
        self.state_file.unlink(missing_ok=True)
        cmd = [sys.executable, "-m", "sandbox", "--port", "0", "--seed", str(self.seed),
               "--invoices", str(self.invoices), "--lines-per-invoice", str(self.lines),
               "--expenses", "0", "--procurement", "0", "--broken-share", "0",
               "--state", str(self.state_file)]
        began = time.perf_counter()
        err = open(self.log or os.devnull, "ab")
        self.proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=err, text=True)
        err.close()
        self._read_banner(timeout)
        self._wait_ready(timeout)
        self.startup_s = time.perf_counter() - began
        return self

    def _read_banner(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        assert self.proc and self.proc.stdout
        for line in self.proc.stdout:
            if (m := _URL.search(line)):
                self.base_url = m.group(1)
            if (m := _EXPORT.search(line)):
                self.env[m.group(1)] = m.group(2)
            if "CW_CLIENT_ID" in self.env or time.monotonic() > deadline:
                break
        if not self.base_url or "CW_CLIENT_ID" not in self.env:
            self.stop()
            raise BenchError(f"the sandbox did not start (see {self.log}); "
                             f"command: python -m sandbox …")

    def _wait_ready(self, timeout: float) -> None:
        """The first listing call forces the seeded data into being; do it before timing."""
        from bench.baseline import session
        with session(self.base_url, self.env) as http:
            http.get(self.base_url + "/finance/accounting/unpostedinvoices/count",
                     timeout=timeout).raise_for_status()

    def stop(self) -> None:
        if self.proc is not None:
            if self.proc.stdout:
                self.proc.stdout.close()
            self.maxrss_mb, self.cpu_s = stop(self.proc)
            self.proc = None

    def __enter__(self) -> "Sandbox":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass
class PrefectServer:
    """``prefect server start`` on a free loopback port with its own PREFECT_HOME."""

    home: Path
    log: Path
    port: int = 0
    proc: subprocess.Popen | None = None
    startup_s: float = 0.0

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    def start(self, timeout: float = 120.0) -> "PrefectServer":
        self.port = self.port or free_port()
        env = dict(os.environ, PREFECT_HOME=str(self.home),
                   PREFECT_SERVER_ANALYTICS_ENABLED="false")
        env.pop("PREFECT_API_URL", None)
        prefect = Path(sys.executable).with_name("prefect")
        cmd = [str(prefect)] if prefect.exists() else [sys.executable, "-m", "prefect"]
        began = time.perf_counter()
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen([*cmd, "server", "start", "--host", "127.0.0.1",
                                          "--port", str(self.port)], env=env, stdout=out,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        self._wait_healthy(timeout)
        self.startup_s = time.perf_counter() - began
        return self

    def _wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc and self.proc.poll() is not None:
                raise BenchError(f"prefect server start exited with {self.proc.returncode} "
                                 f"— see {self.log}")
            try:
                if requests.get(self.api_url + "/health", timeout=2).ok:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.25)
        self.stop()
        raise BenchError(f"the Prefect server was not healthy within {timeout:g}s — see "
                         f"{self.log}")

    def cpu_s(self) -> float | None:
        """User + system CPU seconds used so far by the server's process group."""
        if self.proc is None:
            return None
        return group_cpu_s(self.proc.pid)

    def stop(self) -> None:
        """The server runs in its own process group (uvicorn may fork); stop the group."""
        if self.proc is not None:
            stop_group(self.proc)
        self.proc = None

    def __enter__(self) -> "PrefectServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
