"""The money invariant of the preview property test, through real runs against the sandbox.

Each example draws 6-10 ConnectWise documents with the generators of
``tests/tasks/test_money_property.py`` (invoices and credit memos, or purchases and returns),
serves them from a fresh ConnectWise sandbox that seeds no documents of its own, and runs the
real Prefect flow into a fresh $CWSAGE_HOME. The spec is the shipped pipelines.yaml with T5
mapped and EUR/USD exchange rates configured. Then every generated document is either

* **posted**: off ConnectWise's unposted list, and Sage (the replica) holds it once with
  ConnectWise's net exactly, per tax code and in total — VAT per tax code within half a penny
  per Sage line of that code (invoices: Sage prices each line) or exactly, each code's VAT
  agreeing with its rate (purchases: Sage holds the VAT it is given); or
* **quarantined** in the journal, every reason with a fix, still unposted in ConnectWise and
  absent from Sage.

Every document must post, unless it is in another currency than its party's Sage account: an
account's currency is fixed when it is created (R-CUR-1) — the customer's currency (invoices),
the vendor company's (purchases), else that of the party's first document — so such documents
are held, for that reason. Across the run nothing is posted twice: no EXTERNAL_ID twice in
Sage, no GL entry in two ConnectWise batches, no batch intent left open.

Each example is a full flow run (a second or two), so the examples are few, derandomized and
not shrunk (a failure lists every document's figures instead); CWSAGE_RUN_EXAMPLES raises the
count.
"""

from __future__ import annotations

import copy
import json
import os
import sqlite3
import tempfile
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings

from sandbox.server import SandboxServer
from tasks.entities import ENTITIES
from tasks.sage50 import replica_read
from tests.crash.harness import with_rates
from tests.flows.helpers import CW, run
from tests.tasks import money_checks as mc
from tests.tasks.test_money_property import (T5_OVERLAY, exports, invoice_document,
                                             invoice_export, purchase_document,
                                             purchase_export, vat_by_code)

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = int(os.environ.get("CWSAGE_RUN_EXAMPLES", "8"))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                    phases=[Phase.explicit, Phase.generate],
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
PARTY_OFFSET = 90_000          # the generators' party ids are seeded companies; move them clear
ZERO = Decimal(0)
KINDS = {"invoices": ("SI", "SC"), "procurement": ("PI", "PC")}


@pytest.fixture(scope="module")
def spec_path(tmp_path_factory) -> Path:
    """The shipped spec with EUR/USD rates, and T5 mapped in invoices and procurement."""
    folder = tmp_path_factory.mktemp("spec")
    for name in ("xslt", "expectations"):
        (folder / name).symlink_to(ROOT / name, target_is_directory=True)
    (folder / "rates.yaml").write_text(with_rates((ROOT / "pipelines.yaml").read_text()))
    for pipeline in KINDS:
        spec = folder / "pipelines.yaml"
        source = spec if spec.exists() else folder / "rates.yaml"
        mc.spec_with_overlay(source, pipeline, T5_OVERLAY, folder)
    return folder / "pipelines.yaml"


# -- the run -----------------------------------------------------------------------------------
def clear_of_seeded(export: dict) -> dict:
    """The export with its party ids moved off the sandbox's seeded companies."""
    export = copy.deepcopy(export)
    for doc in export["transactions"] + export["purchaseTransactions"]:
        doc["company"]["id"] += PARTY_OFFSET
    for entry in export["customers"]:
        entry["company"]["id"] += PARTY_OFFSET
    for entry in export["vendors"]:
        entry["vendor"]["id"] += PARTY_OFFSET
        entry["company"]["id"] += PARTY_OFFSET
    for record in export["companies"]:
        record["id"] += PARTY_OFFSET
    return export


@contextmanager
def sandbox_run(export: dict):
    """A sandbox serving only ``export``, the CW_* variables and a fresh $CWSAGE_HOME."""
    server = SandboxServer(port=0, seed=5, invoices=0, expenses=0, procurement=0,
                           documents=clear_of_seeded(export)).start()
    creds = server.credentials
    try:
        with tempfile.TemporaryDirectory(prefix="cwsage-run-") as home, \
                pytest.MonkeyPatch.context() as mp:
            for name, value in {"CW_BASE_URL": server.base_url, "CW_COMPANY": creds["company"],
                                "CW_PUBLIC_KEY": creds["public_key"],
                                "CW_PRIVATE_KEY": creds["private_key"],
                                "CW_CLIENT_ID": creds["client_id"], "CWSAGE_HOME": home}.items():
                mp.setenv(name, value)
            yield server, Path(home)
    finally:
        server.stop()


def run_and_judge(pipeline: str, spec: Path, export: dict, docs: list[dict],
                  money: list[dict]) -> list[str]:
    with sandbox_run(export) as (server, home):
        result = run(spec, pipeline)
        problems = [] if result.reconciliation.agrees else \
            [f"the run's reconciliation does not agree: {result.reconciliation}"]
        outcome = Outcome(pipeline, server, home)
        try:
            return problems + outcome.problems(export, docs, money)
        finally:
            outcome.close()


# -- what ConnectWise, the journal and Sage hold after the run ---------------------------------
def party(doc: dict) -> str:
    return doc.get("account") or doc["vendor"]


def mixed_currency_parties(docs: list[dict]) -> set[str]:
    """Parties with documents in two currencies in one export. A Sage account's currency is
    fixed when it is created (R-CUR-1), so the documents of one of the currencies are held;
    every other document, GBP or EUR (the spec has a EUR rate), must post."""
    currencies: dict[str, set[str]] = {}
    for doc in docs:
        currencies.setdefault(party(doc), set()).add(doc["currency"])
    return {name for name, found in currencies.items() if len(found) > 1}


def own_currency(export: dict, pipeline: str, record: dict) -> str | None:
    """The currency the party's Sage account is created in: the customer's GLExport entry
    (invoices) or the vendor's ConnectWise company record (purchases); None when not stated,
    and then the party's first document decides."""
    company = record["company"]["id"]
    if pipeline == "invoices":
        found = [c.get("currency") for c in export.get("customers") or []
                 if c["company"]["id"] == company]
    else:
        found = [c.get("currency") for c in export.get("companies") or [] if c["id"] == company]
    code = (found[0] or {}).get("currencyCode") if found else None
    return code or None


class Outcome:
    def __init__(self, pipeline: str, server: SandboxServer, home: Path):
        self.pipeline, self.cw = pipeline, CW(server)
        self.journal = sqlite3.connect(f"file:{home / 'journal.db'}?mode=ro", uri=True)
        self.sage = sqlite3.connect(f"file:{home / 'sage50.db'}?mode=ro", uri=True)
        path = {"invoices": "unpostedinvoices", "procurement": "unpostedprocurement"}[pipeline]
        rows = self.cw.get(f"/finance/accounting/{path}", pageSize=1000)
        self.unposted = {str(r["id"]) if pipeline == "invoices" else r["purchaseOrder"]["name"]
                         for r in rows}

    def close(self) -> None:
        self.journal.close()
        self.sage.close()

    def problems(self, export: dict, docs: list[dict], money: list[dict]) -> list[str]:
        p = self.nothing_twice()
        mixed = mixed_currency_parties(docs)
        for record, doc, stated in zip(export[mc.SECTIONS[self.pipeline]], docs, money):
            key = ENTITIES[self.pipeline].key(record)
            own = own_currency(export, self.pipeline, record)
            sound = doc["currency"] == own if own else party(doc) not in mixed
            p += [f"{key}: {problem}" for problem in self.document(key, record, doc, stated,
                                                                  sound)]
        return p

    def document(self, key: str, record: dict, doc: dict, stated: dict,
                 must_post: bool) -> list[str]:
        row = self.journal.execute("SELECT state, reasons FROM documents WHERE pipeline=? AND "
                                   "key=?", (self.pipeline, key)).fetchone()
        listed = str(record["id"] if self.pipeline == "invoices" else record["documentNumber"])
        in_sage = replica_read.present(self.sage.cursor(), [key])
        if row is None:
            return ["not in the journal"]
        if row[0] == "quarantined":
            reasons = json.loads(row[1] or "[]")
            p = [] if reasons else ["quarantined without a reason"]
            p += [f"reason {r.get('reason')!r} has no fix" for r in reasons
                  if not str(r.get("fix") or "").strip()]
            p += ["quarantined but batched in ConnectWise"] if listed not in self.unposted else []
            p += ["quarantined but in Sage"] if in_sage else []
            if must_post:
                p.append(f"a sound document was quarantined: {reasons}")
            elif not any("currency" in str(r.get("reason")).lower() for r in reasons):
                p.append(f"held, but not for a currency its party's account cannot take: "
                         f"{reasons}")
            return p
        if row[0] != "posted":
            return [f"journal state {row[0]!r}, neither posted nor quarantined: {row[1]}"]
        p = ["posted but still unposted in ConnectWise"] if listed in self.unposted else []
        return p + self.money(key, doc, stated)

    def money(self, key: str, doc: dict, stated: dict) -> list[str]:
        held = replica_read.totals(self.sage.cursor(), [key]).get(key)
        if held is None:
            return ["posted but not in Sage"]
        credit = bool(doc.get("credit") or doc.get("ret"))
        p = [f"Sage type {held.doc_type}"] if held.doc_type != KINDS[self.pipeline][credit] \
            else []
        if held.currency != doc["currency"]:
            p.append(f"Sage currency {held.currency}, ConnectWise {doc['currency']}")
        if held.net != stated["net"]:
            p.append(f"Sage net {held.net} != ConnectWise net {stated['net']}")
        if held.gross - held.net != held.tax:
            p.append(f"Sage gross {held.gross} != net {held.net} + tax {held.tax}")
        return p + self.per_code(held, doc)

    def per_code(self, held, doc: dict) -> list[str]:
        cw_net: dict[str, Decimal] = {}
        for line in doc["lines"]:
            cw_net[line["code"]] = cw_net.get(line["code"], ZERO) + line["net"]
        cw_tax = vat_by_code(doc["lines"])
        sage: dict[str, list] = {}
        for line in held.lines:
            sage.setdefault(f"T{line.tax_code}", []).append(line)
        p = []
        for code in sorted(set(cw_net) | set(sage)):
            lines = sage.get(code, [])
            net = sum((ln.net for ln in lines), ZERO)
            tax = sum((ln.tax for ln in lines), ZERO)
            want_net, want_tax = cw_net.get(code, ZERO), cw_tax.get(code, ZERO)
            if net != want_net:
                p.append(f"{code} net {net} in Sage, {want_net} in ConnectWise")
            if self.pipeline == "invoices":
                p += [f"a {code} line of net {ln.net} carries VAT {ln.tax}" for ln in lines
                      if abs(ln.tax - ln.net * mc.SAGE_RATES[code] / 100) > mc.HALF_PENNY]
                if abs(tax - want_tax) > mc.HALF_PENNY * len(lines):
                    p.append(f"{code} VAT {tax} in Sage, {want_tax} in ConnectWise: more than "
                             f"half a penny x {len(lines)} line(s) apart")
            elif tax != want_tax or tax != mc.round_half_up(net * mc.SAGE_RATES[code] / 100):
                p.append(f"{code} VAT {tax} in Sage, {want_tax} in ConnectWise; {code} on "
                         f"{net} is {mc.round_half_up(net * mc.SAGE_RATES[code] / 100)}")
        total_tax = sum(cw_tax.values(), ZERO)
        if abs(held.tax - total_tax) > mc.HALF_PENNY * len(held.lines):
            p.append(f"Sage VAT {held.tax}, ConnectWise {total_tax}")
        return p

    def nothing_twice(self) -> list[str]:
        p = []
        for table in ("INVOICE", "AUDIT_HEADER"):
            twice = self.sage.execute(f"SELECT EXTERNAL_ID, COUNT(*) FROM {table} GROUP BY "
                                      "EXTERNAL_ID HAVING COUNT(*) > 1").fetchall()
            p += [f"Sage {table} holds {key} {n} times" for key, n in twice]
        entries = [e["id"] for b in self.cw.batches()
                   for e in self.cw.get(f"/finance/accounting/batches/{b['id']}/entries",
                                        pageSize=1000)]
        if len(entries) != len(set(entries)):
            p.append("a GL entry is in more than one ConnectWise batch")
        open_intents = self.journal.execute("SELECT COUNT(*) FROM batches WHERE "
                                            "state='intent'").fetchone()[0]
        return p + ([f"{open_intents} batch intents never settled"] if open_intents else [])


def described(docs, money) -> str:
    return "\n".join(f"  document {d['index']}: {d['currency']} "
                     f"{'credit' if d.get('credit') or d.get('ret') else 'debit'} net "
                     f"{m['net']} tax {m['tax']}: " + "; ".join(
                         f"{ln['code']} {ln['account']} {ln['net']}" for ln in d["lines"])
                     for d, m in zip(docs, money))


# -- the properties ----------------------------------------------------------------------------
@SETTINGS
@given(docs=exports(invoice_document, size=10, least=6))
def test_a_run_posts_invoices_with_connectwise_money_or_holds_them(docs, prefect_harness,
                                                                    spec_path):
    export, money = invoice_export(docs)
    assert not mc.export_problems("invoices", export)
    problems = run_and_judge("invoices", spec_path, export, list(docs), money)
    assert not problems, "\n".join(problems) + "\n" + described(docs, money)


@SETTINGS
@given(docs=exports(purchase_document, size=10, least=6))
def test_a_run_posts_purchases_with_connectwise_money_or_holds_them(docs, prefect_harness,
                                                                     spec_path):
    export, money = purchase_export(docs)
    assert not mc.export_problems("procurement", export)
    problems = run_and_judge("procurement", spec_path, export, list(docs), money)
    assert not problems, "\n".join(problems) + "\n" + described(docs, money)
