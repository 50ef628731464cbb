"""The CLI's tables (flows/tables.py) and the run summary's wording (flows/summary.py): aligned
plain text off a terminal, styles on one, hostile values inert and never read as markup,
held documents grouped by cause, plurals."""

from __future__ import annotations

import io
import re
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from flows.terminal import (print_quarantine, print_reconciliation, print_run_results,
                            print_waiting, run_line)
from flows.tables import (PLAIN_WIDTH, emit, quarantine_table,
                          reconciliation_table, status_table)
from tasks.confirm import Waiting
from tasks.held import Blocked
from tasks.journal_records import Reason
from tasks.reconcile import Reconciliation
from tasks.run_result import DryRunResult, PostedBatch, RunCounts, RunResult

MARKUP = "[bold red]x[/] :smile: [link=http://x.test]y[/link]"
ESCAPE = "\x1b[2J\x1b[31mred\x07\u202e"
BOX = re.compile("[\u2500-\u257f]")                  # box-drawing characters
CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def status_row(name: str, **counts) -> dict:
    row = {"pipeline": name, "extracted": 0, "quarantined": 0, "handed_off": 0, "loaded": 0,
           "unreconciled": 0, "posted": 0, "in_flight": 0, "last_run": "r1",
           "last_run_at": "2026-03-02T14:05:09.123456Z", "last_status": "completed"}
    return dict(row, **counts)


def item(key: str, number: str, reason: str, fix: str, more: int = 0) -> dict:
    reasons = [{"stage": "validate", "reason": reason, "fix": fix}] * (1 + more)
    return {"pipeline": "invoices", "key": key, "document": number, "state": "quarantined",
            "since": "2026-03-02T14:05:09.123456Z", "reasons": reasons}


def rendered(table_of, *args) -> str:
    out = io.StringIO()
    emit(table_of(*args, out), out)
    return out.getvalue()


def test_status_is_a_plain_aligned_table_off_a_terminal():
    text = rendered(status_table, [status_row("invoices", posted=1234, quarantined=7),
                                   status_row("procurement", extracted=5, last_run=None)])
    lines = text.splitlines()
    assert len(lines) == 4 and lines[0].split() == ["waiting", "in", "last", "run"]
    assert lines[1].split() == ["pipeline", "extracted", "quarantined", "for", "Sage",
                                "loaded", "unreconciled", "posted", "flight", "(UTC)"]
    assert lines[2].split() == ["invoices", "0", "7", "0", "0", "0", "1234", "0",
                                "2026-03-02", "14:05", "completed"]
    assert lines[3].split() == ["procurement", "5", "0", "0", "0", "0", "0", "0", "-"]
    posted = lines[1].index("posted") + len("posted")        # numbers right-aligned under it
    assert lines[2][posted - 4:posted] == "1234" and lines[3][posted - 1] == "0"
    assert not BOX.search(text) and "\x1b" not in text
    assert all(len(line) <= PLAIN_WIDTH and line == line.rstrip() for line in lines)


def test_a_long_pipeline_name_folds_in_its_cell_and_the_numbers_stay_in_their_columns():
    name = "a_much_longer_pipeline_name" * 2
    text = rendered(status_table, [status_row("invoices", posted=1234),
                                   status_row(name, posted=5)])
    lines = text.splitlines()
    posted = lines[1].index("posted") + len("posted")
    assert [line[posted - 4:posted] for line in lines[2:5]] == ["1234", "    ", "   5"]
    assert "".join(line.split()[0] for line in lines[4:]) == name
    assert all(len(line) <= PLAIN_WIDTH for line in lines)


def test_status_too_wide_for_the_terminal_turns_states_into_rows():
    out = Tty()                                   # 80 columns: rich's default
    emit(status_table([status_row(n) for n in ("customers", "invoices", "procurement")],
                      out), out)
    lines = re.sub(r"\x1b\[[0-9;]*m", "", out.getvalue()).splitlines()
    assert lines[0].split() == ["customers", "invoices", "procurement"]
    assert lines[1].split() == ["extracted", "0", "0", "0"]
    assert lines[3].split() == ["waiting", "for", "Sage", "0", "0", "0"]
    assert all(len(line) <= 80 for line in lines)


def test_a_long_key_wraps_in_its_cell_and_the_columns_stay_aligned():
    long_key = "CW-INV-" + "9" * 40
    text = rendered(quarantine_table, [item("CW-INV-5012", "10012", "short reason", "fix it"),
                                       item(long_key, "10013", "word " * 60, "do " * 40, 2)])
    lines = text.splitlines()
    header = lines[0]
    assert header.split() == ["document", "number", "stage", "since", "(UTC)", "reason",
                              "and", "fix"]
    column = header.index("reason and fix")
    rows = [line for line in lines[1:] if line.strip()]
    assert all(len(line) <= PLAIN_WIDTH for line in lines)
    assert all(line[column - 1] == " " for line in rows)      # nothing spills into it
    starts = [line for line in rows if line.startswith("CW-INV-")]
    assert [line[header.index("number"):].split()[0] for line in starts] == ["10012", "10013"]
    assert "".join(line[:column].split()[0] for line in rows if line[0] != " "
                   and "10012" not in line) .startswith(long_key[:20])
    assert "(and 2 more: cwsage quarantine show" in " ".join(text.split())
    assert "fix: fix it" in text


def test_hostile_values_are_inert_and_never_markup_on_a_pipe_or_a_terminal():
    rows = [item(f"CW-INV-1{ESCAPE}", MARKUP, f"reason {MARKUP} {ESCAPE}", f"fix {MARKUP}")]
    for out in (io.StringIO(), Tty()):
        emit(quarantine_table(rows, out), out)
        emit(status_table([status_row(MARKUP, last_status=ESCAPE)], out), out)
        text = out.getvalue()
        flat = re.sub(r"\x1b\[[0-9;]*m", "", text)            # the terminal's own styles
        words = flat.split()               # cells wrap at spaces: count the words
        # the number, the reason, the fix and the pipeline, each as written
        assert words.count("[bold") == words.count(":smile:") == 4, flat
        assert words.count("red]x[/]") == 4 and flat.count("[link=") == 4, flat
        assert "[2J[31mred" in words and not CONTROL.search(flat.replace("\n", ""))
        assert "\x1b[2J" not in text and "\x1b]8;" not in text   # no screen clear, no link


def test_on_a_terminal_the_header_is_bold():
    out = Tty()
    emit(quarantine_table([item("CW-INV-1", "1", "reason", "fix")], out), out)
    assert "\x1b[1mdocument" in out.getvalue() and "\x1b[1mreason and fix" in out.getvalue()


def test_reconciliation_table_and_differences():
    groups = [{"doc_type": "SI", "currency": "GBP", "documents": 97,
               "cw_net": Decimal("190149.94"), "sage_net": Decimal("190149.94"),
               "cw_tax": Decimal("37809.21"), "sage_tax": Decimal("37809.21"),
               "cw_gross": Decimal("227959.15"), "sage_gross": Decimal("227959.15")}]
    text = rendered(reconciliation_table, groups)
    assert text.split("\n")[0].split() == ["type", "cur", "docs", "CW", "net", "Sage", "net",
                                           "CW", "VAT", "Sage", "VAT", "CW", "gross", "Sage",
                                           "gross"]
    assert text.split("\n")[1].split() == ["SI", "GBP", "97", "190149.94", "190149.94",
                                           "37809.21", "37809.21", "227959.15", "227959.15"]
    out = io.StringIO()
    print_reconciliation(Reconciliation(groups, [], []), out)
    lines = out.getvalue().splitlines()
    assert lines[0] == "  reconciliation (ConnectWise vs Sage):"
    assert lines[1].startswith("    type") and lines[2].startswith("    SI    GBP")
    assert lines[-1] == "    → agrees to the penny"


def journal_row(key: str, number: str, *reasons: tuple[str, str]) -> Blocked:
    """A held document as grouping reads it (the journal's ``JournalDocument`` alike)."""
    return Blocked(key, number, tuple(Reason(r, f, "validate") for r, f in reasons))


def test_held_documents_are_grouped_by_cause_with_counts_and_the_fix():
    fox = ("customer Angry Fox Cycles Ltd has no Account Number, so Sage has no account to "
           "post invoice {} to", "set an Account Number on company Angry Fox Cycles Ltd")
    docs = [journal_row(f"CW-INV-{n}", str(n), (fox[0].format(n), fox[1]))
            for n in (10012, 10032, 10044, 10051)]
    docs += [journal_row(f"CW-INV-{n}", str(n), (f"cause {n} {MARKUP}", f"fix {n}"))
             for n in range(20001, 20012)]
    out = io.StringIO()
    print_quarantine(docs, "invoice", out, indent="  ")
    lines = out.getvalue().splitlines()
    assert lines[0] == "  15 held back (cwsage quarantine list):"
    assert lines[1] == ("    customer Angry Fox Cycles Ltd has no Account Number, so Sage has no "
                        "account to post invoice … to — 4 invoices: 10012, 10032, 10044, 10051")
    assert lines[2] == "      fix: set an Account Number on company Angry Fox Cycles Ltd"
    assert sum(line.startswith("      fix: ") for line in lines) == 10
    assert lines[-1] == "    and 2 more causes"
    assert "— 1 invoice: 20001" in out.getvalue() and "CW-INV-" not in out.getvalue()


def result(batches: list[int]) -> RunResult:
    counts = RunCounts(unposted=3, loaded=2, quarantined=1, strays=1, batches=tuple(
        PostedBatch(f"B{i}", i, n, n) for i, n in enumerate(batches)))
    return RunResult("invoices", "r1", counts, {}, True, Reconciliation([], [], []), (),
                     "invoice")


def test_run_summary_says_one_batch_two_batches_and_groups_what_is_held():
    held = {"invoices": ("invoice", [journal_row("CW-INV-1", "101", ("no tax code", "map it"))])}
    for batches, words in (([1], "1 batch posted (1 document)"),
                           ([2, 1], "2 batches posted (3 documents)"),
                           ([], "0 batches posted (0 documents)")):
        out = io.StringIO()
        print_run_results([result(batches)], out, held=held)
        text = out.getvalue()
        assert words in text and "(es)" not in text and "(s)" not in text
        assert "name 1 record cwsage never handed off" in text
        assert "  1 held back (cwsage quarantine list):\n    no tax code — 1 invoice: 101\n" \
               "      fix: map it\n" in text


def test_a_kind_never_batched_back_is_not_called_unposted():
    kept = RunResult("agreements", "r1", RunCounts(unposted=6, loaded=4, quarantined=2), {},
                     True, Reconciliation([], [], []), (), "record", post_back=False)
    line = run_line(kept)
    assert line.startswith("agreements: 6 records listed by ConnectWise → 4 loaded")
    assert line.endswith("; never batched back in ConnectWise (post_back: false)")
    assert "unposted" not in line and "batch posted" not in line
    assert "3 unposted in ConnectWise" in run_line(result([1]))


def test_dry_run_groups_blocked_documents_by_cause():
    rows = [{"status": "blocked", "document": f"CW-INV-{n}", "number": str(n),
             "reason": "EUR has no exchange rate", "fix": "add the rate"} for n in (1, 2, 3)]
    out = io.StringIO()
    print_run_results([DryRunResult("invoices", "r1", RunCounts(unposted=3), 0, 0, 3, "r.csv",
                                    "r.html", tuple(rows), (), "invoice")], out)
    assert "  3 blocked (the report lists each with its postings):\n" \
           "    EUR has no exchange rate — 3 documents: 1, 2, 3\n" in out.getvalue()


def test_waiting_documents_per_file_in_a_table():
    waiting = [Waiting(f"CW-INV-{n}", str(n), "outbox invoices-1.xml", datetime.now(timezone.utc),
                       timedelta(minutes=5), n == 3) for n in range(1, 8)]
    out = io.StringIO()
    print_waiting("invoices", waiting[:1], out)
    assert out.getvalue().startswith("invoices: 1 document waiting for Sage to confirm it\n")
    out = io.StringIO()
    print_waiting("invoices", waiting, out)
    lines = out.getvalue().splitlines()
    assert lines[0] == "invoices: 7 documents waiting for Sage to confirm them — 1 OVERDUE"
    assert lines[1].split() == ["file", "documents", "waiting", "first", "documents"]
    assert lines[2].split() == ["outbox", "invoices-1.xml", "7", "5", "min", "1,", "2,", "3,",
                                "4,", "5", "and", "2", "more", "OVERDUE"]
    assert lines[-1].endswith("cwsage confirm invoices-1.xml")
