"""Great Expectations suites: strict loading, and running one on a DataFrame view.

GX is imported lazily (it costs ~2 s) and every validation runs under one lock: GX's shared
execution objects are not thread-safe. Suite files are JSON: ``{"name": …, "expectations":
[{"type", "kwargs", "meta": {"reason", "fix"}}]}``; ``reason`` and ``fix`` may name view
columns in braces (``{company_name}``), filled in from the failing row.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tasks.errors import ConfigError

log = logging.getLogger("cwsage.validate")
_LOCK = threading.Lock()
_STATE: dict[str, Any] = {}
_FIELD = re.compile(r"\{([a-z_][a-z0-9_]*)\}")


@dataclass(frozen=True)
class Finding:
    """One reason a document is quarantined."""

    key: str
    document: str | None
    expectation: str
    column: str | None
    value: Any
    reason: str
    fix: str

    def as_dict(self) -> dict:
        return {"key": self.key, "document": self.document, "expectation": self.expectation,
                "column": self.column, "value": _plain(self.value), "reason": self.reason,
                "fix": self.fix}


@dataclass
class ValidationOutcome:
    valid: list[str]
    findings: list[Finding]
    table: list[dict] = field(default_factory=list)   # one row per expectation

    @property
    def quarantined(self) -> list[str]:
        return list(dict.fromkeys(f.key for f in self.findings))


@dataclass(frozen=True)
class Suite:
    path: Path
    name: str
    version: str
    body: dict


def _gx():
    if "gx" not in _STATE:
        logging.getLogger("great_expectations").setLevel(logging.WARNING)
        import great_expectations as gx
        from great_expectations.core.expectation_suite import ExpectationSuite
        from great_expectations.data_context.types.base import ProgressBarsConfig
        _quiet_gx()
        ctx = gx.get_context(mode="ephemeral")
        ctx.variables.progress_bars = ProgressBarsConfig(globally=False,
                                                         metric_calculations=False)
        asset = ctx.data_sources.add_pandas("cwsage").add_dataframe_asset("chunk")
        _STATE.update(gx=gx, suite_cls=ExpectationSuite, ctx=ctx,
                      batch=asset.add_batch_definition_whole_dataframe("chunk"), defs={})
    return _STATE


def _quiet_gx() -> None:
    """GX logs INFO chatter from module loggers with their own levels; keep only warnings."""
    for name in list(logging.root.manager.loggerDict):
        if name.startswith("great_expectations"):
            logging.getLogger(name).setLevel(logging.WARNING)


def load_suite(path: Path) -> Suite:
    """Parse a suite file strictly: unknown expectation types are errors, not dropped."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: expectation suite not found — create it or set "
                          "validate.suite")
    data = path.read_bytes()
    try:
        body = json.loads(data)
    except ValueError as exc:
        raise ConfigError(f"{path}: not valid JSON: {exc}") from exc
    problems = _suite_shape_problems(path, body)
    if problems:
        raise ConfigError(problems)
    with _LOCK:
        state = _gx()
        try:
            suite = state["suite_cls"](**_gx_body(body))
        except Exception as exc:   # GX raises many types for a bad expectation
            raise ConfigError(f"{path}: {type(exc).__name__}: {exc}") from exc
    if len(suite.expectations) != len(body["expectations"]):
        unknown = len(body['expectations']) - len(suite.expectations)
        which = "expectation has" if unknown == 1 else "expectations have"
        raise ConfigError(f"{path}: {unknown} {which} an unknown type — check the 'type' names")
    return Suite(path, str(body["name"]), hashlib.sha256(data).hexdigest()[:16], body)


def _suite_shape_problems(path: Path, body: Any) -> list[str]:
    if not isinstance(body, dict) or not isinstance(body.get("expectations"), list):
        return [f"{path}: a suite is an object with 'name' and an 'expectations' list"]
    problems = [] if body.get("name") else [f"{path}: name: required — add a suite name"]
    for i, exp in enumerate(body["expectations"]):
        where = f"{path}: expectations[{i}]"
        if not isinstance(exp, dict) or "type" not in exp or "kwargs" not in exp:
            problems.append(f"{where}: each expectation needs 'type' and 'kwargs'")
            continue
        meta = exp.get("meta") or {}
        if not meta.get("reason") or not meta.get("fix"):
            problems.append(f"{where} ({exp['type']}): meta.reason and meta.fix are required "
                            "— they are what a finance user reads in the quarantine")
    return problems


def _gx_body(body: dict) -> dict:
    return {"name": body["name"], "meta": body.get("meta") or {},
            "expectations": [{"type": e["type"], "kwargs": e["kwargs"],
                              "meta": e.get("meta") or {}} for e in body["expectations"]]}

_SUITES: dict[tuple[str, int], Suite] = {}


def suite_for(path: Path) -> Suite:
    """Load a suite once per file version (mtime)."""
    path = Path(path)
    if not path.is_file():
        return load_suite(path)              # raises the ConfigError that names the file
    key = (str(path), path.stat().st_mtime_ns)
    if key not in _SUITES:
        _SUITES[key] = load_suite(path)
    return _SUITES[key]



def check_columns(suite: Suite, columns: list[str], nested: bool = False) -> None:
    """Every column a suite names must exist in the view it runs on (``nested``: a list
    endpoint's view, where a field that holds an object is flattened to ``field_sub``)."""
    missing = []
    def known(name: str) -> bool:
        return name in columns or (nested and any(name.startswith(f"{c}_") for c in columns))
    for i, exp in enumerate(suite.body["expectations"]):
        kwargs = exp.get("kwargs", {})
        for key in ("column", "column_A", "column_B"):
            if key in kwargs and not known(kwargs[key]):
                missing.append(f"{suite.path}: expectations[{i}]: column '{kwargs[key]}' is not"
                               f" in the view — valid columns: {', '.join(columns)}")
    if missing:
        raise ConfigError(missing)


def run_suite(suite: Suite, view, max_examples: int = 5) -> ValidationOutcome:
    """Validate the view; quarantine by DataFrame index, report per expectation."""
    if view.empty:
        return ValidationOutcome(valid=[], findings=[], table=[])
    with _LOCK:
        results = _run(suite, view)
    findings: list[Finding] = []
    table = []
    for result in results:
        config = result.expectation_config
        rows = _failing_rows(result, suite)
        findings += [_finding(view, i, config, config.meta or {}) for i in rows]
        table.append(_table_row(view, config, rows, max_examples))
    findings = list({(f.key, f.expectation, f.column, repr(f.value)): f
                     for f in findings}.values())
    quarantined = {f.key for f in findings}
    valid = [k for k in dict.fromkeys(view["doc_key"]) if k not in quarantined]
    return ValidationOutcome(valid=valid, findings=findings,
                             table=sorted(table, key=lambda r: r["expectation"]))


def _run(suite: Suite, view):
    state = _gx()
    defs = state["defs"]
    name = f"{suite.name}-{suite.version}"
    if name not in defs:
        gx_suite = state["ctx"].suites.add(state["suite_cls"](**_gx_body(
            dict(suite.body, name=name))))
        defs[name] = state["ctx"].validation_definitions.add(
            state["gx"].ValidationDefinition(name=name, data=state["batch"], suite=gx_suite))
    outcome = defs[name].run(batch_parameters={"dataframe": view},
                             result_format={"result_format": "COMPLETE"})
    return outcome.results


def _failing_rows(result, suite: Suite) -> list[int]:
    info = result.exception_info or {}
    if info.get("raised_exception"):
        raise ConfigError(f"{suite.path}: {result.expectation_config.type} could not run: "
                          f"{info.get('exception_message')}")
    if result.success:
        return []
    rows = result.result.get("unexpected_index_list")
    if rows is None:
        raise ConfigError(f"{suite.path}: {result.expectation_config.type} failed but names no "
                          "rows — use column-level expectations, which quarantine per document")
    return [r if isinstance(r, int) else int(r.get("index", r)) for r in rows]


def _finding(view, index: int, config, meta: dict) -> Finding:
    row = view.loc[index]
    column = config.kwargs.get("column") or config.kwargs.get("column_A")
    values = {k: _plain(v) for k, v in row.items()}
    value = values.get(meta.get("value_column") or column)
    values["value"] = value
    return Finding(key=row["doc_key"], document=values.get("document_number"),
                   expectation=config.type, column=column, value=value,
                   reason=_fill(meta.get("reason", config.type), values),
                   fix=_fill(meta.get("fix", ""), values))


def _table_row(view, config, rows: list[int], max_examples: int) -> dict:
    column = config.kwargs.get("column") or config.kwargs.get("column_A")
    examples = [] if column is None else [
        _plain(view.loc[i, column]) for i in rows[:max_examples]]
    return {"expectation": f"{config.type}({column})" if column else config.type,
            "rows": len(view), "failures": len(rows),
            "documents": len({view.loc[i, "doc_key"] for i in rows}),
            "examples": ", ".join(map(repr, examples))}


def _fill(template: str, values: dict) -> str:
    """Fill ``{column}`` placeholders; only plain view column names, nothing else."""
    def one(match: re.Match) -> str:
        value = values.get(match.group(1))
        return "(empty)" if value in (None, "") else str(value)
    return _FIELD.sub(one, template)


def _plain(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value
