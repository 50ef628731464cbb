"""The CLI's tables, drawn with rich: a header, aligned columns, long text wrapped in its cell.

On a terminal they are drawn with a rule under the header. Anywhere else (a pipe, a file, a
test) they are plain text at a fixed width of ``PLAIN_WIDTH``: no colour, no box-drawing
character, no trailing spaces — one line a row unless a long reason wraps, so ``grep`` and
``cut`` work on them.

Every cell is built by ``cell``: the value made inert (``tasks.inert.terminal``) and wrapped in
a ``Text``, so rich reads no markup (``[bold]``) or emoji code (``:x:``) in what ConnectWise or
the journal holds.
"""

from __future__ import annotations

from datetime import datetime

from rich import box
from rich.console import Console
from rich.measure import Measurement
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from tasks.inert import terminal

PLAIN_WIDTH = 120
NARROW = 100             # a terminal narrower than this gets the quarantine's narrow layout
STATE_COLUMNS = (("extracted", "extracted"), ("quarantined", "quarantined"),
                 ("handed_off", "waiting\nfor Sage"), ("loaded", "loaded"),
                 ("unreconciled", "unreconciled"), ("posted", "posted"),
                 ("in_flight", "in\nflight"))
MONEY_COLUMNS = (("documents", "docs"), ("cw_net", "CW net"), ("sage_net", "Sage net"),
                 ("cw_tax", "CW VAT"), ("sage_tax", "Sage VAT"), ("cw_gross", "CW gross"),
                 ("sage_gross", "Sage gross"))
# a frame of spaces: the rows of a table whose cells wrap are kept apart by a blank line (its
# column dividers are spaces too, so its cells are padded on the right only)
_SPACES = box.Box("    \n    \n    \n    \n    \n    \n    \n    \n")


def is_terminal(out) -> bool:
    isatty = getattr(out, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:                       # a closed file
        return False


def console(out) -> Console:
    """A console writing to ``out``: the terminal's own width and colours on a terminal,
    plain text ``PLAIN_WIDTH`` wide elsewhere."""
    if is_terminal(out):
        return Console(file=out, highlight=False, emoji=False)
    return Console(file=out, force_terminal=False, no_color=True, color_system=None,
                   width=PLAIN_WIDTH, highlight=False, emoji=False, soft_wrap=False)


def emit(renderable, out, indent: int = 0) -> None:
    """Print ``renderable`` on ``out``, ``indent`` spaces in; plain text without trailing
    spaces when ``out`` is not a terminal."""
    con = console(out)
    item = Padding(renderable, (0, 0, 0, indent)) if indent else renderable
    if con.is_terminal:
        con.print(item)
        return
    with con.capture() as captured:
        con.print(item)
    out.write("".join(line.rstrip() + "\n" for line in captured.get().splitlines()))


def cell(value: object) -> Text:
    """A value from ConnectWise or the journal as a cell: inert, and never read as markup."""
    return Text(terminal("-" if value is None or value == "" else value))


def table(out, *columns: tuple, separated: bool = False) -> Table:
    """A table with ``columns`` — (header, options for ``Table.add_column``) pairs, a header
    from ConnectWise or the journal made a ``cell``;
    ``separated``: rows apart (a blank line on plain text), for cells that wrap."""
    grid = Table(box=_SPACES if separated else None, show_edge=False, show_lines=separated,
                 padding=(0, 1, 0, 0) if separated else (0, 1), pad_edge=False,
                 header_style="bold" if is_terminal(out) else "")
    for header, options in columns:
        grid.add_column(header, **options)
    return grid


def number(header: str) -> tuple:
    return header, {"justify": "right", "no_wrap": True}


def key(header: str, values, widest: int = 24) -> tuple:
    """A column of keys or numbers as wide as its longest value, up to ``widest`` (a longer
    one folds onto a second line): it never gives way when the table is too wide — the
    prose does."""
    longest = max([len(terminal(v)) for v in values] + [len(w) for w in header.split()])
    return header, {"width": min(widest, longest), "overflow": "fold"}


def prose(header: str, least: int = 20) -> tuple:
    """A column of sentences (a reason, a fix): it takes the width left, and wraps."""
    return header, {"min_width": least, "overflow": "fold"}


def when(stamp: str | None) -> str:
    """A journal timestamp (ISO, UTC) as ``2026-03-02 14:05``."""
    if not stamp:
        return "-"
    try:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00")).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return terminal(stamp)


def status_table(rows: list[dict], out) -> Table:
    """Pipelines × states, and each pipeline's last run; states × pipelines instead when
    that is too wide for the terminal."""
    grid = table(out, key("pipeline", [r["pipeline"] for r in rows]),
                 *(number(label) for _, label in STATE_COLUMNS), prose("last run\n(UTC)", 10))
    for row in rows:
        grid.add_row(cell(row["pipeline"]), *(cell(row[name]) for name, _ in STATE_COLUMNS),
                     cell(_last_run(row)))
    con = console(out)
    if Measurement.get(con, con.options.update_width(10_000), grid).minimum <= con.width:
        return grid
    grid = table(out, ("", {"no_wrap": True}), *((cell(r["pipeline"]), {
        "justify": "right", "min_width": 10, "overflow": "fold"}) for r in rows))
    for name, label in STATE_COLUMNS:
        grid.add_row(cell(label.replace("\n", " ")), *(cell(r[name]) for r in rows))
    grid.add_row(cell("last run (UTC)"), *(cell(_last_run(r)) for r in rows))
    return grid


def _last_run(row: dict) -> str | None:
    return f"{when(row.get('last_run_at'))} {row['last_status']}" if row.get("last_run") \
        else None


def quarantine_table(items: list[dict], out) -> Table:
    """One row per held document: its key, number, stage and since when, then its first
    reason (and how many more) with the fix. On a narrow terminal ``since`` takes two lines
    and numbers fold sooner, to leave the reason room."""
    narrow = console(out).width < NARROW
    firsts = [(item["reasons"] or [{}])[0] for item in items]
    grid = table(out, key("document", [i["key"] for i in items]),
                 key("number", [i["document"] for i in items], 16 if narrow else 24),
                 key("stage", [r.get("stage") for r in firsts], 12),
                 ("since (UTC)", {"width": 10 if narrow else 16}),
                 prose("reason and fix"), separated=True)
    for item, first in zip(items, firsts):
        reason = terminal(first.get("reason") or "-").removeprefix(f"{item['key']}: ")
        if len(item["reasons"]) > 1:
            reason += (f" (and {len(item['reasons']) - 1} more: cwsage quarantine show "
                       f"{item['key']})")
        text = cell(reason)
        text.append(f"\nfix: {terminal(first.get('fix') or '-')}")
        grid.add_row(cell(item["key"]), cell(item["document"]), cell(first.get("stage")),
                     cell(when(item["since"])), text)
    return grid


def reconciliation_table(groups: list[dict], out) -> Table:
    """ConnectWise's and Sage's totals per document type and currency."""
    grid = table(out, key("type", [g["doc_type"] for g in groups], 8),
                 key("cur", [g["currency"] for g in groups], 4),
                 *(number(h) for _, h in MONEY_COLUMNS))
    for g in groups:
        grid.add_row(cell(g["doc_type"]), cell(g["currency"]),
                     *(cell(g[name]) for name, _ in MONEY_COLUMNS))
    return grid
