"""What a measured child reports about itself: memory (VmHWM, VmRSS over time), timings, and
an optional cProfile of the measured call. Standard library only, so it costs nothing to import.
"""

from __future__ import annotations

import cProfile
import io
import json
import os
import pstats
import re
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

ROOT = Path(__file__).resolve().parents[1]


def proc_status_mb(field: str) -> float:
    """``VmHWM`` (peak RSS) or ``VmRSS`` of this process, in MiB, from /proc/self/status."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class RssSampler:
    """Samples this process's RSS every ``every`` seconds in a daemon thread."""

    def __init__(self, every: float = 0.5):
        self.every = every
        self.samples: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._start = time.perf_counter()
        self._thread = threading.Thread(target=self._run, name="bench-rss", daemon=True)

    def start(self) -> "RssSampler":
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.samples.append((round(time.perf_counter() - self._start, 2),
                                 round(proc_status_mb("VmRSS"), 1)))

    def stop(self) -> list[tuple[float, float]]:
        self._stop.set()
        self._thread.join(2)
        return thin(self.samples, 60)


def thin(samples: list, keep: int) -> list:
    """At most ``keep`` evenly spaced samples, always with the last one."""
    if len(samples) <= keep:
        return list(samples)
    step = len(samples) / keep
    return [samples[int(i * step)] for i in range(keep - 1)] + [samples[-1]]


class Stopwatch:
    """Seconds spent per named step, summed: ``with watch("export"): …``."""

    def __init__(self) -> None:
        self.calls: dict[str, list[float]] = {}

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        began = time.perf_counter()
        try:
            yield
        finally:
            self.calls.setdefault(name, []).append(time.perf_counter() - began)

    def rounded(self) -> dict[str, float]:
        return {k: round(sum(v), 3) for k, v in self.calls.items()}

    def trends(self) -> dict[str, dict]:
        return {k: trend(v) for k, v in self.calls.items() if len(v) >= 10}


def trend(durations: list[float]) -> dict:
    """Mean seconds per call over the first and the last tenth of the calls, in call order:
    a stage whose calls get slower as the run goes on grows with the backlog."""
    tenth = max(1, len(durations) // 10)
    first, last = durations[:tenth], durations[-tenth:]
    return {"first": round(sum(first) / len(first), 4), "last": round(sum(last) / len(last), 4),
            "calls": len(durations)}


@contextmanager
def profiled(path: Path | None) -> Iterator[None]:
    """Run the block under cProfile when ``path`` is given; write the .prof and a summary."""
    if path is None:
        yield
        return
    profile = cProfile.Profile()
    profile.enable()
    try:
        yield
    finally:
        profile.disable()
        profile.dump_stats(str(path))
        path.with_suffix(".txt").write_text(profile_summary(path, 40))


def own_time_by_package(path: Path) -> list[tuple[str, float]]:
    """Own (tottime) seconds summed per top-level package — how much of the profiled thread's
    time is Prefect's, Great Expectations', pandas', this project's (by module), built-ins'."""
    totals: dict[str, float] = {}
    for (filename, _, name), (_, _, tottime, _, _) in pstats.Stats(str(path)).stats.items():
        if "site-packages/" in filename:
            group = filename.split("site-packages/", 1)[1].split("/", 1)[0]
        elif filename == "~":       # "<method 'recv_into' of '_socket.socket' objects>"
            owner = re.search(r" of '([^']+)' objects", name)
            group = "built-in: " + (owner.group(1) if owner else name.strip("<>")[:40])
        elif filename.startswith("<"):
            group = "stdlib: " + filename.strip("<>")
        elif filename.startswith(str(ROOT)):
            group = "cwsage: " + str(Path(filename).relative_to(ROOT))
        else:
            group = "stdlib: " + Path(filename).stem
        totals[group] = totals.get(group, 0.0) + tottime
    return sorted(totals.items(), key=lambda kv: -kv[1])


def profile_summary(path: Path, top: int = 25) -> str:
    """The top functions by cumulative and by own time, as pstats prints them, and own time
    per package."""
    out = io.StringIO()
    out.write(f"# {path.name}: own time by package (top {top})\n")
    for group, seconds in own_time_by_package(path)[:top]:
        out.write(f"{seconds:9.3f}  {group}\n")
    out.write("\n")
    stats = pstats.Stats(str(path), stream=out).strip_dirs()
    out.write(f"# {path.name}: top {top} by cumulative time\n")
    stats.sort_stats("cumulative").print_stats(top)
    out.write(f"\n# {path.name}: top {top} by own (tottime) time\n")
    stats.sort_stats("tottime").print_stats(top)
    return out.getvalue()


@contextmanager
def traced(path: Path | None, top: int = 30) -> Iterator[None]:
    """With ``path``: trace allocations and write where the memory still held at the end of
    the block was allocated (grouped by line), with tracemalloc's own peak."""
    if path is None:
        yield
        return
    import tracemalloc
    tracemalloc.start(8)
    try:
        yield
    finally:
        snapshot = tracemalloc.take_snapshot()
        current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        lines = [f"# traced Python memory: held at end {current / 2**20:.1f} MiB, "
                 f"peak {peak / 2**20:.1f} MiB; top {top} allocation sites still held"]
        for stat in snapshot.statistics("traceback")[:top]:
            lines.append(f"\n{stat.size / 2**20:.1f} MiB in {stat.count} blocks")
            lines += [f"    {frame}" for frame in stat.traceback.format()[-8:]]
        path.write_text("\n".join(lines) + "\n")


def write_result(path: Path, result: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(result, indent=2, default=str))
    tmp.replace(path)


def rss_fields(sampler: RssSampler, after_import_mb: float, peak_mb: float) -> dict:
    return {"rss_after_import_mb": round(after_import_mb, 1), "peak_rss_mb": round(peak_mb, 1),
            "rss_samples": sampler.stop(), "pid": os.getpid()}
