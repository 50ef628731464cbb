"""Held documents grouped by cause: what a person must do, once per cause, with a count.

A document is held with one or more reasons (``tasks.journal_records.Reason``: expectation,
reason, value, fix, stage). Documents share a *cause* when one act of a person releases them all:

- A suite's reason is its ``meta.reason`` filled in from one row of the validation view, so
  it also names the line and the document (``line 'Cat6 patch lead 3m' of invoice 10025 posts
  to GL account '4070' …``). Its expectation, column, the value it found and its fix name the
  cause (GL account 4070 unmapped: one fix for every invoice with such a line). A suite's fix
  names the entity it is about (the company, the member, the GL account, the tax code) —
  keep it so when writing one.
- Any other reason (the resolve step, the money gate, Sage's import rules, a stylesheet) names
  its cause in its own words, less the document's own key and number, with its fix.

A group is titled by the words its reasons share; what differs between them shows as ``…``.
Groups come largest first. Text here is plain: each output makes it inert as it renders it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Iterable, Protocol

from tasks.journal_records import Reason

SHOWN = 8                  # document numbers named per group before "and N more"
GAP = "…"
NOUNS = {"invoices": "invoice", "expenses": "expense bill", "procurement": "purchase"}
NO_REASON = ("held with no reason recorded",
             "see its history with cwsage quarantine show KEY, then release it")


class Holding(Protocol):
    """A held document as grouping needs it: a ``JournalDocument``, or a ``Blocked`` row."""

    key: str
    doc_number: str | None
    reasons: tuple[Reason, ...]


@dataclass(frozen=True)
class Blocked:
    """A document blocked in a report (not read from the journal), with its reasons."""

    key: str
    doc_number: str | None
    reasons: tuple[Reason, ...]


@dataclass(frozen=True)
class HeldGroup:
    cause: str
    fix: str
    documents: tuple[tuple[str, str | None], ...]      # (key, ConnectWise document number)
    stage: str | None = None

    @property
    def count(self) -> int:
        return len(self.documents)


def plural(n: int, word: str, many: str | None = None) -> str:
    """``1 invoice``, ``2 invoices``, ``3 batches``, ``0 entries``: the number and the word."""
    if n == 1:
        return f"{n} {word}"
    if many is None:
        many = word[:-1] + "ies" if re.search(r"[^aeiou]y$", word) else \
            word + "es" if re.search(r"(s|x|z|ch|sh)$", word) else word + "s"
    return f"{n} {many}"


def noun_for(entity) -> str:
    """What one document of a pipeline is called: invoice, expense bill, purchase, record."""
    return NOUNS.get(getattr(entity, "name", ""), "record") \
        if getattr(entity, "kind", "list") == "export" else "record"


def group_held(docs: Iterable[Holding]) -> list[HeldGroup]:
    """Held documents grouped by cause; largest group first, then by cause. A document with
    two causes is in both."""
    found: dict[tuple, dict] = {}
    for doc in docs:
        key, number = doc.key, doc.doc_number
        for reason in doc.reasons or [None]:
            text, fix, stage, cause = _cause(reason, key, number)
            group = found.setdefault(cause, {"texts": {}, "fix": fix, "stage": stage,
                                             "docs": {}})
            group["texts"].setdefault(text, None)
            group["docs"].setdefault(key, number)
    groups = [HeldGroup(_title(list(g["texts"])), g["fix"],
                        tuple(sorted(g["docs"].items(), key=lambda d: natural(label(d)))),
                        g["stage"])
              for g in found.values()]
    return sorted(groups, key=lambda g: (-g.count, g.cause.casefold(), g.fix))


def _cause(reason: Reason | None, key: str, number: str | None) -> tuple[str, str, str, tuple]:
    """(the reason's words, its fix, its stage, what identifies its cause)."""
    if reason is None:
        return (*NO_REASON, None, NO_REASON)
    text = _strip_key(str(reason.reason or ""), key)
    fix, stage = str(reason.fix or ""), reason.stage
    expectation = str(reason.expectation or "")
    if expectation.startswith("expect_"):               # a suite's reason: see the module
        found = json.dumps(reason.value, sort_keys=True, default=str)
        return text, fix, stage, (stage, expectation, reason.column, found, fix)
    return text, fix, stage, (stage, expectation, _without(text, key, number), fix)


def _strip_key(text: str, key: str) -> str:
    """Sage's import rules put the document key in front (``CW-INV-5012: …``)."""
    return text[len(key) + 2:] if text.startswith(f"{key}: ") else text


def _without(text: str, *names: str | None) -> str:
    """``text`` with each name (the document's key, its number) as a word replaced by ``…``."""
    for name in filter(None, names):
        text = re.sub(rf"(?<![\w./-]){re.escape(str(name))}(?![\w/-])(?!\.\w)", GAP, text)
    return text


def _title(texts: list[str]) -> str:
    """The words every text shares, in order; each run of words that differ becomes ``…``."""
    shared = texts[0].split()
    for text in texts[1:]:
        merged: list[str] = []
        matcher = SequenceMatcher(None, shared, text.split(), autojunk=False)
        for op, a1, a2, _, _ in matcher.get_opcodes():
            merged += shared[a1:a2] if op == "equal" else [GAP]
        shared = _tidy(merged)
    if not any(word != GAP for word in shared):       # nothing shared: say so, not "…"
        return f"{texts[0]} (and {len(texts) - 1} similar)"
    return " ".join(shared)


def _tidy(words: list[str]) -> list[str]:
    """Gaps merged with what only happens to be shared between them (a dash, a closing
    ``Ltd),``): punctuation between two gaps, and a half-quoted word next to one."""
    changed = True
    while changed:
        changed = False
        for i, word in enumerate(words):
            near = GAP in words[max(i - 1, 0):i] + words[i + 1:i + 2]
            between = words[i - 1:i] == [GAP] and words[i + 1:i + 2] == [GAP]
            if word != GAP and ((between and not re.search(r"\w", word))
                                or (near and _unbalanced(word))):
                words[i], changed = GAP, True
        words = [w for i, w in enumerate(words) if w != GAP or words[i - 1:i] != [GAP]]
    return words


def _unbalanced(word: str) -> bool:
    """A word that opens or closes a quote or a bracket it does not also close or open."""
    bare = re.sub(r"(?<=\w)'(?=\w)", "", word)            # supplier's, line's
    return bare.count("'") % 2 == 1 or bare.count('"') % 2 == 1 or \
        bare.count("(") != bare.count(")") or bare.count("[") != bare.count("]")


def natural(text: str) -> list:
    """A sort key for document numbers in the order a person expects: 9, 10, 10a, 11."""
    return [(0, int(part), "") if part.isdigit() else (1, 0, part.casefold())
            for part in re.split(r"(\d+)", text) if part]


def label(document: tuple[str, str | None]) -> str:
    """A held document as a person finds it: ConnectWise's number, else cwsage's key."""
    key, number = document
    return str(number) if number not in (None, "") else key


def numbers(group: HeldGroup, shown: int = SHOWN) -> str:
    """``10012, 10032, 10044 and 5 more``: the first ``shown`` documents of a group."""
    names = [label(d) for d in group.documents[:shown]]
    more = group.count - len(names)
    return ", ".join(names) + (f" and {more} more" if more > 0 else "")


def describe(group: HeldGroup, noun: str, shown: int = SHOWN) -> str:
    """``customer Angry Fox Cycles Ltd has no Account Number … — 4 invoices: 10012, …``."""
    return f"{group.cause} — {plural(group.count, noun)}: {numbers(group, shown)}"


def documents_held(groups: Iterable[HeldGroup]) -> int:
    """How many documents the groups hold (a document with two causes counts once)."""
    return len({key for g in groups for key, _ in g.documents})
