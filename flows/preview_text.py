"""The terminal rendering of ``cwsage preview``: blocked documents first, grouped by cause
with their fixes, then one line per document with ConnectWise's and Sage's totals."""

from __future__ import annotations

from tasks.inert import terminal


def render(report: dict) -> str:
    docs = report["documents"]
    blocked = [d for d in docs if d["status"] == "blocked"]
    out = [f"{terminal(report['pipeline'])}: {len(docs)} documents — "
           f"{len(docs) - len(blocked)} ready, {len(blocked)} blocked", ""]
    if blocked:
        out.append("Blocked (nothing of these reaches Sage):")
        for doc in blocked:
            out.append(f"  {terminal(doc['key'])} ({terminal(doc['number'])})")
            for reason in doc["reasons"]:
                out.append(f"    - {terminal(reason['reason'])}")
                out.append(f"      fix: {terminal(reason['fix'])}")
        out.append("")
    out.append(f"  {'document':<22} {'status':<8} {'ConnectWise net/VAT/gross':>30}   "
               f"{'Sage net/VAT/gross':>30}")
    for doc in docs:
        cw, sage = doc.get("connectwise") or {}, doc.get("sage") or {}
        out.append(f"  {terminal(doc['key']):<22} {doc['status']:<8} {_three(cw):>30}   "
                   f"{_three(sage):>30}")
        for split in sage.get("splits") or []:
            out.append(f"      {terminal(split['nominal']):<8} {terminal(split['tax_code']):<4} "
                       f"net {split['net']:>10} VAT {split['tax']:>9}  "
                       f"{terminal(split['details'])[:40]}")
    return "\n".join(out) + "\n"


def _three(money: dict) -> str:
    if not money:
        return "—"
    return f"{money.get('net')} / {money.get('tax')} / {money.get('gross')}"
