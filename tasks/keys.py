"""Document keys a person can type: letters, digits and ``-`` only.

A key is ``<prefix><ConnectWise id>``. Numeric ids (invoices, expense bills) are already
shell-safe. A purchase is identified by a text label such as ``PO #4707, Packing Slip: 4707``:
that label becomes ``4707-4707`` (the PO number, then the packing slip); any other label that
is not already made of letters, digits and dashes becomes its words joined by dashes, upper
case, followed by six characters of its digest, so two labels never share a key.

Keys written by earlier versions (the label itself, behind the prefix) are renamed once, where
they are stored: the journal, the replica, the outbox manifest (``legacy_key``).
"""

from __future__ import annotations

import hashlib
import re

SAFE = re.compile(r"^[A-Za-z0-9-]+$")
_PURCHASE = re.compile(r"^\s*PO\s*#\s*(\d+)\s*,\s*Packing Slip\s*:\s*([A-Za-z0-9-]+)\s*$",
                       re.IGNORECASE)
_WORDS = re.compile(r"[^A-Za-z0-9]+")
TEXT_ID_PREFIXES = ("CW-PO-",)          # kinds whose ConnectWise id is a text label


def key_part(source_id: object) -> str:
    """The shell-safe form of a ConnectWise id (see the module)."""
    text = str(source_id)
    if SAFE.match(text):
        return text
    found = _PURCHASE.match(text)
    if found:
        return f"{found.group(1)}-{found.group(2).upper()}"
    words = _WORDS.sub("-", text).strip("-").upper()[:40].strip("-")
    digest = hashlib.sha256(text.encode()).hexdigest()[:6].upper()
    return f"{words}-{digest}" if words else digest


def document_key(prefix: str, source_id: object) -> str:
    return f"{prefix}{key_part(source_id)}"


def legacy_key(key: str) -> str | None:
    """The key an earlier version's ``key`` becomes now, or None when it needs no change."""
    for prefix in TEXT_ID_PREFIXES:
        if key.startswith(prefix) and not SAFE.match(key):
            return document_key(prefix, key[len(prefix):])
    return None
