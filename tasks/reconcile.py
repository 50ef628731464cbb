"""Reconciliation: ConnectWise totals against what Sage holds, to the penny.

For every document loaded, ConnectWise's net, VAT and gross (kept in the journal at extraction)
are compared with the target's (``Writer.totals``). A difference is either explained line by
line — ConnectWise rounds VAT once on the document, Sage rounds it on each line (R-TAX-1), so
pennies can move — or reported as unexplained, which is a defect to investigate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

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


@dataclass
class Reconciliation:
    groups: list[dict]
    differences: list[Difference]
    missing: list[str]

    @property
    def agrees(self) -> bool:
        return not self.missing and all(d.explained for d in self.differences)

    @property
    def documents(self) -> int:
        return sum(g["documents"] for g in self.groups)


def reconcile(rows, totals: dict) -> Reconciliation:
    """``rows``: journal rows of loaded documents; ``totals``: key → DocumentTotals."""
    groups: dict[tuple, dict] = {}
    differences: list[Difference] = []
    missing = [r["key"] for r in rows if r["key"] not in totals]
    for row in rows:
        sage = totals.get(row["key"])
        if sage is None:
            continue
        cw = {k: money(row[k]) for k in ("net", "tax", "gross")}
        ours = {"net": sage.net, "tax": sage.tax, "gross": sage.gross}
        _add(groups, (sage.doc_type, sage.currency), cw, ours)
        differences += _differences(row, cw, ours, sage)
    ordered = [dict(doc_type=k[0], currency=k[1], **v) for k, v in sorted(groups.items())]
    return Reconciliation(ordered, differences, missing)


def _add(groups, key, cw, ours) -> None:
    group = groups.setdefault(key, {"documents": 0, **{f"cw_{k}": ZERO for k in cw},
                                    **{f"sage_{k}": ZERO for k in cw}})
    group["documents"] += 1
    for k in cw:
        group[f"cw_{k}"] += cw[k]
        group[f"sage_{k}"] += ours[k]


def _differences(row, cw, ours, sage) -> list[Difference]:
    out = []
    for what in ("net", "tax", "gross"):
        if cw[what] == ours[what]:
            continue
        explained, text, lines = _explain(what, cw, ours, sage)
        out.append(Difference(row["key"], row["doc_number"], what, cw[what], ours[what],
                              explained, text, lines))
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
    lines = [f"line '{l.description}': net {l.net} × {_plain(l.rate)}% = "
             f"{_plain(l.net * l.rate / 100)} → VAT {l.tax}"
             for l in sage.lines if l.net * l.rate / 100 != l.tax]
    text = (f"VAT rounding: ConnectWise rounds VAT once on the document ({cw['tax']}), Sage "
            f"rounds each line ({ours['tax']}); {what} differs by {ours[what] - cw[what]}")
    return True, text, lines


def _plain(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text
