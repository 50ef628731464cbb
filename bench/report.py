"""What a benchmark reports: one record per measured child, medians per configuration (chunk
size, and workers for the full part), the full/baseline ratio (against the baseline at the same
chunk size), the product's targets, as JSON and as a markdown table.

Definitions (the same for both parts):

* ``wall_s``: from just before the child process is started to the end of its measured call —
  interpreter start, imports, the run; not the post-run reading of task runs or counts.
* ``run_s``: the measured call alone (the flow run; the baseline's loop).
* ``startup_s`` = ``wall_s`` − ``run_s`` (interpreter, imports, set-up).
* ``documents`` / ``lines``: invoices and invoice items that reached the target database
  (the Sage 50 replica's INVOICE / INVOICE_ITEM; the baseline's own tables).
* ``docs_per_s`` / ``lines_per_s``: per ``wall_s``; ``*_run`` variants per ``run_s``.
* ``peak_rss_mb``: VmHWM read by the child itself at the end of its measured call.
* ``flow_overhead`` (full): ``run_s`` minus the task runs' own time — the flow body between
  tasks and Prefect's work around each task call; ``between_tasks`` in the growth table is the
  gap from one task run's end to the next one's start.
* ``cpu_s``: user + system CPU seconds of the child (all its threads) up to the end of its
  measured call; ``sandbox_cpu_s`` the same for the whole life of the sandbox serving it;
  ``server_cpu_s`` (full part, when the benchmark started the Prefect server) what the server's
  processes used while the child ran — all three share the machine's cores. Less
  sensitive than wall time to other work on the machine; ``loadavg`` is the 1-minute load
  average when the child started — compare runs only at a similar load.
"""

from __future__ import annotations

import statistics
from typing import Any

TARGETS = {"ratio_max": 1.3, "lines_per_s_min": 10_000, "peak_rss_mb_max": 1024}
FULL_STAGES = ("recover", "post", "plan", "extract", "validate", "transform", "load", "report",
               "flow_overhead")
TREND_ORDER = FULL_STAGES + ("between_tasks",)
BASE_STAGES = ("list", "export", "companies", "canonical", "xslt", "load", "post")
NUMBERS = ("wall_s", "run_s", "startup_s", "documents", "lines", "docs_per_s", "lines_per_s",
           "lines_per_s_run", "peak_rss_mb", "maxrss_wait4_mb", "rss_after_import_mb",
           "sandbox_startup_s", "sandbox_peak_rss_mb", "cpu_s", "sandbox_cpu_s", "server_cpu_s",
           "loadavg",
           "rss_mid_run_mb")


def record(part: str, chunk: int, repeat: int, child: dict, finished, sandbox,
           workers: int | None = None, server_cpu_s: float | None = None) -> dict:
    """One measured child, flattened."""
    wall = child["ended_at"] - finished.spawned_at
    counts = child.get("counts") or {}
    docs, lines = counts.get("documents", 0), counts.get("lines", 0)
    if part == "full":
        stages = dict(child["stages"]["seconds"])
        stages["flow_overhead"] = round(child["run_s"] - sum(stages.values()), 3)
    else:
        stages = dict(child["steps"])
    return {"part": part, "chunk_size": chunk, "workers": workers, "repeat": repeat,
            "wall_s": round(wall, 3),
            "run_s": child["run_s"], "startup_s": round(wall - child["run_s"], 3),
            "documents": docs, "lines": lines, "docs_per_s": round(docs / wall, 1),
            "lines_per_s": round(lines / wall, 1),
            "lines_per_s_run": round(lines / child["run_s"], 1) if child["run_s"] else None,
            "peak_rss_mb": child["peak_rss_mb"], "maxrss_wait4_mb": round(finished.maxrss_mb, 1),
            "rss_after_import_mb": child["rss_after_import_mb"],
            "sandbox_startup_s": round(sandbox.startup_s, 3),
            "sandbox_peak_rss_mb": round(sandbox.maxrss_mb, 1),
            "cpu_s": child.get("cpu_s"), "sandbox_cpu_s": round(sandbox.cpu_s, 2),
            "server_cpu_s": None if server_cpu_s is None else round(server_cpu_s, 2),
            "loadavg": round(finished.loadavg, 2), "stages": stages,
            "rss_mid_run_mb": mid_run_rss(child.get("rss_samples") or []),
            "trends": (child["stages"] if part == "full" else child).get("trends", {}),
            "detail": {k: v for k, v in child.items()
                       if k in ("flow", "counts", "stages", "rss_samples", "import_s")}}


def mid_run_rss(samples: list) -> float | None:
    """The highest RSS between 10 % and 90 % of the run: the level the chunks run at, without
    the start and the end (a peak well above it comes from the start or the end)."""
    if not samples:
        return None
    end = samples[-1][0]
    middle = [rss for t, rss in samples if 0.1 * end <= t <= 0.9 * end]
    return max(middle) if middle else None


def median_trends(records: list[dict]) -> dict:
    stages = sorted({s for r in records for s in r.get("trends", {})})
    return {s: {edge: round(statistics.median([r["trends"][s][edge] for r in records
                                                if s in r.get("trends", {})]), 4)
                for edge in ("first", "last")} for s in stages}


def median_of(records: list[dict]) -> dict:
    """Medians of every number, and of every stage, over repeated runs."""
    out: dict[str, Any] = {"runs": len(records)}
    for name in NUMBERS:
        values = [r[name] for r in records if r.get(name) is not None]
        out[name] = round(statistics.median(values), 3) if values else None
    stages = sorted({s for r in records for s in r["stages"]})
    out["stages"] = {s: round(statistics.median([r["stages"].get(s, 0.0) for r in records]), 3)
                     for s in stages}
    out["trends"] = median_trends(records)
    return out


def config_key(chunk: int, workers: int | None) -> str:
    """``c1000-w2``: chunk size 1000, two workers (``c1000`` when the full part is skipped)."""
    return f"c{chunk}" if workers is None else f"c{chunk}-w{workers}"


def summarise(records: list[dict]) -> dict:
    """Per configuration: the medians of the full part and of the baseline at the same chunk
    size, the full/baseline ratios, the targets."""
    summary: dict[str, Any] = {}
    for chunk in sorted({r["chunk_size"] for r in records}):
        base = [r for r in records if r["chunk_size"] == chunk and r["part"] == "baseline"]
        baseline = median_of(base) if base else None
        workers = sorted({r["workers"] for r in records
                          if r["chunk_size"] == chunk and r["part"] == "full"})
        for w in workers or [None]:
            entry: dict[str, Any] = {"chunk_size": chunk, "workers": w}
            mine = [r for r in records if r["chunk_size"] == chunk and r["part"] == "full"
                    and r["workers"] == w]
            if mine:
                entry["full"] = median_of(mine)
            if baseline:
                entry["baseline"] = baseline
            if "full" in entry and "baseline" in entry:
                entry["ratio_wall"] = round(entry["full"]["wall_s"] / baseline["wall_s"], 2)
                entry["ratio_run"] = round(entry["full"]["run_s"] / baseline["run_s"], 2)
            entry["targets"] = targets(entry)
            summary[config_key(chunk, w)] = entry
    return summary


def targets(entry: dict) -> dict:
    full = entry.get("full")
    if not full:
        return {}
    met = {"lines_per_s": full["lines_per_s"] >= TARGETS["lines_per_s_min"],
           "peak_rss": full["peak_rss_mb"] < TARGETS["peak_rss_mb_max"]}
    if "ratio_wall" in entry:
        met["ratio"] = entry["ratio_wall"] <= TARGETS["ratio_max"]
    return met


def _n(value: Any, digits: int = 1) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def markdown(report: dict) -> str:
    p, summary = report["parameters"], report["summary"]
    out = [f"## cwsage benchmark: {p['invoices']:,} invoices × ~{p['lines']} lines, "
           f"{report['machine']['cpu_count']} cores, "
           f"{'median of ' + str(p['repeat']) if p['repeat'] > 1 else 'one run'}", "",
           "| part | chunk | workers | wall s | run s | start-up s | documents | lines | docs/s "
           "| lines/s | peak RSS MiB | CPU s (child / sandbox / Prefect server) | load "
           "| full/baseline "
           "(wall / run) |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for part, entry, m in _rows(summary):
        chunk, workers = entry["chunk_size"], entry["workers"] if part == "full" else "–"
        ratio = (f"{entry['ratio_wall']:.2f} / {entry['ratio_run']:.2f}"
                 if part == "full" and "ratio_wall" in entry else "")
        out.append(f"| {part} | {chunk} | {workers} | {_n(m['wall_s'], 2)} | "
                   f"{_n(m['run_s'], 2)} | "
                   f"{_n(m['startup_s'], 2)} | {m['documents']:,.0f} | {m['lines']:,.0f} | "
                   f"{_n(m['docs_per_s'], 0)} | {_n(m['lines_per_s'], 0)} | "
                   f"{_n(m['peak_rss_mb'], 0)} | {_n(m['cpu_s'])} / {_n(m['sandbox_cpu_s'])}"
                   f"{' / ' + _n(m['server_cpu_s']) if part == 'full' else ''} | "
                   f"{_n(m['loadavg'], 2)} | {ratio} |")
    out += _stage_tables(summary) + _growth(summary) + _targets(summary) + _setup(report)
    return "\n".join(out) + "\n"


def _rows(summary: dict):
    """(part, entry, medians) for each full configuration and each baseline chunk size once."""
    shown: set[int] = set()
    for entry in summary.values():
        for part in ("full", "baseline"):
            if part not in entry or (part == "baseline" and entry["chunk_size"] in shown):
                continue
            if part == "baseline":
                shown.add(entry["chunk_size"])
            yield part, entry, entry[part]


def _label(part: str, entry: dict) -> str:
    return str(entry["chunk_size"]) + (f" × {entry['workers']}w" if part == "full" and
                                       entry["workers"] is not None else "")


def _stage_tables(summary: dict) -> list[str]:
    out = []
    for part, names in (("full", FULL_STAGES), ("baseline", BASE_STAGES)):
        rows = [(_label(p, e), m["stages"]) for p, e, m in _rows(summary) if p == part]
        if not rows:
            continue
        out += ["", f"Time per stage, {part} (s{', Prefect task runs' if part == 'full' else ''}"
                f"{'; with workers > 1 stages overlap' if part == 'full' else ''})",
                "", "| chunk | " + " | ".join(names) + " |",
                "|---:|" + "---:|" * len(names)]
        out += [f"| {label} | " + " | ".join(_n(st.get(n), 2) for n in names) + " |"
                for label, st in rows]
    return out


def _growth(summary: dict) -> list[str]:
    """Does a chunk cost more at the end of the run than at the start? And memory?"""
    out = ["", "Growth over the run: ms per call, first tenth → last tenth of the calls; RSS "
           "after import / mid-run / peak (MiB)", "",
           "| part | chunk | per stage | RSS |", "|---|---:|---|---|"]
    for part, entry, m in _rows(summary):
        order = TREND_ORDER if part == "full" else BASE_STAGES
        stages = ", ".join(f"{s} {m['trends'][s]['first'] * 1000:.0f}→"
                           f"{m['trends'][s]['last'] * 1000:.0f}"
                           for s in order if s in m["trends"])
        out.append(f"| {part} | {_label(part, entry)} | {stages or '–'} | "
                   f"{_n(m['rss_after_import_mb'], 0)} / {_n(m['rss_mid_run_mb'], 0)} / "
                   f"{_n(m['peak_rss_mb'], 0)} |")
    return out


def _targets(summary: dict) -> list[str]:
    out = ["", f"Targets: full/baseline ≤ {TARGETS['ratio_max']}, ≥ "
           f"{TARGETS['lines_per_s_min']:,} lines/s end to end, peak RSS < 1 GiB", ""]
    for entry in summary.values():
        if entry.get("targets"):
            met = ", ".join(f"{k} {'met' if v else 'MISSED'}" for k, v in entry["targets"].items())
            out.append(f"- chunk {_label('full', entry)}: {met}")
    return out


def _setup(report: dict) -> list[str]:
    s = report["setup"]
    if s.get("prefect_server_startup_s") is not None:
        prefect = f"Prefect server start-up {s['prefect_server_startup_s']:.1f} s"
    elif s.get("prefect_api_url"):
        prefect = f"Prefect server not started (used {s['prefect_api_url']})"
    else:
        prefect = "no Prefect server (full part skipped)"
    return ["", f"Not counted: {prefect}; sandbox start-up median "
            f"{_n(s.get('sandbox_startup_s_median'), 2)} s. "
            f"Results: {report.get('result_file', '')}"]
