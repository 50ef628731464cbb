"""Text that came from ConnectWise, made inert for an output that a person reads.

One function per output kind, applied where a value is rendered (the journal keeps the raw
text). Every kind first removes the characters that act on the reader instead of being read:
C0 and C1 control characters (escape sequences, bell, backspace) and the bidirectional marks,
embeddings, overrides and isolates that reorder what is shown. Line breaks and tabs become
spaces, so one value is one line and cannot start a line of its own.

- ``terminal``: nothing more — a terminal interprets only control characters.
- ``csv_cell``: a cell that a spreadsheet would read as a formula (it starts with ``=``,
  ``+``, ``-``, ``@``, a tab or a carriage return, as OWASP lists them) starts with ``'``
  instead. For text cells only: amounts that cwsage formats itself stay numbers.
- ``markdown``: every character that could start a heading, list, quote, table cell, emphasis,
  code span or fence, link, image, autolink or HTML tag is escaped, so no ``[..](..)`` — and
  so no ``javascript:`` link — can form. ``& < >`` become entities.
- ``alert``: Slack's control characters ``& < >`` become ``&amp; &lt; &gt;`` (so no
  ``<!channel>``, ``<@U…>`` or ``<url|text>``), and the Markdown that Teams reads is
  neutralised: emphasis and code characters escaped, and no ``](`` that would make a link.
  A plain ``@here`` or ``@name`` gets a zero-width space after the ``@``, so a chat that
  reads plain mentions (Mattermost's Slack-compatible webhooks) notifies nobody.
- ``html``: ``html.escape`` (quotes included, so attributes are safe too).

This module is plain Python (no Prefect), imported by ``tasks`` and ``flows`` alike.
"""

from __future__ import annotations

import html as _html
import re

_BREAKS = "\r\n\t\v\f\x1c\x1d\x1e\x85\u2028\u2029"
_HIDDEN = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
                     "\u2028\u2029]")
_FORMULA = ("=", "+", "-", "@")
_MD_INLINE = re.compile(r"([\\`*_\[\]()|~])")
_MD_LINE_START = re.compile(r"^(?:([-+=#:])|(\d{1,9})\.(?=\s|$))")
_ALERT_MARKUP = re.compile(r"([\\`*_~])")
_MENTION = re.compile(r"(?<![\w.])@(?=\w)")      # @here, @channel, @someone; not a@b.com


def _text(value: object) -> str:
    """``value`` as one line of text without control or bidirectional characters."""
    text = "" if value is None else str(value)
    return _HIDDEN.sub(lambda m: " " if m.group() in _BREAKS else "", text)


def terminal(value: object) -> str:
    """``value`` as text safe to print on a terminal."""
    return _text(value)


def csv_cell(value: object) -> str:
    """``value`` as a CSV text cell that no spreadsheet evaluates."""
    raw = "" if value is None else str(value)
    text = _text(raw)
    if raw[:1] in ("\t", "\r") or text.lstrip()[:1] in _FORMULA:
        return "'" + text
    return text


def markdown(value: object) -> str:
    """``value`` as literal Markdown text on one line: it renders as the same characters."""
    text = _text(value).strip().replace("&", "&amp;").replace("<", "&lt;") \
        .replace(">", "&gt;")
    text = _MD_INLINE.sub(r"\\\1", text)
    return _MD_LINE_START.sub(_escape_line_start, text, count=1)


def _escape_line_start(match: re.Match) -> str:
    """What would make a heading, list item or rule of the line (``#``, ``-``, ``1.``)."""
    marker, number = match.groups()
    return f"{number}\\." if number else f"\\{marker}"


def alert(value: object) -> str:
    """``value`` for a chat webhook's text (Slack, Teams) and an alert e-mail."""
    text = _text(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _ALERT_MARKUP.sub(r"\\\1", text).replace("](", "]\\(")
    return _MENTION.sub("@\u200b", text)


def html(value: object) -> str:
    """``value`` as HTML text or attribute content."""
    return _html.escape(_text(value), quote=True)
