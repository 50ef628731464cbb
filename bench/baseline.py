"""The bare baseline: the same work as the ``invoices`` pipeline with no framework around it.

``python -m bench.baseline --spec DIR/pipelines.yaml --db FILE --chunk-size C --result FILE``
(ConnectWise settings from the CW_* environment variables, as for the product):

1. list the unposted invoice ids (``pageSize`` 1000, following ``Link: rel="next"``);
2. per chunk of ids: ``POST /finance/accounting/export`` with ``includedInvoiceIds``, then the
   chunk's customer company records (addresses; the stylesheet reads them), 100 ids a call;
3. the canonical XML (``tasks.canonical.canonical_xml``, the documented input form, holding the
   fields the stylesheet names; timed as ``canonical``) through the same stylesheet
   (``xslt/invoices.xsl``) with lxml (``xslt``);
4. plain SQLite inserts of the invoices and their items, one transaction per chunk;
5. one ``POST /finance/accounting/batches`` per chunk with the chunk's GL entry ids (header
   ``glEntryIds`` plus every ``detail[].id``).

No Prefect, no Great Expectations, no journal. Writes timings per step, counts and peak RSS
to the result file.
"""

from __future__ import annotations

import time

_STARTED = time.perf_counter()

import argparse  # noqa: E402
import base64  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import sqlite3  # noqa: E402
import sys  # noqa: E402
from decimal import Decimal  # noqa: E402
from pathlib import Path  # noqa: E402

import requests  # noqa: E402

from bench.measure import (RssSampler, Stopwatch, proc_status_mb, profiled,  # noqa: E402
                           rss_fields, traced, write_result)

ACCEPT = "application/vnd.connectwise.com+json; version=2025.1"
UNPOSTED = "/finance/accounting/unpostedinvoices"
FLAGS = {"exportInvoicesFlag": True, "exportExpensesFlag": False, "exportProductsFlag": False}
COMPANY_FIELDS = ("id,identifier,name,accountNumber,addressLine1,addressLine2,city,state,zip,"
                  "country,phoneNumber,website,taxIdentifier,currency")
_NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')
SCHEMA = """
CREATE TABLE invoice (id TEXT PRIMARY KEY, account_ref TEXT NOT NULL, invoice_type TEXT,
    invoice_number TEXT, invoice_date TEXT, currency TEXT);
CREATE TABLE invoice_item (invoice_id TEXT NOT NULL REFERENCES invoice(id), item_number INTEGER,
    sku TEXT, name TEXT, qty TEXT, unit_price TEXT, nominal_code TEXT, tax_code TEXT,
    negative INTEGER, PRIMARY KEY (invoice_id, item_number));
"""


def session(base_url: str, env: dict[str, str]) -> requests.Session:
    """A session with ConnectWise's headers, from CW_* settings."""
    raw = f"{env['CW_COMPANY']}+{env['CW_PUBLIC_KEY']}:{env['CW_PRIVATE_KEY']}".encode()
    http = requests.Session()
    http.headers.update({"Authorization": "Basic " + base64.b64encode(raw).decode(),
                         "clientId": env["CW_CLIENT_ID"], "Accept": ACCEPT,
                         "Content-Type": "application/json"})
    return http


def _json(response: requests.Response):
    response.raise_for_status()
    return json.loads(response.content, parse_float=Decimal) if response.content else None


def _send(value):
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(type(value).__name__)


class Baseline:
    def __init__(self, base: str, http: requests.Session, spec: Path, db: Path):
        from lxml import etree
        from tasks.config.mappings import MappingsConfig
        import yaml
        self.base, self.http, self.etree = base.rstrip("/"), http, etree
        raw = yaml.safe_load(spec.read_text())
        config = MappingsConfig(**raw["pipelines"]["invoices"]["mappings"])
        self.mappings = config.model_dump()
        from decimal import Decimal
        from tasks.resolved import ResolveContext
        from tasks.sage50.protocol import SageFacts
        from tasks.sage50.rules import UK_TAX_RATES
        rates = (raw.get("sage") or {}).get("sage50_replica", {}).get("currency_rates") or {}
        self.resolve_ctx = ResolveContext(config, "pipelines.invoices.mappings", SageFacts(
            UK_TAX_RATES, {k: Decimal(str(v)) for k, v in rates.items()}, "GBP"))
        access = etree.XSLTAccessControl(read_file=True, write_file=False, create_dir=False,
                                         read_network=False, write_network=False)
        parser = etree.XMLParser(resolve_entities=False, no_network=True)
        stylesheet = spec.parent / "xslt" / "invoices.xsl"
        self.xslt = etree.XSLT(etree.parse(str(stylesheet), parser), access_control=access)
        from tasks.stylesheets import referenced_names
        self.names = referenced_names(stylesheet)    # the canonical XML's documented contract
        self.db = sqlite3.connect(db)
        self.db.executescript(SCHEMA)
        self.counts = {"documents": 0, "lines": 0, "detail_lines": 0, "batches": 0,
                       "gl_entries": 0, "chunks": 0}

    def post(self, path: str, body: dict):
        data = json.dumps(body, default=_send)
        return _json(self.http.post(self.base + path, data=data, timeout=120))

    def list_ids(self) -> list[int]:
        ids, url = [], self.base + UNPOSTED
        params: dict | None = {"fields": "id", "orderBy": "id asc", "pageSize": 1000}
        while url:
            response = self.http.get(url, params=params, timeout=120)
            ids += [row["id"] for row in _json(response)]
            match = _NEXT.search(response.headers.get("Link", ""))
            url, params = (match.group(1) if match else None), None
        return ids

    def export(self, number: int, ids: list[int]) -> dict:
        return self.post("/finance/accounting/export", dict(
            FLAGS, batchIdentifier=f"BENCH-{number}", includedInvoiceIds=ids))

    def companies(self, export: dict) -> list[dict]:
        ids = sorted({c["company"]["id"] for c in export.get("customers") or []})
        found: list[dict] = []
        for start in range(0, len(ids), 100):
            part = ",".join(map(str, ids[start:start + 100]))
            found += _json(self.http.get(self.base + "/company/companies", params={
                "conditions": f"id in ({part})", "fields": COMPANY_FIELDS, "pageSize": 1000},
                timeout=120))
        return found

    def canonical(self, number: int, export: dict):
        """The documented input form, with each document resolved as the product resolves it
        (the stylesheet lays out the resolved lines)."""
        from tasks.canonical import canonical_xml
        from tasks.entities import ENTITIES, resolve_documents
        from tasks.resolved import canonical
        resolved = resolve_documents(ENTITIES["invoices"], export, self.resolve_ctx)
        return canonical_xml("invoices", "invoices", number, export, mappings=self.mappings,
                             documents="transactions", key=lambda d: f"CW-INV-{d['id']}",
                             names=self.names,
                             resolved={k: canonical(d) for k, d in resolved.items()})

    def transform(self, doc):
        return self.xslt(doc, pipeline=self.etree.XSLT.strparam("invoices"))

    def load(self, sage) -> None:
        invoices, items = [], []
        for inv in sage.getroot().iterfind("Invoices/Invoice"):
            key = inv.findtext("Id")
            invoices.append((key, inv.findtext("AccountReference"), inv.findtext("InvoiceType"),
                             inv.findtext("InvoiceNumber"), inv.findtext("InvoiceDate"),
                             inv.findtext("Currency")))
            for n, item in enumerate(inv.iterfind("InvoiceItems/Item"), 1):
                items.append((key, n, item.findtext("Sku"), item.findtext("Name"),
                              item.findtext("QtyOrdered"), item.findtext("UnitPrice"),
                              item.findtext("NominalCode"), item.findtext("TaxCode"),
                              int(item.findtext("IsNegativeLine") == "true")))
        with self.db:
            self.db.executemany("INSERT INTO invoice VALUES (?,?,?,?,?,?)", invoices)
            self.db.executemany("INSERT INTO invoice_item VALUES (?,?,?,?,?,?,?,?,?)", items)
        self.counts["documents"] += len(invoices)
        self.counts["lines"] += len(items)

    def batch(self, number: int, export: dict) -> None:
        ids: set[int] = set()
        for doc in export.get("transactions") or []:
            ids.update(int(i) for i in str(doc.get("glEntryIds") or "").split(",") if i.strip())
            ids.update(int(d["id"]) for d in doc.get("detail") or [] if d.get("id") is not None)
            self.counts["detail_lines"] += len(doc.get("detail") or [])
        self.post("/finance/accounting/batches", dict(
            FLAGS, batchIdentifier=f"BENCH-BASE-{number:05d}", processedRecordIds=sorted(ids)))
        self.counts["batches"] += 1
        self.counts["gl_entries"] += len(ids)


def run(base: Baseline, chunk_size: int, watch: Stopwatch) -> None:
    with watch("list"):
        ids = base.list_ids()
    for number, start in enumerate(range(0, len(ids), chunk_size), 1):
        with watch("export"):
            export = base.export(number, ids[start:start + chunk_size])
        with watch("companies"):
            export["companies"] = base.companies(export)
        with watch("canonical"):
            doc = base.canonical(number, export)
        with watch("xslt"):
            sage = base.transform(doc)
        with watch("load"):
            base.load(sage)
        with watch("post"):
            base.batch(number, export)
        base.counts["chunks"] += 1
    base.counts["listed"] = len(ids)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.baseline")
    parser.add_argument("--spec", type=Path, required=True)
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--chunk-size", type=int, default=500)
    parser.add_argument("--result", type=Path, required=True)
    parser.add_argument("--profile", type=Path)
    parser.add_argument("--tracemalloc", type=Path)
    args = parser.parse_args(argv)
    sampler = RssSampler().start()
    env = os.environ
    base = Baseline(env["CW_BASE_URL"], session(env["CW_BASE_URL"], env), args.spec, args.db)
    imported, after_import = time.perf_counter() - _STARTED, proc_status_mb("VmRSS")
    watch = Stopwatch()
    began = time.perf_counter()
    with profiled(args.profile), traced(args.tracemalloc):
        run(base, args.chunk_size, watch)
    run_s, ended_at, cpu_s = time.perf_counter() - began, time.time(), time.process_time()
    peak = proc_status_mb("VmHWM")
    base.db.close()
    write_result(args.result, {"part": "baseline", "import_s": round(imported, 3),
                               "run_s": round(run_s, 3), "ended_at": ended_at,
                               "cpu_s": round(cpu_s, 2),
                               "steps": watch.rounded(), "trends": watch.trends(),
                               "counts": base.counts,
                               **rss_fields(sampler, after_import, peak)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
