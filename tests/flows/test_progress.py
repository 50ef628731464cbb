"""The progress display of long runs (flows/progress.py): off unless stderr is a terminal,
per pipeline chunks / documents / held once on, never a reason for a run to fail — and the
flow reports every chunk of its plan."""

from __future__ import annotations

import io
import re

import pytest

from flows import progress
from tests.flows.helpers import run


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


class Recorder(progress.Reporter):
    def __init__(self):
        self.events = []

    def planned(self, pipeline, chunks, documents):
        self.events.append(("planned", pipeline, chunks, documents))

    def chunk_done(self, pipeline, documents, held):
        self.events.append(("chunk_done", pipeline, documents, held))


def test_off_by_default_and_off_when_stderr_is_not_a_terminal(capsys):
    assert type(progress._reporter) is progress.Reporter
    with progress.shown():                      # pytest's stderr: not a terminal
        assert type(progress._reporter) is progress.Reporter
        progress.planned("invoices", 2, 10)
        progress.chunk_done("invoices", 5, 1)
    assert capsys.readouterr().err == ""
    with progress.shown(io.StringIO()):
        assert type(progress._reporter) is progress.Reporter


def test_on_a_terminal_each_pipeline_shows_chunks_documents_rate_and_held():
    out = Tty()
    with progress.shown(out):
        live = progress._reporter
        assert isinstance(live, progress.LiveReporter)
        progress.planned("invoices", 2, 1500)
        progress.chunk_done("invoices", 1000, 12)
        progress.planned("expenses", 0, 0)
        tally = live.tasks["invoices"][1]
        assert (tally.done, tally.documents, tally.held) == (1, 1000, 12)
        assert re.fullmatch(r"1/2 chunks  1,000/1,500 documents  [\d,]+/s  12 held",
                            tally.line())
    assert type(progress._reporter) is progress.Reporter          # put back
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", out.getvalue())
    last = text.rstrip().splitlines()[-2:]                          # the final frame
    assert last[0].startswith("invoices") and "1/2 chunks  1,000/1,500 documents" in last[0]
    assert "12 held" in last[0] and last[1].startswith("expenses")
    assert "0/0 chunks  0/0 documents  0/s  0 held" in last[1]
    assert "starting" not in "".join(last)


def test_a_failing_display_never_fails_the_run(monkeypatch):
    class Broken(progress.Reporter):
        def chunk_done(self, pipeline, documents, held):
            raise RuntimeError("terminal gone")

    monkeypatch.setattr(progress, "_reporter", Broken())
    progress.chunk_done("invoices", 1, 0)                           # no exception


@pytest.mark.slow
def test_the_flow_reports_its_plan_and_every_chunk(prefect_harness, sandbox, spec, home,
                                                   monkeypatch):
    text = spec.read_text()
    assert "chunk_size: 1000" in text
    spec.write_text(text.replace("chunk_size: 1000", "chunk_size: 7", 1))
    recorder = Recorder()
    monkeypatch.setattr(progress, "_reporter", recorder)
    result = run(spec)
    planned = [e for e in recorder.events if e[0] == "planned"]
    done = [e for e in recorder.events if e[0] == "chunk_done"]
    assert planned == [("planned", "invoices", 6, 40)]               # 40 invoices, 7 a chunk
    assert len(done) == 6 and sum(e[2] for e in done) == 40
    assert [e[3] for e in done] == sorted(e[3] for e in done)       # held: so far, growing
    assert done[-1][3] == result.counts.quarantined
