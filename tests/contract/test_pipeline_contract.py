"""The contract every pipeline in pipelines.yaml keeps, checked for each one it declares.

The pipelines are read from the real ``pipelines.yaml`` (``load_spec(...,
need_connection=False)``), so a pipeline added there gets every test below without a line of
test code. What a pipeline needs besides its stylesheet and suite:

* **a fixture**: a saved ConnectWise export of a handful of its documents, at
  ``tests/fixtures/<pipeline>-export.json`` — or ``tests/fixtures/<pipeline>.json``; one of the
  two, never both. Save one with ``cwsage export <pipeline> --output
  tests/fixtures/<pipeline>-export.json`` (against the sandbox, ``cwsage sandbox``, or a test
  tenant: no real customer's data), with at least one document that is held and one that
  reaches Sage;
* **a golden file**: ``tests/golden/<pipeline>.sage.xml``, the Sage XML the fixture becomes.
  Produce (or, after an intended change, regenerate) it with::

      CWSAGE_REGENERATE_GOLDEN=1 .venv/bin/python -m pytest -q tests/contract -k <pipeline>

  and read the diff before adding it. Without the variable, goldens are only compared.

For each pipeline, ``TestPipelineContract`` checks:

(a) the spec: its stylesheet compiles, its suite parses, and every column the suite names
    (``column``, ``meta.value_column``, ``{placeholders}`` in ``meta.reason`` / ``meta.fix``)
    is a column of the validation view its kind builds from the fixture (``tasks.views``);
(b) the golden: the fixture through resolve → validate → canonical XML → stylesheet
    (``tasks.entities``, ``tasks.validate``, ``tasks.transform``) equals the golden file;
    nothing is lost on the way: every document is either in the Sage XML or held;
(c) money, for a kind with money: every document that is not held is priced by the writer
    with the money gate (``tasks.gate.MoneyCheck``, ``tasks.sage50.pricing``) and keeps
    ConnectWise's money — the net exactly, the VAT in total and per tax code (where
    ConnectWise states it per code) within Sage's per-line rounding bound, half a penny a
    line, and the gross differing from ConnectWise's by exactly that VAT difference; the
    gate holds none of them (a document that should not reach Sage is held earlier, by the
    resolve step or the suite, with words a finance user can act on). Every held document
    has a reason and a fix. A kind without money carries no priced document;
(d) reruns change nothing: the Sage XML loaded twice into a real replica
    (``tasks.sage50.replica``, opened as a run opens its writer) leaves every table as the first load left it, and the second
    load reports every document already present.

The Sage company the fixtures are laid out for is a fresh replica (the UK default tax codes)
with an exchange rate for EUR only, 1.15: a euro document shows how a foreign document is
laid out, and a document in any other currency shows how one without a rate is held.
"""

from __future__ import annotations

import re
import sqlite3
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest

from flows.spec import load_spec
from tasks.context import RunContext
from tasks.entities import entity_for, resolve_offline
from tasks.errors import ConfigError
from tasks.chunks import read_chunk
from tasks.gate import HALF_PENNY, MoneyCheck
from tasks.sage50.protocol import ALREADY_PRESENT, LOADED
from tasks.suites import check_columns, load_suite
from tasks.stylesheets import compile_stylesheet, document_keys
from tasks.transform import transform_export
from tasks.validate import validate_export
from tasks.views import record_view, view_for
from tests.tasks.test_transform import GOLDEN, REGENERATE, golden

ROOT = Path(__file__).resolve().parents[2]
SPEC_PATH = ROOT / "pipelines.yaml"
FIXTURES = ROOT / "tests" / "fixtures"
RATES = "{EUR: 1.15}"                   # the replica's exchange rates (see the docstring)
REPLICA_LINE = "  sage50_replica: {}"
REGENERATE_COMMAND = "CWSAGE_REGENERATE_GOLDEN=1 .venv/bin/python -m pytest -q tests/contract"
_PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)\}")


def _declared():
    """The real spec (its files are checked per pipeline below), or why it does not load."""
    try:
        return load_spec(SPEC_PATH, need_connection=False, check_files=False), None
    except ConfigError as exc:
        return None, exc


SPEC, SPEC_ERROR = _declared()
PIPELINES = list(SPEC.pipelines) if SPEC is not None else []


def test_the_real_spec_declares_pipelines():
    assert SPEC_ERROR is None, f"pipelines.yaml does not load:\n{SPEC_ERROR}"
    assert PIPELINES, "pipelines.yaml declares no pipeline"


# -- the fixture and what the real code makes of it ---------------------------------------------
def fixture_path(name: str) -> Path:
    """``tests/fixtures/<name>-export.json`` or ``tests/fixtures/<name>.json`` (see the module)."""
    found = [p for p in (FIXTURES / f"{name}-export.json", FIXTURES / f"{name}.json")
             if p.is_file()]
    if len(found) > 1:
        pytest.fail(f"pipeline '{name}': both {found[0].relative_to(ROOT)} and "
                    f"{found[1].relative_to(ROOT)} exist — keep one of them")
    if not found:
        pytest.fail(
            f"pipeline '{name}' has no fixture: add tests/fixtures/{name}-export.json (or "
            f"tests/fixtures/{name}.json), a saved export of a handful of its documents — "
            f"`cwsage export {name} --output tests/fixtures/{name}-export.json` against the "
            f"sandbox (`cwsage sandbox`) or a test tenant, at least one document held and one "
            f"reaching Sage; then produce its golden with `{REGENERATE_COMMAND} -k {name}`")
    return found[0]


@dataclass
class Outcome:
    """One pipeline's fixture through the real stages."""

    name: str
    pipeline: object            # flows.spec.PipelineSpec
    entity: object
    export: dict
    resolved: dict
    checked: object             # tasks.suites.ValidationOutcome
    result: object              # tasks.transform.TransformOutcome

    def all_keys(self) -> list[str]:
        return [self.entity.key(d) for d in self.export.get(self.entity.documents) or []]


_OUTCOMES: dict[str, Outcome] = {}


def outcome(name: str, facts) -> Outcome:
    if name not in _OUTCOMES:
        pipeline = SPEC.pipeline(name)
        export = read_chunk(fixture_path(name))
        resolved = resolve_offline(export, pipeline, facts)
        checked = validate_export(export, pipeline, list(SPEC.sage.control_accounts), resolved)
        result = transform_export(export, pipeline, checked.valid, 1, resolved)
        _OUTCOMES[name] = Outcome(name, pipeline, entity_for(pipeline.extract), export,
                                  resolved, checked, result)
    return _OUTCOMES[name]


def validation_view(o: Outcome, facts):
    """The view the pipeline's kind builds from the fixture, and the columns it declares."""
    if o.entity.kind == "list":
        view = record_view(o.export, o.entity)
        return view, list(view.columns)
    build, columns = view_for(o.entity)
    return build(o.resolved, o.pipeline.mappings, set(SPEC.sage.control_accounts)), columns


@contextmanager
def sage_company(folder: Path):
    """A run's context on the real spec with the contract's exchange rate on its replica (see
    the module): its writer is the replica a run opens, in ``folder``."""
    text = SPEC_PATH.read_text(encoding="utf-8")
    assert REPLICA_LINE in text, "pipelines.yaml: the sage50_replica line moved; update the " \
                                 "contract's sage_company"
    path = folder / "pipelines.yaml"
    path.write_text(text.replace(REPLICA_LINE, f"  sage50_replica: {{currency_rates: {RATES}}}",
                                 1), encoding="utf-8")
    spec = load_spec(path, need_connection=False, check_files=False)
    assert spec.sage.writer == "sage50_replica", "the contract loads into the replica"
    ctx = RunContext(spec, next(iter(spec.pipelines.values())), folder / "home")
    try:
        yield ctx
    finally:
        ctx.close()


@pytest.fixture(scope="module")
def facts(tmp_path_factory):
    """What the contract's Sage company says of itself, read from a real replica."""
    with sage_company(tmp_path_factory.mktemp("facts")) as ctx:
        return ctx.resolver.facts


def snapshot(path: Path) -> dict[str, list[tuple]]:
    """Every row of every table of a replica file."""
    conn = sqlite3.connect(path)
    try:
        tables = [t for (t,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
        return {t: sorted(conn.execute(f'SELECT * FROM "{t}"').fetchall(), key=repr)
                for t in tables}
    finally:
        conn.close()


# -- the money invariant, in this module's own arithmetic ---------------------------------------
def money_departures(priced, cw) -> list[str]:
    """Where Sage's pricing of a document (``PricedDoc``) departs from ConnectWise's
    (``Resolved``), by the rule in the module docstring."""
    out = []
    if priced.doc_type != cw.doc_type:
        out.append(f"type: Sage {priced.doc_type}, ConnectWise {cw.doc_type}")
    if priced.net != cw.cw_net:
        out.append(f"net: Sage {priced.net}, ConnectWise {cw.cw_net}")
    if priced.gross - cw.cw_gross != priced.tax - cw.cw_tax:
        out.append(f"gross: Sage {priced.gross}, ConnectWise {cw.cw_gross}, more apart than "
                   f"the VAT (Sage {priced.tax}, ConnectWise {cw.cw_tax})")
    lines = [ln for ln in priced.lines if not ln.message]
    if abs(priced.tax - cw.cw_tax) > HALF_PENNY * len(lines):
        out.append(f"VAT: Sage {priced.tax} over {len(lines)} line(s), ConnectWise {cw.cw_tax}")
    if cw.cw_tax_by_code is None:
        stated, by_code = {"all codes": cw.cw_tax}, {"all codes": lines}
    else:
        stated, by_code = dict(cw.cw_tax_by_code), {}
        for ln in lines:
            by_code.setdefault(ln.tax_code, []).append(ln)
    for code in set(stated) | set(by_code):
        mine = by_code.get(code, [])
        sage_tax = sum((ln.tax for ln in mine), Decimal(0))
        cw_tax = stated.get(code, Decimal(0))
        if abs(sage_tax - cw_tax) > HALF_PENNY * len(mine):
            out.append(f"VAT for {code}: Sage {sage_tax} over {len(mine)} line(s), "
                       f"ConnectWise {cw_tax}")
    return out


@pytest.mark.parametrize("name", PIPELINES)
class TestPipelineContract:
    # (a) the spec -----------------------------------------------------------------------------
    def test_stylesheet_compiles(self, name):
        sheet = compile_stylesheet(SPEC.pipeline(name).stylesheet_path)
        assert sheet.xslt is not None

    def test_suite_parses_with_a_reason_and_a_fix_for_each_expectation(self, name):
        suite = load_suite(SPEC.pipeline(name).suite_path)
        assert suite.body["expectations"], f"{suite.path.name} holds no expectation"

    def test_suite_names_only_columns_of_its_view(self, name, facts):
        o = outcome(name, facts)
        suite = load_suite(o.pipeline.suite_path)
        view, declared = validation_view(o, facts)
        assert list(view.columns) == declared, "the view's columns are not the ones it declares"
        check_columns(suite, list(view.columns))            # raises, naming each one
        named = set()
        for exp in suite.body["expectations"]:
            meta = exp.get("meta") or {}
            named |= set(_PLACEHOLDER.findall(f"{meta.get('reason', '')} {meta.get('fix', '')}"))
            named |= {meta["value_column"]} if meta.get("value_column") else set()
        unknown = sorted(named - set(view.columns) - {"value"})
        assert not unknown, (f"{suite.path.name}: meta names {unknown}, not columns of the "
                             f"view — valid columns: {', '.join(view.columns)}")

    # (b) the golden -----------------------------------------------------------------------------
    def test_fixture_transforms_to_its_golden(self, name, facts):
        o = outcome(name, facts)
        assert not o.result.failures, f"the stylesheet failed on {o.result.failures}"
        assert o.result.xml is not None, "no document of the fixture reaches Sage"
        path = GOLDEN / f"{name}.sage.xml"
        if not path.is_file() and not REGENERATE:
            pytest.fail(f"pipeline '{name}' has no golden file: produce "
                        f"tests/golden/{name}.sage.xml from its fixture with "
                        f"`{REGENERATE_COMMAND} -k {name}`, read it, and add it")
        golden(path.name, o.result.xml)

    def test_every_document_reaches_sage_or_is_held(self, name, facts):
        o = outcome(name, facts)
        keys = o.all_keys()
        assert keys, f"{fixture_path(name).name} holds no {o.entity.documents}"
        laid_out = document_keys(o.result.xml) if o.result.xml else []
        documents = [k for k in laid_out if k in set(keys)]
        assert documents == list(o.checked.valid)
        assert sorted(set(documents) | set(o.checked.quarantined)) == sorted(keys)
        assert not set(documents) & set(o.checked.quarantined)

    # (c) money ---------------------------------------------------------------------------------
    def test_held_documents_have_a_reason_and_a_fix(self, name, facts):
        o = outcome(name, facts)
        blank = [f for f in o.checked.findings
                 if not str(f.reason or "").strip() or not str(f.fix or "").strip()]
        assert not blank, f"held without a reason or a fix: {blank}"

    def test_documents_not_held_keep_connectwise_money(self, name, facts, tmp_path):
        o = outcome(name, facts)
        with sage_company(tmp_path) as ctx:
            check = MoneyCheck(o.resolved, ctx.resolver.facts)
            receipt = ctx.writer.load(o.result.xml, source=f"{name} contract", check=check)
        if not o.entity.has_money:
            assert check.priced == {}, f"a {name} record was priced as a money document"
            return
        assert not check.held, f"the money gate held documents the stages let through: " \
                               f"{ {k: [h.reason for h in v] for k, v in check.held.items()} }"
        assert sorted(check.priced) == sorted(o.checked.valid)
        problems = {key: money_departures(check.priced[key], o.resolved[key])
                    for key in o.checked.valid}
        assert not any(problems.values()), {k: v for k, v in problems.items() if v}
        status = {r.key: r.status for r in receipt.results}
        assert {k: status.get(k) for k in o.checked.valid} == \
            dict.fromkeys(o.checked.valid, LOADED)

    # (d) reruns --------------------------------------------------------------------------------
    def test_loading_twice_changes_nothing(self, name, facts, tmp_path):
        o = outcome(name, facts)
        with sage_company(tmp_path) as ctx:
            first = ctx.writer.load(o.result.xml, source=f"{name} first")
            after_first = snapshot(ctx.writer.target)
            second = ctx.writer.load(o.result.xml, source=f"{name} again")
            after_second = snapshot(ctx.writer.target)
        refused = {r.key: r.reason for r in first.results if r.status != LOADED}
        assert not refused, f"the replica did not load {refused}"
        assert {r.key for r in first.results} >= set(o.checked.valid)
        assert {r.key: r.status for r in second.results} == \
            {r.key: ALREADY_PRESENT for r in first.results}
        assert second.accounts_created == []
        changed = [t for t in after_first if after_first[t] != after_second[t]]
        assert not changed, f"the second load changed {changed}"
