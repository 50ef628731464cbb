"""``python -m bench``: measure the full ``invoices`` pipeline against a bare baseline.

    python -m bench --invoices 25000 --lines 4 --chunk-size 500 1000 --workers 1 2 --repeat 3

For every chunk size and repeat, the baseline and the full pipeline at each ``--workers``
value (chunks in flight, ``workers`` in pipelines.yaml) run, each in its own child
process against a ConnectWise sandbox started fresh for it in another process (a new state
file: both parts see the same unposted documents). One Prefect server is started for the whole
benchmark unless ``--prefect-api-url`` names one. Start-ups are reported, never counted.
The report goes to ``--out`` (default ``bench/results``) as ``<UTC timestamp>.json``, and as a
markdown table to stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from bench.procs import ROOT, BenchError, PrefectServer, Sandbox, run_child
from bench.report import markdown, record, summarise
from tasks.config.spec import MAX_WORKERS

RESULTS = Path(__file__).resolve().parent / "results"
PARTS = ("full", "baseline")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description=(
        "Benchmark the invoices pipeline (the real Prefect flow) against a bare baseline doing "
        "the same work with requests, lxml and sqlite3, on a local ConnectWise sandbox."))
    parser.add_argument("--invoices", type=int, default=25_000, metavar="N",
                        help="invoices in the sandbox (default %(default)s)")
    parser.add_argument("--lines", type=int, default=4, metavar="L",
                        help="average lines per invoice (default %(default)s)")
    parser.add_argument("--chunk-size", type=int, nargs="+", default=[1000], metavar="C",
                        help="documents per chunk; several values measure each (default 1000)")
    parser.add_argument("--workers", type=int, nargs="+", default=[2], metavar="W",
                        help="the full pipeline's workers (chunks in flight: 1 runs every "
                        "stage in turn); several values measure each (default 2)")
    parser.add_argument("--repeat", type=int, default=1, metavar="K",
                        help="runs of each part; medians are reported (default %(default)s)")
    parser.add_argument("--out", type=Path, default=RESULTS, metavar="DIR",
                        help="where the JSON report (and profiles) go (default bench/results)")
    parser.add_argument("--skip-baseline", action="store_true", help="measure the full "
                        "pipeline only")
    parser.add_argument("--skip-full", action="store_true", help="measure the baseline only")
    parser.add_argument("--prefect-api-url", metavar="URL", help="use this Prefect API "
                        "instead of starting a server")
    parser.add_argument("--profile", action="store_true", help="run each child under cProfile "
                        "and keep <stamp>-<part>-c<C>-r<K>.prof/.txt in --out (slows it down)")
    parser.add_argument("--tracemalloc", action="store_true", help="trace Python allocations "
                        "in each child; keep where the memory held at the end came from")
    parser.add_argument("--env", action="append", default=[], metavar="KEY=VALUE",
                        help="set an environment variable in both measured children "
                        "(repeatable), e.g. MALLOC_ARENA_MAX=2")
    parser.add_argument("--seed", type=int, default=7, help="sandbox seed (default %(default)s)")
    parser.add_argument("--timeout", type=float, default=7200, metavar="S",
                        help="give up on a child after S seconds (default %(default)s)")
    parser.add_argument("--keep-work", action="store_true", help="keep the work folder "
                        "(homes, databases, logs) and print where it is")
    return parser


@dataclass
class Bench:
    args: argparse.Namespace
    work: Path
    stamp: str
    api_url: str | None = None
    server: PrefectServer | None = None

    @property
    def parts(self) -> list[str]:
        return [p for p in PARTS if not getattr(self.args, f"skip_{p}")]


def prepare_spec(dest: Path, chunk: int, workers: int = 2) -> Path:
    """A copy of pipelines.yaml with ``defaults.extract.chunk_size`` and ``defaults.workers``
    set, with its xslt/ and expectations/ beside it."""
    import yaml
    dest.mkdir(parents=True, exist_ok=True)
    raw = yaml.safe_load((ROOT / "pipelines.yaml").read_text(encoding="utf-8"))
    raw.setdefault("defaults", {}).setdefault("extract", {})["chunk_size"] = chunk
    raw["defaults"]["workers"] = workers
    replica = raw.setdefault("sage", {}).setdefault("sage50_replica", {}) or {}
    replica["currency_rates"] = {"EUR": 1.15, "USD": 1.27}    # cwsage ships no rates
    raw["sage"]["sage50_replica"] = replica
    for pipeline in raw.get("pipelines", {}).values():
        if "chunk_size" in (pipeline.get("extract") or {}):
            pipeline["extract"]["chunk_size"] = chunk
        pipeline.pop("workers", None)
    (dest / "pipelines.yaml").write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    for folder in ("xslt", "expectations"):
        shutil.copytree(ROOT / folder, dest / folder, dirs_exist_ok=True)
    return dest / "pipelines.yaml"


def child_command(bench: Bench, part: str, tag: str, folder: Path, spec: Path,
                  chunk: int) -> list[str]:
    args = ["-m", f"bench.{part}", "--spec", str(spec), "--result", str(folder / "result.json")]
    if part == "baseline":
        args += ["--db", str(folder / "baseline.db"), "--chunk-size", str(chunk)]
    if bench.args.profile:
        args += ["--profile", str(bench.args.out / f"{bench.stamp}-{tag}.prof")]
    if bench.args.tracemalloc:
        args += ["--tracemalloc", str(bench.args.out / f"{bench.stamp}-{tag}.memory.txt")]
    return args


def child_env(bench: Bench, part: str, folder: Path, sandbox: Sandbox) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CW_", "CWSAGE_"))}
    env.update(sandbox.env, CW_BASE_URL=sandbox.base_url, PYTHONUNBUFFERED="1")
    env.update(item.split("=", 1) for item in bench.args.env)
    if part == "full":
        env.update(CWSAGE_HOME=str(folder / "home"), PREFECT_API_URL=bench.api_url or "",
                   PREFECT_HOME=str(folder / "prefect-client"))
    return env


def measure(bench: Bench, part: str, chunk: int, repeat: int, spec: Path,
            workers: int | None = None) -> dict:
    """One part, once: a fresh sandbox process, the child, its result."""
    tag = f"{part}-c{chunk}" + (f"-w{workers}" if workers is not None else "") + f"-r{repeat}"
    folder = bench.work / tag
    folder.mkdir(parents=True)
    sandbox = Sandbox(bench.args.invoices, bench.args.lines, folder / "sandbox-state.json",
                      bench.args.seed, log=folder / "sandbox.log")
    server_before = bench.server.cpu_s() if bench.server and part == "full" else None
    with sandbox:
        finished = run_child(child_command(bench, part, tag, folder, spec, chunk),
                             child_env(bench, part, folder, sandbox), folder / "child.log",
                             bench.args.timeout)
    server_cpu = None if server_before is None else bench.server.cpu_s() - server_before
    if finished.returncode != 0 or not (folder / "result.json").exists():
        tail = (folder / "child.log").read_text(errors="replace")[-3000:]
        raise BenchError(f"{tag}: the child exited with {finished.returncode}:\n{tail}")
    child = json.loads((folder / "result.json").read_text())
    result = record(part, chunk, repeat, child, finished, sandbox, workers, server_cpu)
    print(f"  {tag}: {result['wall_s']:.2f} s wall, {result['documents']:,} documents, "
          f"{result['lines']:,} lines, {result['lines_per_s']:,.0f} lines/s, peak RSS "
          f"{result['peak_rss_mb']:.0f} MiB", file=sys.stderr, flush=True)
    return result


def source() -> dict:
    """Which code was measured: the commit, and the files changed since (read-only git)."""
    import subprocess
    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True,
                                  timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""
    changed = [line[3:] for line in git("status", "--porcelain", "--untracked-files=no")
               .splitlines() if line[3:] and not line[3:].startswith("bench/")]
    return {"commit": git("rev-parse", "HEAD") or None, "changed_files": changed}


def machine() -> dict:
    from importlib.metadata import PackageNotFoundError, version
    versions = {}
    for name in ("prefect", "great-expectations", "lxml", "pandas", "requests"):
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = None
    return {"cpu_count": os.cpu_count(), "platform": platform.platform(),
            "python": platform.python_version(), "memory_gib": _memory_gib(), **versions}


def _memory_gib() -> float | None:
    try:
        with open("/proc/meminfo") as info:
            return round(int(info.readline().split()[1]) / 2**20, 1)
    except (OSError, ValueError, IndexError):
        return None


def run(bench: Bench) -> dict:
    args = bench.args
    specs = {(c, w): prepare_spec(bench.work / f"spec-c{c}-w{w}", c, w)
             for c in args.chunk_size for w in args.workers}
    setup: dict = {"prefect_api_url": args.prefect_api_url, "prefect_server_startup_s": None}
    records = []
    with ExitStack() as stack:
        if "full" in bench.parts and not args.prefect_api_url:
            server = stack.enter_context(PrefectServer(bench.work / "prefect-server",
                                                       bench.work / "prefect-server.log"))
            bench.api_url, bench.server = server.api_url, server
            setup.update(prefect_api_url=server.api_url,
                         prefect_server_startup_s=round(server.startup_s, 2))
            print(f"  Prefect server ready in {server.startup_s:.1f} s", file=sys.stderr)
        else:
            bench.api_url = args.prefect_api_url
        for repeat in range(1, args.repeat + 1):
            for chunk in args.chunk_size:
                if "baseline" in bench.parts:
                    records.append(measure(bench, "baseline", chunk, repeat,
                                           specs[chunk, args.workers[0]]))
                if "full" in bench.parts:
                    records += [measure(bench, "full", chunk, repeat, specs[chunk, w], w)
                                for w in args.workers]
    setup["sandbox_startup_s_median"] = round(statistics.median(
        r["sandbox_startup_s"] for r in records), 3) if records else None
    return {"created": bench.stamp, "parameters": {
        "invoices": args.invoices, "lines": args.lines, "chunk_sizes": args.chunk_size,
        "workers": args.workers,
        "repeat": args.repeat, "seed": args.seed, "parts": bench.parts,
        "profile": args.profile, "tracemalloc": args.tracemalloc, "env": args.env,
        "command": "python -m bench " + " ".join(args.argv)},
        "machine": machine(), "source": source(), "setup": setup,
        "summary": summarise(records), "runs": records}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    if args.invoices < 1 or args.lines < 1 or args.repeat < 1 or \
            any(not 1 <= c <= 1000 for c in args.chunk_size) or \
            any(not 1 <= w <= MAX_WORKERS for w in args.workers):
        print("python -m bench: --invoices, --lines and --repeat must be at least 1, "
              f"--chunk-size 1-1000 and --workers 1-{MAX_WORKERS}", file=sys.stderr)
        return 2
    if any("=" not in item for item in args.env):
        print("python -m bench: --env takes KEY=VALUE", file=sys.stderr)
        return 2
    if args.skip_full and args.skip_baseline:
        print("python -m bench: nothing to measure (both parts skipped)", file=sys.stderr)
        return 2
    args.out = args.out.resolve()
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    work = Path(tempfile.mkdtemp(prefix="cwsage-bench-"))
    try:
        report = run(Bench(args, work, stamp))
    except BenchError as exc:
        print(f"python -m bench: {exc}", file=sys.stderr)
        return 1
    finally:
        if args.keep_work:
            print(f"  work folder kept: {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    path = args.out / f"{stamp}.json"
    report["result_file"] = str(path)
    path.write_text(json.dumps(report, indent=2, default=str))
    print(markdown(report))
    return 0
