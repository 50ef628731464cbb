"""Text that came from ConnectWise, made inert for an output that a person reads.

One function per output kind — ``terminal``, ``csv_cell``, ``markdown``, ``alert``, ``html``.
They live in ``tasks.inert`` (plain Python, so the tasks that write the readiness CSV and the
Markdown artifacts can use them: ``tasks`` never imports ``flows``); this is the flows' name for
the same functions.
"""

from __future__ import annotations

from tasks.inert import alert, csv_cell, html, markdown, terminal

__all__ = ["alert", "csv_cell", "html", "markdown", "terminal"]
