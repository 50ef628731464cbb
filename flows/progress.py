"""A long run's progress on the terminal: per pipeline, chunks done of the plan, documents per
second and documents held so far.

The flow reports to the module's current reporter (``planned`` once the plan is known,
``chunk_done`` after each chunk's load and post). The reporter does nothing unless a command
that runs flows in its own process (``cwsage run``, ``cwsage demo``) opens ``shown()``, and
``shown()`` draws only when stderr is a terminal — never in a pipe, a log file, a test, or
under ``cwsage serve`` (whose flow runs never open it). Drawing is on stderr, so stdout
keeps only the summary; Prefect's console log lines print above the bars. A display that
fails never fails the run.
"""

from __future__ import annotations

import logging
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import import_module

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from tasks.inert import terminal
from flows.tables import is_terminal

log = logging.getLogger("cwsage.progress")
STARTING = "starting"


class Reporter:
    """Reports nowhere: what a flow run meets unless a command shows its progress."""

    def planned(self, pipeline: str, chunks: int, documents: int) -> None:
        """The run of ``pipeline`` will handle ``documents`` in ``chunks`` chunks."""

    def chunk_done(self, pipeline: str, documents: int, held: int) -> None:
        """One more chunk of ``documents`` loaded and posted; ``held`` so far in the run."""


@dataclass
class Tally:
    """One pipeline's run so far."""

    chunks: int
    planned: int
    done: int = 0
    documents: int = 0
    held: int = 0
    start: float = field(default_factory=time.monotonic)

    def line(self) -> str:
        rate = self.documents / max(time.monotonic() - self.start, 1e-3)
        return (f"{self.done}/{self.chunks} chunks  {self.documents:,}/{self.planned:,} "
                f"documents  {rate:,.0f}/s  {self.held:,} held")


class LiveReporter(Reporter):
    """One rich progress bar per pipeline, under a "starting" line until the first plan."""

    def __init__(self, progress: Progress):
        self.progress = progress
        self.tasks: dict[str, tuple[int, Tally]] = {}
        self.consoles: dict[logging.Handler, Console] = {}
        self.waiting: int | None = None

    def planned(self, pipeline: str, chunks: int, documents: int) -> None:
        if self.waiting is not None:
            self.progress.remove_task(self.waiting)
            self.waiting = None
        tally = Tally(chunks, documents)
        task = self.progress.add_task(terminal(pipeline), total=chunks, line=tally.line())
        self.tasks[pipeline] = (task, tally)

    def chunk_done(self, pipeline: str, documents: int, held: int) -> None:
        if pipeline in self.tasks:
            task, tally = self.tasks[pipeline]
            tally.done, tally.held = tally.done + 1, held
            tally.documents += documents
            self.progress.update(task, completed=tally.done, line=tally.line())

    def start(self) -> None:
        import_module("prefect.main")        # sets up Prefect's logging: its handlers exist
        for handler in _console_handlers(self.progress.console.file):
            self.consoles[handler] = handler.console
            handler.console = self.progress.console
        self.progress.start()
        self.waiting = self.progress.add_task(STARTING, total=None, line="")

    def stop(self) -> None:
        self.progress.stop()
        for handler, console in self.consoles.items():
            handler.console = console


def _console_handlers(stream) -> list[logging.Handler]:
    """Prefect's console log handlers writing to ``stream``: each prints through a rich
    console of its own, which would draw over the bars; during the display they print
    through the display's console instead (above the bars)."""
    from prefect.logging.handlers import PrefectConsoleHandler
    loggers = [logging.getLogger(), *(logger for logger in logging.Logger.manager.loggerDict
                                      .values() if isinstance(logger, logging.Logger))]
    return list({h: None for logger in loggers for h in logger.handlers
                 if isinstance(h, PrefectConsoleHandler) and h.stream is stream})


_reporter: Reporter = Reporter()


def planned(pipeline: str, chunks: int, documents: int) -> None:
    _safely("planned", pipeline, chunks, documents)


def chunk_done(pipeline: str, documents: int, held: int) -> None:
    _safely("chunk_done", pipeline, documents, held)


def _safely(event: str, *args) -> None:
    try:
        getattr(_reporter, event)(*args)
    except Exception:                       # a display, never a reason for a run to fail
        log.debug("progress display failed", exc_info=True)


def _safely_start(live: LiveReporter) -> None:
    try:
        live.start()
    except Exception:
        log.debug("progress display failed to start", exc_info=True)


@contextmanager
def shown(stream=None):
    """Show the progress of the flow runs started inside the block, on ``stream`` (stderr)
    when it is a terminal; otherwise report nowhere."""
    global _reporter
    stream = sys.stderr if stream is None else stream
    if not is_terminal(stream):
        yield
        return
    live = LiveReporter(Progress(
        TextColumn("{task.description}", markup=False), BarColumn(bar_width=10),
        TextColumn("{task.fields[line]}", markup=False), TimeElapsedColumn(),
        console=Console(file=stream, markup=False, highlight=False, emoji=False),
        redirect_stdout=False, redirect_stderr=True, refresh_per_second=4))
    previous, _reporter = _reporter, live
    try:
        _safely_start(live)
        yield
    finally:
        _reporter = previous
        live.stop()
