"""Confirm documents written to Sage's import files by reading the Sage company (ODBC).

Each document waiting for Sage is looked for among the audit-trail headers with its reference
(``sage_odbc.headers``): the headers with its account, type and date are its postings. Two
documents of ours can share all four (two credits for one invoice, entered on one day), so
documents are judged per such group: the headers found must sum to the group's net and VAT.

* the sums agree, in the document's currency → imported;
* held in another currency (a foreign document imported onto a sterling account) → differs;
* they are a whole multiple of it → imported that many times: differs, with the headers;
* anything else found → differs (part imported, or edited in Sage);
* nothing found → still waiting.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from tasks.sage50 import sage_odbc
from tasks.sage50.outbox_manifest import Manifest
from tasks.sage50.protocol import DIFFERS, IMPORTED
from tasks.sage50.rules import BASE_CURRENCY

DIFFERS_FIX = ("compare the postings in Sage with ConnectWise and correct Sage by hand "
               "(reverse a second import, finish a partial one); cwsage reads Sage again on "
               "every run and batches the document once Sage holds it exactly once")


def confirm_in_sage(manifest: Manifest, dsn: str, keys: list[str]) -> None:
    """Record what Sage's tables say of the waiting ``keys`` in the manifest's outcomes."""
    known = manifest.outcomes(keys)
    open_keys = [k for k in keys if (known.get(k) or ("",))[0] != IMPORTED]
    totals, found = manifest.totals(open_keys), manifest.found_by(open_keys)
    groups: dict[tuple, list[str]] = defaultdict(list)
    for key in open_keys:
        if key in totals and key in found:
            t, (ref, when, _) = totals[key], found[key]
            groups[(t.account_ref, ref, t.doc_type, when)].append(key)
    accounts = manifest.account_kinds([k for k in open_keys if k not in totals])
    if not groups and not accounts:
        return
    conn = sage_odbc.connect(dsn)
    try:
        rows = _documents(conn, dsn, groups, totals) + _accounts(conn, dsn, accounts)
    finally:
        conn.close()
    manifest.record_outcomes(rows)


def _documents(conn, dsn: str, groups: dict[tuple, list[str]], totals: dict) -> list[tuple]:
    foreign = {g[1] for g, keys in groups.items()
               if any(totals[k].currency != BASE_CURRENCY for k in keys)}
    by_group: dict[tuple, list] = defaultdict(list)
    for h in sage_odbc.headers(conn, {g[1] for g in groups}, foreign):
        by_group[(h.account_ref, h.reference, h.doc_type, h.date)].append(h)
    rows = []
    for group, keys in groups.items():
        headers = by_group.get(group)
        if headers:
            rows += _judge(dsn, group, keys, headers, totals)
    return rows


def _judge(dsn: str, group: tuple, keys: list[str], headers: list, totals: dict) -> list:
    net = sum((abs(totals[k].net) for k in keys), Decimal(0))
    tax = sum((abs(totals[k].tax) for k in keys), Decimal(0))
    currency = totals[keys[0]].currency
    wrong = sorted({h.currency for h in headers} - {currency})
    got_net = sum((h.net for h in headers), Decimal(0))
    got_tax = sum((h.tax for h in headers), Decimal(0))
    numbers = ", ".join(str(h.number) for h in sorted(headers, key=lambda h: h.number))
    account, ref, doc_type, when = group
    where = (f"Sage audit trail through ODBC ({dsn}): {doc_type} {account} ref {ref} on "
             f"{when}, header {numbers}")
    if wrong:
        why = (f"Sage holds it in {', '.join(wrong)} (headers {numbers}); ConnectWise states "
               f"{currency} — the account's currency in Sage must be {currency}")
        return [(k, DIFFERS, where, why, DIFFERS_FIX) for k in keys]
    if (got_net, got_tax) == (net, tax):
        return [(k, IMPORTED, where, None, None) for k in keys]
    times = got_net / net if net else Decimal(0)
    if net and times == times.to_integral_value() and times > 1 and got_tax == tax * times:
        why = f"Sage holds it {times} times (headers {numbers}): the file was imported again"
    else:
        why = (f"Sage holds net {got_net} VAT {got_tax} under {doc_type} {account} ref {ref} on "
               f"{when} (headers {numbers}); the import files carried net {net} VAT {tax}")
    return [(k, DIFFERS, where, why, DIFFERS_FIX) for k in keys]


def _accounts(conn, dsn: str, accounts: dict[str, tuple[str, str]]) -> list[tuple]:
    rows = []
    for kind in ("customer", "supplier"):
        refs = {key: ref for key, (k, ref) in accounts.items() if k == kind and ref}
        if refs:
            held = sage_odbc.accounts(conn, kind, refs.values())
            rows += [(key, IMPORTED, f"Sage {kind} record {ref} through ODBC ({dsn})", None,
                      None) for key, ref in refs.items() if ref in held]
    return rows
