"""``cwsage preview``: the offline verdict per document, as text and as JSON."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "invoices-export.json"


def _preview(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "flows.cli", "preview", "invoices",
                           "--input", str(FIXTURE), *args], cwd=ROOT, capture_output=True,
                          text=True)


def test_preview_json_gives_both_sides_and_exits_1_when_any_document_is_blocked():
    done = _preview("--json")
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    docs = {d["key"]: d for d in report["documents"]}
    ready = docs["CW-INV-5001"]
    assert ready["status"] == "ready" and ready["sage"]["type"] == "SI"
    assert (ready["sage"]["net"], ready["sage"]["tax"], ready["sage"]["gross"]) == (
        ready["connectwise"]["net"], ready["connectwise"]["tax"], ready["connectwise"]["gross"])
    assert {s["tax_code"] for s in ready["sage"]["splits"]} == {"T1"}
    assert docs["CW-INV-5002"]["sage"]["type"] == "SC"              # a credit, money positive
    assert docs["CW-INV-5002"]["sage"]["net"] == "100.00"
    held = docs["CW-INV-5003"]
    assert held["status"] == "blocked" and held["sage"] is None
    assert all(r["fix"] for r in held["reasons"])
    assert docs["CW-INV-5007"]["status"] == "warning"                # a penny of line rounding


def test_preview_text_starts_with_what_is_blocked_and_a_missing_file_exits_2(tmp_path):
    done = _preview()
    assert done.returncode == 1
    assert done.stdout.index("Blocked") < done.stdout.index("CW-INV-5001 ")
    missing = subprocess.run([sys.executable, "-m", "flows.cli", "preview", "invoices",
                              "--input", str(tmp_path / "nope.json")], cwd=ROOT,
                             capture_output=True, text=True)
    assert missing.returncode == 2 and "file not found" in missing.stderr
    assert "Traceback" not in missing.stderr
