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
from typing import Iterable

from tasks.sage50 import sage_odbc
from tasks.sage50.outbox_manifest import Manifest
from tasks.sage50.protocol import DIFFERS, FAILED, IMPORTED
from tasks.sage50.rules import BASE_CURRENCY

DIFFERS_FIX = ("compare the postings in Sage with ConnectWise and correct Sage by hand "
               "(reverse a second import, finish a partial one); cwsage reads Sage again on "
               "every run and batches the document once Sage holds it exactly once")


def confirm_in_sage(manifest: Manifest, login: sage_odbc.Login,
                    keys: list[str]) -> str | None:
    """Record what Sage's tables say of the waiting ``keys`` in the manifest's outcomes;
    when Sage cannot be asked now, say why (the documents wait and are asked next run)."""
    try:
        _confirm(manifest, login, keys)
    except (sage_odbc.Unanswered, *sage_odbc.db_errors()) as exc:
        return f"Sage 50 through ODBC ({login.dsn}): {login.redact(str(exc))}"
    return None


def _confirm(manifest: Manifest, login: sage_odbc.Login, keys: list[str]) -> None:
    known = manifest.outcomes(keys)
    open_keys = [k for k in keys if (known.get(k) or ("",))[0] != IMPORTED]
    groups, totals = _groups(manifest, open_keys)
    members = {k for ks in groups.values() for k in ks}
    imported = {k for k, o in manifest.outcomes(members).items() if o[0] == IMPORTED}
    accounts = manifest.account_kinds([k for k in open_keys if k not in totals])
    if not groups and not accounts:
        return
    conn, dsn = sage_odbc.connect(login), login.dsn
    try:
        rows = _documents(conn, dsn, groups, totals, imported) + \
            _accounts(conn, dsn, accounts)
    finally:
        conn.close()
    asked = set(open_keys)          # a sibling handed off earlier keeps its own outcome
    manifest.record_outcomes([row for row in rows if row[0] in asked])


def _groups(manifest: Manifest, keys: list[str]) -> tuple[dict[tuple, list[str]], dict]:
    """The asked documents grouped by how Sage finds them (account, reference, type, date),
    each group with every other document of ours Sage finds the same way — handed off in an
    earlier load and not refused — since their postings are summed together."""
    found = manifest.found_by(keys)
    siblings = manifest.found_by_reference({ref for ref, _, _ in found.values()})
    refused = {k for k, o in manifest.outcomes(siblings).items() if o[0] == FAILED}
    everyone = {**{k: v for k, v in siblings.items() if k not in refused}, **found}
    totals = manifest.totals(everyone)
    groups: dict[tuple, list[str]] = defaultdict(list)
    for key, (ref, when, _) in sorted(everyone.items()):
        if key in totals:
            t = totals[key]
            groups[(t.account_ref, ref, t.doc_type, when)].append(key)
    asked = set(keys)
    return {g: ks for g, ks in groups.items() if asked & set(ks)}, totals


def _documents(conn, dsn: str, groups: dict[tuple, list[str]], totals: dict,
               imported: set[str]) -> list[tuple]:
    foreign = {(g[0], g[1]) for g, keys in groups.items()
               if any(totals[k].currency != BASE_CURRENCY for k in keys)}
    by_group: dict[tuple, list] = defaultdict(list)
    for h in sage_odbc.headers(conn, {g[1] for g in groups}, foreign):
        by_group[(h.account_ref, h.reference, h.doc_type, h.date)].append(h)
    rows = []
    for group, keys in groups.items():
        headers = by_group.get(group)
        if headers:
            rows += _judge(dsn, group, keys, headers, totals, imported)
    return rows


def _sums(keys: Iterable[str], totals: dict) -> tuple[Decimal, Decimal]:
    return (sum((abs(totals[k].net) for k in keys), Decimal(0)),
            sum((abs(totals[k].tax) for k in keys), Decimal(0)))


def _judge(dsn: str, group: tuple, keys: list[str], headers: list, totals: dict,
           imported: set[str]) -> list:
    net, tax = _sums(keys, totals)
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
    done = [k for k in keys if k in imported]
    if done and (got_net, got_tax) == _sums(done, totals):
        return []               # Sage holds the ones imported before; the others still wait
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
