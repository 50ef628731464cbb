"""Text that came from ConnectWise, made inert for an output that a person reads.

One function per output kind. ``terminal``: control characters (escape sequences, bell,
backspace) and the bidirectional overrides that reorder what a terminal shows are removed;
line breaks become spaces, so one value is one line.
"""

from __future__ import annotations

import re

_TERMINAL = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def terminal(value: object) -> str:
    """``value`` as text safe to print on a terminal."""
    text = "" if value is None else str(value)
    return _TERMINAL.sub(lambda m: " " if m.group() in "\r\n\t" else "", text)
