"""The adversarial money corpus (tests/corpus/*.json) through ``flows.preview.preview_json``.

Each case is one GLExport that real MSP data produces and that a money path can get wrong
(discounts, prices that do not multiply out, credits, mixed signs, several tax codes, VAT
rounding, currencies, references). ``test_corpus_case_previews`` runs the case through the
offline preview against the shipped pipelines.yaml (plus the case's ``spec_overlay``, if any)
and holds every document to the invariants in ``money_checks``; ``test_corpus_case_is_sound``
checks the case file itself, without preview: the export is internally consistent and the
case's stated ConnectWise money is what its lines say. tests/corpus/README.md lists the cases.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from tests.tasks import money_checks as mc

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO / "tests" / "corpus"
SPEC = REPO / "pipelines.yaml"
CASES = sorted(CORPUS.glob("*.json"))
CASE_KEYS = {"pipeline", "class", "description", "why", "spec_overlay", "expect", "export"}
EXPECT_KEYS = {"status", "line", "fix", "sage_type", "distinct_references", "connectwise"}


def load_case(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def spec_for(case: dict, folder: Path) -> Path:
    """The shipped spec, or a copy with the case's overlay merged into its pipeline."""
    if not case.get("spec_overlay"):
        return SPEC
    return mc.spec_with_overlay(SPEC, case["pipeline"], case["spec_overlay"], folder)


def test_the_corpus_has_cases_of_every_pipeline():
    pipelines = {load_case(path)["pipeline"] for path in CASES}
    assert pipelines == set(mc.SECTIONS), pipelines


def test_the_readme_lists_every_case():
    readme = (CORPUS / "README.md").read_text(encoding="utf-8")
    missing = [path.name for path in CASES if path.name not in readme]
    assert not missing, f"tests/corpus/README.md does not list {missing}"


@pytest.mark.parametrize("path", CASES, ids=lambda path: path.stem)
def test_corpus_case_is_sound(path):
    """The case file alone, no preview: its shape, its export's consistency, and its stated
    ConnectWise money against what the export's lines add up to."""
    case = load_case(path)
    assert set(case) <= CASE_KEYS, f"unknown keys {set(case) - CASE_KEYS}"
    assert case["pipeline"] in mc.SECTIONS
    assert case["description"].strip() and case["class"].strip()
    expect = case["expect"]
    assert set(expect) <= EXPECT_KEYS, f"unknown expect keys {set(expect) - EXPECT_KEYS}"
    assert expect["status"] in ("ready", "blocked")
    if "line" in expect:
        assert expect["status"] == "blocked" and expect["line"]
    problems = mc.export_problems(case["pipeline"], case["export"],
                                  vat_consistent=expect["status"] == "ready")
    assert not problems, "\n".join(problems)
    assert mc.connectwise_totals(case["pipeline"], case["export"]) == expect["connectwise"]
    if "line" in expect:
        text = json.dumps(case["export"])
        options = [expect["line"]] if isinstance(expect["line"], str) else expect["line"]
        assert any(option in text for option in options), "expect.line names no line"


@pytest.mark.parametrize("path", [p for p in CASES if load_case(p).get("spec_overlay")],
                         ids=lambda path: path.stem)
def test_a_case_overlay_makes_a_spec_that_loads(path, tmp_path, cw_env):
    from flows.spec import load_spec
    case = load_case(path)
    spec = load_spec(spec_for(case, tmp_path), need_connection=False)
    mappings = spec.pipeline(case["pipeline"]).mappings
    for code, number in case["spec_overlay"].get("mappings", {}).get("tax_codes", {}).items():
        assert mappings.tax_codes[code] == number


@pytest.mark.parametrize("path", CASES, ids=lambda path: path.stem)
def test_corpus_case_previews(path, tmp_path, home, cw_env):
    from flows.preview import preview_json            # ImportError until the lead lands it

    case = load_case(path)
    pipeline, expect = case["pipeline"], case["expect"]
    export = copy.deepcopy(case["export"])
    report = preview_json(str(spec_for(case, tmp_path / "spec")), pipeline, export)

    problems = mc.report_problems(report, pipeline, case["export"])
    for doc in report.get("documents") or []:
        key, status = doc.get("key"), doc.get("status")
        if not mc.status_matches(expect["status"], status):
            problems.append(f"{key}: status {status}, the case expects {expect['status']} — "
                            f"reasons: {mc.reason_texts(doc)}")
        if status == "blocked" and expect.get("line") and not mc.mentions(doc, expect["line"]):
            problems.append(f"{key}: no reason names the ConnectWise line {expect['line']!r}: "
                            f"{mc.reason_texts(doc)}")
        if status == "blocked" and expect.get("fix") and not mc.fix_mentions(doc, expect["fix"]):
            problems.append(f"{key}: no fix mentions {expect['fix']!r}: {mc.reason_texts(doc)}")
        if status in mc.POSTS and expect.get("sage_type") and \
                (doc.get("sage") or {}).get("type") != expect["sage_type"]:
            problems.append(f"{key}: Sage type {(doc.get('sage') or {}).get('type')}, the case "
                            f"expects {expect['sage_type']}")
    if expect.get("distinct_references"):
        refs = [(doc.get("sage") or {}).get("reference") for doc in report.get("documents") or []]
        if len(set(refs)) != len(refs):
            problems.append(f"documents share a Sage reference: {refs}")
    stated = mc.report_connectwise_totals(report)
    if stated != expect["connectwise"]:
        problems.append(f"the report's ConnectWise figures {stated} are not the case's "
                        f"{expect['connectwise']}")
    assert not problems, f"{path.name}: {case['description']}\n" + "\n".join(problems)
