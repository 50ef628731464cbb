"""Reconciliation: ConnectWise totals against what Sage holds, to the penny.

For every document loaded, ConnectWise's net, VAT and gross (kept in the journal at extraction)
are compared with the target's (``Writer.totals``). A difference is either explained line by
line — ConnectWise rounds VAT once on the document, Sage rounds it on each line (R-TAX-1 in
``docs/sage50-rules.md``), so pennies can move — or reported as unexplained, which is a defect
to investigate.

The target's side is also broken down by document type, currency, nominal code and tax code
(``Reconciliation.lines``): the figures to tie to Sage's Nominal Activity and VAT Return.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Iterable

from tasks.journal_records import JournalDocument
from tasks.sage50.money import money

ZERO = Decimal("0")


@dataclass
class Difference:
    key: str
    document: str | None
    what: str
    connectwise: Decimal
    sage: Decimal
    explained: bool
    explanation: str
    lines: list[str] = field(default_factory=list)
    doc_type: str = ""
    currency: str = ""


@dataclass
class Reconciliation:
    groups: list[dict]
    differences: list[Difference]
    missing: list[str]
    lines: list[dict] = field(default_factory=list)     # per type, currency, nominal, tax code
    unreconciled: list[str] = field(default_factory=list)   # held after load: never batched
    unfinished: dict[str, int] = field(default_factory=dict)  # state → documents left in it
    waiting: list = field(default_factory=list)     # handed off, unconfirmed (confirm.Waiting)

    @property
    def overdue(self) -> list:
        return [w for w in self.waiting if w.overdue]

    @property
    def agrees(self) -> bool:
        return not self.missing and not self.unreconciled and not self.unfinished and \
            not self.overdue and all(d.explained for d in self.differences)

    @property
    def documents(self) -> int:
        return sum(g["documents"] for g in self.groups)


def reconcile(docs: Iterable[JournalDocument], totals: dict) -> Reconciliation:
    """``docs``: the journal's loaded documents; ``totals``: key → DocumentTotals."""
    reconciler = Reconciler()
    reconciler.add(docs, totals)
    return reconciler.result()


class Reconciler:
    """Accumulates a reconciliation page by page, so memory does not grow with the backlog:
    only the totals by group and the differences are kept."""

    def __init__(self):
        self.groups: dict[tuple, dict] = {}
        self.lines: dict[tuple, dict] = {}
        self.differences: list[Difference] = []
        self.missing: list[str] = []

    def add(self, docs: Iterable[JournalDocument], totals: dict) -> None:
        for doc in docs:
            sage = totals.get(doc.key)
            if sage is None:
                self.missing.append(doc.key)
                continue
            cw = {"net": money(doc.net), "tax": money(doc.tax), "gross": money(doc.gross)}
            ours = {"net": sage.net, "tax": sage.tax, "gross": sage.gross}
            _add(self.groups, (sage.doc_type, sage.currency), cw, ours)
            _add_lines(self.lines, sage)
            self.differences += _differences(doc, cw, ours, sage)

    def result(self) -> Reconciliation:
        ordered = [dict(doc_type=k[0], currency=k[1], **v)
                   for k, v in sorted(self.groups.items())]
        by_line = [dict(doc_type=k[0], currency=k[1], nominal_code=k[2], tax_code=k[3],
                        rate=k[4], documents=v["documents"], lines=v["lines"], net=v["net"],
                        tax=v["tax"]) for k, v in sorted(self.lines.items())]
        return Reconciliation(ordered, self.differences, self.missing, by_line)


def _add_lines(lines, sage) -> None:
    seen: set[tuple] = set()                 # count each document once per group
    for line in sage.lines:
        key = (sage.doc_type, sage.currency, line.nominal_code, line.tax_code, line.rate)
        entry = lines.setdefault(key, {"documents": 0, "lines": 0, "net": ZERO, "tax": ZERO})
        entry["documents"] += key not in seen
        seen.add(key)
        entry["lines"] += 1
        entry["net"] += line.net
        entry["tax"] += line.tax


def _add(groups, key, cw, ours) -> None:
    group = groups.setdefault(key, {"documents": 0, **{f"cw_{k}": ZERO for k in cw},
                                    **{f"sage_{k}": ZERO for k in cw}})
    group["documents"] += 1
    for k in cw:
        group[f"cw_{k}"] += cw[k]
        group[f"sage_{k}"] += ours[k]


def _differences(doc: JournalDocument, cw, ours, sage) -> list[Difference]:
    out = []
    for what in ("net", "tax", "gross"):
        if cw[what] == ours[what]:
            continue
        explained, text, lines = _explain(what, cw, ours, sage)
        out.append(Difference(doc.key, doc.doc_number, what, cw[what], ours[what],
                              explained, text, lines, sage.doc_type, sage.currency))
    return out


def _explain(what: str, cw: dict, ours: dict, sage) -> tuple[bool, str, list[str]]:
    """A VAT (and so gross) difference is rounding when ConnectWise's one-off rounding of the
    taxable lines gives exactly its figure and the nets agree."""
    if cw["net"] != ours["net"]:
        return False, "the nets differ: a line was lost, added or priced differently", [
            f"Sage line '{l.description}': net {l.net}" for l in sage.lines]
    once = sum((money(sum((l.net for l in sage.lines if l.rate == rate), ZERO) * rate / 100)
                for rate in {l.rate for l in sage.lines}), ZERO)
    if once != cw["tax"]:
        return False, (f"ConnectWise VAT {cw['tax']} is not the VAT of its lines rounded once "
                       f"({once}) nor per line ({ours['tax']})"), []
    if what == "gross":
        return True, "follows from the VAT rounding difference", []
    lines = [f"line '{l.description}': net {l.net} × {plain(l.rate)}% = "
             f"{plain(l.net * l.rate / 100)} → VAT {l.tax}"
             for l in sage.lines if l.net * l.rate / 100 != l.tax]
    text = (f"VAT rounding: ConnectWise rounds VAT once on the document ({cw['tax']}), Sage "
            f"rounds each line ({ours['tax']}); {what} differs by {ours[what] - cw[what]}")
    return True, text, lines


def plain(value: Decimal) -> str:
    """A rate or an exact product as written, without trailing zeros (``20``, ``7.192``)."""
    return format(value.normalize(), "f")


# -- the reconciliation as tables and markdown (the run's artifacts) --------------------------
DOC_TYPES = {"SI": "sales invoice", "SC": "sales credit", "PI": "purchase invoice",
             "PC": "purchase credit"}


def group_status(rec: Reconciliation, doc_type: str, currency: str) -> str:
    found = [d for d in rec.differences if (d.doc_type, d.currency) == (doc_type, currency)]
    if not found:
        return "agrees"
    if all(d.explained for d in found):
        count = len({d.key for d in found})
        return f"VAT rounding ({count} doc{'s' if count > 1 else ''})"
    return "UNEXPLAINED"


def group_rows(rec: Reconciliation) -> list[dict]:
    """ConnectWise against Sage per document type and currency, with the differences."""
    rows = []
    for g in rec.groups:
        row = {"type": f"{g['doc_type']} ({DOC_TYPES.get(g['doc_type'], '?')})",
               "currency": g["currency"], "documents": g["documents"]}
        for what, label in (("net", "net"), ("tax", "VAT"), ("gross", "gross")):
            row[f"CW {label}"] = f"{g[f'cw_{what}']:.2f}"
            row[f"Sage {label}"] = f"{g[f'sage_{what}']:.2f}"
            row[f"{label} difference"] = f"{g[f'sage_{what}'] - g[f'cw_{what}']:.2f}"
        row["status"] = group_status(rec, g["doc_type"], g["currency"])
        rows.append(row)
    return rows


def line_rows(rec: Reconciliation) -> list[dict]:
    """What Sage holds per document type, currency, nominal code and tax code."""
    return [{"type": l["doc_type"], "currency": l["currency"], "nominal": l["nominal_code"],
             "tax code": f"T{l['tax_code']} ({plain(l['rate'])}%)", "documents": l["documents"],
             "lines": l["lines"], "net": f"{l['net']:.2f}", "VAT": f"{l['tax']:.2f}",
             "gross": f"{l['net'] + l['tax']:.2f}"} for l in rec.lines]


def difference_rows(rec: Reconciliation) -> list[dict]:
    """Every difference with its explanation and the line-by-line working."""
    rows = [{"document": d.document or d.key, "key": d.key, "amount": d.what,
             "ConnectWise": f"{d.connectwise:.2f}", "Sage": f"{d.sage:.2f}",
             "difference": f"{d.sage - d.connectwise:.2f}",
             "explained": "yes" if d.explained else "NO", "explanation": d.explanation,
             "working": "; ".join(d.lines)} for d in rec.differences]
    rows += [{"document": key, "key": key, "amount": "all", "explained": "NO",
              "explanation": "loaded, but Sage's totals do not include it"}
             for key in rec.missing]
    return rows


def verdict(rec: Reconciliation) -> str:
    if not rec.groups and not rec.missing:
        return "nothing loaded in this run"
    if not rec.differences and not rec.missing:
        return "agrees to the penny"
    return "every difference explained" if rec.agrees else "DOES NOT AGREE"
