"""ConnectWise text made inert in every output: each function of tasks.inert on a table of
hostile strings, then each output kind built by its real code from a hostile company name —
the readiness CSV and HTML, the Markdown artifacts, a webhook alert and its e-mail, and what
`cwsage quarantine`, `status` and `run` print. (Hostile *exports* through validate and
transform: test_hostile.py.)"""

from __future__ import annotations

import csv
import json
import re
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pytest
from prefect.states import Failed

from flows import notify
from tasks import inert
from flows.cli import main
from flows.spec import load_spec
from flows.terminal import print_run_results
from tasks.artifacts import table_rows
from tasks.errors import FatalError
from tasks.journal import DocRecord, Journal
from tasks.held import group_held
from tasks.readiness import AMOUNTS, readiness, write_report
from tasks.reconcile import Difference, Reconciliation
from tasks.run_markdown import summary_markdown
from tasks.run_result import DryRunResult, FailedRun, PostedBatch, RunCounts
from tasks.validate import validate_export
from tests.flows.test_notify import (SmtpReceiver, WebhookReceiver, flow_run,  # noqa: F401
                                     make_spec, notify_block)

ROOT = Path(__file__).resolve().parents[2]
HOSTILE = [
    '=HYPERLINK("http://x.test/?"&A1,"Fix")', "+cmd|' /C calc'!A0", "-2+3", "@SUM(1+1)",
    "<!channel> <http://x.test|Fix>", "\x1b[2J\x07\u202eevil", "\x9b31mred\u2066x\u2069",
    "\r\n# Heading", "a\n\n- item\n1. first\n> quote\n---", "[x](javascript:alert(1))",
    "![img](http://x)", "<script>alert(1)</script>", "|col|", "```", "~~~", "\t=1+1",
    "@here", "<@U123>", "*bold* _it_ `code`", "&lt;!channel&gt;", "x" * 250 + "é" * 250,
]
COMPANY = '=HYPERLINK("http://x.test","Fix") <!channel> <http://x.test|Fix>\r\n# Heading ' \
          "[x](javascript:alert(1)) <@U123> @here \x1b[2J\x07\u202e"
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
                     "\u2028\u2029]")


def unescaped(text: str) -> str:
    """``text`` without its backslash escapes: what Markdown reads as markup."""
    return re.sub(r"\\.", "", text)


# -- each function on its own -----------------------------------------------------------------
@pytest.mark.parametrize("value", HOSTILE)
def test_terminal_has_no_control_or_bidi_character(value):
    out = inert.terminal(value)
    assert not CONTROL.search(out) and "\n" not in out


@pytest.mark.parametrize("value", HOSTILE)
def test_csv_cell_never_starts_a_formula(value):
    out = inert.csv_cell(value)
    assert not out.startswith(("=", "+", "-", "@", "\t", "\r")) and not CONTROL.search(out)
    if value.lstrip()[:1] in ("=", "+", "-", "@") or value[:1] in ("\t", "\r"):
        assert out.startswith("'")


@pytest.mark.parametrize("value", HOSTILE)
def test_markdown_forms_no_block_link_tag_or_emphasis(value):
    out = inert.markdown(value)
    assert not CONTROL.search(out)                              # one line: no \r, \n
    markup = unescaped(out)
    assert not re.search(r"[\[\]()<>|*_`~]", markup), out
    assert not re.match(r"\s*([#>+=-]|\d+[.)](\s|$))", markup), out
    assert "<script" not in out and "](" not in markup


@pytest.mark.parametrize("value", HOSTILE)
def test_alert_has_no_slack_markup_mention_or_markdown_link(value):
    out = inert.alert(value)
    assert not CONTROL.search(out) and "<" not in out and ">" not in out
    assert not re.search(r"&(?!amp;|lt;|gt;)", out)
    markup = unescaped(out)
    assert not re.search(r"[*_`~]", markup) and "](" not in markup, out
    assert not re.search(r"(?<![\w.])@\w", out), out             # no @here, no @U123


@pytest.mark.parametrize("value", HOSTILE)
def test_html_has_no_tag_and_no_control_character(value):
    out = inert.html(value)
    assert "<" not in out and ">" not in out and '"' not in out and not CONTROL.search(out)


def test_plain_text_passes_through_unchanged_and_long_text_whole():
    for plain in ("Acme Cycles Ltd", "12.50", "a@b.co.uk", "Invoice 10457"):
        assert {inert.terminal(plain), inert.csv_cell(plain), inert.markdown(plain),
                inert.alert(plain), inert.html(plain)} == {plain}
    long = HOSTILE[-1]
    for render in (inert.terminal, inert.csv_cell, inert.markdown, inert.alert, inert.html):
        assert render(long) == long
    assert inert.markdown("12.50") == "12.50" and inert.markdown("1. x") == "1\\. x"
    assert inert.terminal("\x1b[2J\x07\u202eevil\r\nnext") == "[2Jevil  next"


# -- each output kind through its real code -----------------------------------------------------
def fill_journal(home: Path, pipeline: str = "invoices") -> Journal:
    """One quarantined invoice and one loaded one, every text field hostile."""
    journal = Journal(home / "journal.db")
    docs = [DocRecord(key, key[-4:], f'=HYPERLINK("x",{n})', "SI", "+cmd|' /C calc'!A0",
                      "@SUM(1)", Decimal("10"), Decimal("2"), Decimal("12"), (1,), "h")
            for n, key in enumerate(("CW-INV-9001", "CW-INV-9002"))]
    journal.record_extracted(pipeline, "r1", docs)
    journal.quarantine(pipeline, "r1", {"CW-INV-9001": [
        {"reason": f"no account number on company {COMPANY}", "value": COMPANY,
         "fix": f"set the Account Number on {COMPANY}"}]}, "validate")
    journal.mark(pipeline, "r1", ["CW-INV-9002"], "loading")
    journal.mark_loaded(pipeline, "r1", {"CW-INV-9002": "SI 1"})
    return journal


def fake_writer() -> SimpleNamespace:
    line = SimpleNamespace(nominal_code="-4000", tax_code=1, net=Decimal("-12.50"),
                           tax=Decimal("-2.50"), description="-2+3 " + COMPANY)
    sage = SimpleNamespace(account_ref="=1+1", doc_type="SI", currency="@SUM(1)",
                           net=Decimal("-12.50"), tax=Decimal("-2.50"), gross=Decimal("-15.00"),
                           lines=[line])
    return SimpleNamespace(totals=lambda keys: {k: sage for k in keys})


def test_readiness_csv_and_html_are_inert(home, tmp_path):
    journal = fill_journal(home)
    report = readiness(journal, "invoices", "r1", fake_writer(), f"invoices readiness {COMPANY}")
    journal.close()
    csv_path, html_path = write_report(report, tmp_path, "invoices-readiness-r1")
    cells = list(csv.DictReader(csv_path.open(encoding="utf-8", newline="")))
    assert {c["status"] for c in cells} == {"blocked", "ready"}
    for cell in cells:
        for column, text in cell.items():
            if column in AMOUNTS:
                continue
            assert not text.startswith(("=", "+", "-", "@", "\t", "\r")), (column, text)
            assert not CONTROL.search(text)
    posting = next(c for c in cells if c["kind"] == "posting")
    assert (posting["sage_net"], posting["sage_vat"], posting["sage_gross"]) == \
        ("-12.50", "-2.50", "-15.00")
    assert posting["nominal"] == "'-4000" and posting["description"].startswith("'-2+3 ")
    page = html_path.read_text(encoding="utf-8")
    assert "<!channel>" not in page and "&lt;!channel&gt;" in page and "\x1b" not in page


def test_markdown_artifacts_are_inert(home, tmp_path):
    journal = fill_journal(home)
    held = group_held(journal.quarantined("invoices"))
    journal.close()
    rec = Reconciliation([], [Difference("CW-INV-9002", COMPANY, "net", Decimal("1"),
                                         Decimal("2"), False, COMPANY, [COMPANY])], [COMPANY])
    moved = RunCounts(unposted=2, batches=(PostedBatch(COMPANY, 1, 1, 1),))
    text = summary_markdown("invoices", "r1", moved, {"quarantined": 1}, rec, held, "invoice")
    headings = [line for line in text.splitlines() if line.lstrip().startswith("#")]
    assert headings == ["# invoices: run r1", "## Needs a person", "## This run",
                        "## Journal (all runs)", "## Reconciliation (documents loaded in this run)",
                        "## Artifact keys"]
    assert "HYPERLINK" in text and "**1 invoice**" in text
    assert not CONTROL.search(text.replace("\n", ""))
    assert "<!channel>" not in text and "<http" not in text and "<@U" not in text
    for line in text.splitlines():
        if "Heading" in line:
            assert "](" not in unescaped(line) and "javascript" in line
    export = _export_naming(tmp_path, COMPANY)
    spec = load_spec(ROOT / "pipelines.yaml", need_connection=False).pipeline("invoices")
    outcome = validate_export(export, spec, ["1100", "2100", "2200", "2201", "2202"])
    shown = table_rows([f.as_dict() for f in outcome.findings] + outcome.table)
    cells = [v for row in shown for v in row.values() if isinstance(v, str)]
    assert any("HYPERLINK" in c for c in cells)
    for cell in cells:
        assert not CONTROL.search(cell) and "](" not in unescaped(cell)
        assert not re.search(r"[\[\]<>|`]", unescaped(cell)), cell


def _export_naming(tmp_path: Path, name: str) -> dict:
    from tasks.chunks import read_chunk
    source = (ROOT / "tests" / "fixtures" / "invoices-export.json").read_text(encoding="utf-8")
    path = tmp_path / "hostile-export.json"
    path.write_text(source.replace('"Angry Fox Cycles Ltd"', json.dumps(name)), "utf-8")
    return read_chunk(path)


def test_webhook_and_email_alerts_are_inert(make_spec, home):
    webhook, smtp = WebhookReceiver(), SmtpReceiver()
    try:
        spec = make_spec(notify_block(webhook.url, smtp.port), webhook.url)
        fill_journal(home).close()
        error = FatalError(f"[invoices] extract: ConnectWise refused company {COMPANY}")
        alert = notify.run_failed(spec, "invoices", home, flow_run(spec.path),
                                  Failed(data=error))
    finally:
        webhook.close()
        smtp.close()
    assert alert.delivered == ["webhook", "email"]
    text = webhook.received[0]["json"]["text"]
    mail = smtp.messages[0][1].get_content().replace("\r\n", "\n")     # SMTP's line ends
    for body in (text, mail):
        assert "HYPERLINK" in body and "no account number on company" in body
        assert "<!" not in body and "<@" not in body and "<http" not in body
        assert not re.search(r"<[^>\n]*\|[^>\n]*>", body)
        assert not CONTROL.search(body.replace("\n", "")) and "\n# Heading" not in body
        assert "](javascript" not in body and not re.search(r"(?<![\w.])@here", body)


def test_cli_prints_no_control_characters(home, capsys):
    journal = fill_journal(home)
    journal.begin_run("invoices", "r\x1b[2J2")
    journal.finish_run("r\x1b[2J2", "failed\x07\u202e", {})
    journal.close()
    spec = ["--spec", str(ROOT / "pipelines.yaml")]
    assert main(spec + ["quarantine", "show", "CW-INV-9001"]) == 0
    assert main(spec + ["quarantine", "list"]) == 0
    assert main(spec + ["status"]) == 0
    blocked = {"status": "blocked", "document": "CW-INV-9001", "number": COMPANY,
               "reason": COMPANY, "fix": COMPANY}
    print_run_results([FailedRun("invoices", COMPANY),
                       DryRunResult("invoices", "r1", RunCounts(unposted=1), 0, 0, 1, "r.csv",
                                    "r.html", (blocked,), (), "invoice")])
    out = capsys.readouterr().out
    assert "HYPERLINK" in out and "stays unposted in ConnectWise" in out
    for line in out.splitlines():
        assert not CONTROL.search(line), repr(line)
    assert not any(line.startswith("# Heading") for line in out.splitlines())
