"""Extract: list the unposted documents, then export them from ConnectWise in bounded chunks.

The plan (``plan_extraction``) snapshots every unposted id first — the unposted lists shrink as
batches are created, so nothing is posted while paging — and checks completeness against the
count endpoint. Each chunk (``extract_chunk``) is one ``POST /finance/accounting/export`` with
``included…Ids``; the answer must hold exactly the ids asked for. The chunk is enriched with the
company records of its customers (addresses are not in the GLExport) and spilled to disk as
JSON, so later stages read a file, not a flow-sized object in memory.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prefect import task

from tasks.caching import extract_key, plan_key
from tasks.chunks import ChunkRef, atomic_write, chunk_export, companies_path, remember
from tasks.config.stages import ExtractConfig
from tasks.connectwise import ConnectWiseClient
from tasks.entities import ALL_FLAGS, AccountingEntity, Entity
from tasks.errors import RetriableError, stage_message
from tasks.faults import crash_point
from tasks.held import plural
from tasks.journal import DocRecord
from tasks.resolved import fingerprint
from tasks.sage50.money import ZERO

log = logging.getLogger("cwsage.extract")

COMPANY_FIELDS = ("id,identifier,name,accountNumber,vendorIdentifier,addressLine1,addressLine2,"
                  "city,state,zip,country,phoneNumber,website,taxIdentifier,currency")


@dataclass(frozen=True)
class ExtractPlan:
    pipeline: str
    count: int
    chunks: list[list[Any]]


def list_conditions(cfg: ExtractConfig, cursor: str | None, recheck: list[Any],
                    base: str | None = None) -> str | None:
    """The condition that selects what to extract: the configured one (``base``, the kind's
    own), narrowed to records changed since the cursor — plus, always, the quarantined ones,
    so that they are re-checked."""
    parts = [f"({base})"] if base else []
    if cfg.cursor and cursor:
        parts.append(f"{cfg.cursor} > [{cursor}]")
    condition = " and ".join(parts) or None
    if recheck and cfg.cursor and cursor:
        ids = ",".join(str(int(i)) for i in recheck)
        condition = f"({condition}) or id in ({ids})"
    return condition


def plan_extraction(client: ConnectWiseClient, entity: Entity, cfg: ExtractConfig,
                    pipeline: str, cursor: str | None = None,
                    recheck: list[Any] | None = None) -> ExtractPlan:
    conditions = cfg.conditions if entity.kind == "export" else \
        list_conditions(cfg, cursor, recheck or [], entity.conditions)
    expected = client.count(entity.unposted_path, conditions)
    params = {"fields": entity.list_id_field, "orderBy": f"{entity.list_id_field} asc",
              "pageSize": cfg.page_size}
    if conditions:
        params["conditions"] = conditions
    ids: list[Any] = []
    for page in client.pages(entity.unposted_path, params):
        ids.extend(row[entity.list_id_field] for row in page)
    unique = list(dict.fromkeys(ids))
    if len(unique) != expected:
        raise RetriableError(stage_message(
            pipeline, "extract", f"completeness check failed: ConnectWise counts {expected} "
            f"unposted {entity.name} but its list returned {len(unique)} distinct ids; "
            "the list changed while it was read or paging is broken — nothing was exported"))
    chunks = [unique[i:i + cfg.chunk_size] for i in range(0, len(unique), cfg.chunk_size)]
    log.info("[%s] extract: %d unposted %s in %d chunks", pipeline, expected, entity.name,
             len(chunks))
    return ExtractPlan(pipeline=pipeline, count=expected, chunks=chunks)


def export_request(entity: AccountingEntity, cfg: ExtractConfig, ids: list[Any],
                   batch_identifier: str) -> dict:
    body: dict[str, Any] = {flag: flag == entity.export_flag for flag in ALL_FLAGS}
    body["batchIdentifier"] = batch_identifier
    body[entity.included_ids] = [str(i) if entity.id_is_text else int(i) for i in ids]
    if cfg.thru_date:
        body["thruDate"] = f"{cfg.thru_date.isoformat()}T23:59:59Z"
    if cfg.location_id is not None:
        body["locationId"] = cfg.location_id
    return body


def extract_chunk(client: ConnectWiseClient, entity: Entity, cfg: ExtractConfig,
                  pipeline: str, ids: list[Any], batch_identifier: str, out: Path,
                  known: Mapping[int, dict] | None = None) -> dict:
    """Export one chunk, check it is whole, enrich it, and spill it to ``out``.

    The export is written exactly as ConnectWise sent it (``out``); the company records of
    its parties go beside it (``*.companies.json``). ``read_chunk`` reads both back. Returns
    the parsed export with its ``companies``.
    """
    if entity.kind != "export":
        return _list_chunk(client, entity, cfg, ids, out)
    export, raw = client.post_keep_bytes("/finance/accounting/export",
                                         export_request(entity, cfg, ids, batch_identifier))
    _check_complete(entity, pipeline, ids, export.get(entity.documents) or [])
    companies = fetch_companies(client, _company_ids(export), known) \
        if cfg.enrich_companies else []
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(companies_path(out), json.dumps(companies, default=str).encode())
    atomic_write(out, raw)
    export["companies"] = companies
    return export


def _list_chunk(client: ConnectWiseClient, entity, cfg: ExtractConfig, ids: list[Any],
                out: Path) -> dict:
    """A chunk of a list endpoint: the records with these ids, as ``{"records": [...]}``."""
    field = entity.list_id_field
    params = {"conditions": f"{field} in ({','.join(_literal(i) for i in ids)})",
              "orderBy": f"{field} asc", "pageSize": 1000}
    if cfg.fields:
        params["fields"] = ",".join(dict.fromkeys([field, *cfg.fields.split(","),
                                                   *([cfg.cursor] if cfg.cursor else [])]))
    records = [r for page in client.pages(entity.unposted_path, params) for r in page]
    got = {str(r.get(field)) for r in records}
    missing = [i for i in ids if str(i) not in got]
    if missing:
        raise RetriableError(f"{entity.unposted_path}: records {missing[:10]} were listed but "
                             "could not be read; nothing from this chunk was loaded")
    export = {"records": records}
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(out, json.dumps(export, default=str).encode())
    return export


def _literal(value: Any) -> str:
    """An id in a ``conditions`` list: a number as it is, text quoted."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _check_complete(entity: AccountingEntity, pipeline: str, ids: list[Any],
                    documents: list[dict]) -> None:
    if entity.id_is_text:          # purchase transactions are labelled, not keyed by list id
        return
    asked = {int(i) for i in ids}
    got = {int(d["id"]) for d in documents}
    missing, extra = sorted(asked - got), sorted(got - asked)
    if missing or extra:
        raise RetriableError(stage_message(
            pipeline, "extract", f"the export did not match the ids asked for: missing "
            f"{missing[:10]}{'…' if len(missing) > 10 else ''}, unexpected {extra[:10]}; "
            "nothing from this chunk was loaded"))


def _company_ids(export: dict) -> list[int]:
    ids = set()
    for section in ("customers", "vendors"):
        for party in export.get(section) or []:
            for ref in ("company", "vendor"):
                if isinstance(party.get(ref), dict) and party[ref].get("id") is not None:
                    ids.add(int(party[ref]["id"]))
    return sorted(ids)


def fetch_companies(client: ConnectWiseClient, ids: list[int],
                    known: Mapping[int, dict] | None = None) -> list[dict]:
    """The company records of ``ids``; those in ``known`` (fetched earlier in the same run)
    are not asked for again — a backlog has far fewer customers than documents. ``known`` is
    only read."""
    known = known or {}
    found = {i: known[i] for i in ids if i in known}
    wanted = [i for i in ids if i not in found]
    for start in range(0, len(wanted), 100):
        part = wanted[start:start + 100]
        params = {"conditions": f"id in ({','.join(map(str, part))})", "fields": COMPANY_FIELDS,
                  "pageSize": 1000}
        for page in client.pages("/company/companies", params):
            found.update((int(c["id"]), c) for c in page)
    return [found[i] for i in ids if i in found]


class KnownCompanies(Mapping):
    """The company records a run has fetched so far, as a snapshot: a chunk's extract reads
    it and never writes it; the flow makes the next snapshot from what the chunk found
    (``with_chunk``). A plain mapping object, so Prefect does not walk it as a task input."""

    def __init__(self, records: Mapping[int, dict] | None = None):
        self._records = dict(records or {})

    def __getitem__(self, key: int) -> dict:
        return self._records[key]

    def __iter__(self):
        return iter(self._records)

    def __len__(self) -> int:
        return len(self._records)

    def with_chunk(self, chunk: ChunkRef) -> "KnownCompanies":
        """This snapshot and the company records fetched with ``chunk`` (from the parsed
        chunk its extract left in ``chunk_export``'s cache; read from disk only if gone)."""
        if not chunk.companies:
            return self
        found = chunk_export(chunk.path).get("companies") or []
        return KnownCompanies({**self._records, **{int(c["id"]): c for c in found}})


def cursor_value(record: dict, field: str) -> str | None:
    """A record's cursor value (``lastUpdated`` is read from ``_info`` as ConnectWise keeps it)."""
    value = record
    for part in field.split("/"):
        value = value.get(part) if isinstance(value, dict) else None
    if value is None and field == "lastUpdated":
        value = (record.get("_info") or {}).get("lastUpdated")
    return str(value) if value is not None else None


def count_lines(entity, export: dict) -> int:
    """The document lines of an export, as its kind counts them (``line_count``)."""
    return sum(entity.line_count(d) for d in export.get(entity.documents) or [])


# -- the Prefect tasks --------------------------------------------------------------------

def doc_records(entity: Entity, export: dict, resolved: dict) -> list[DocRecord]:
    """What the journal keeps of each document: its identity, its GL ids, and ConnectWise's
    money and account as the resolve step read them (one reading, shared with the gate)."""
    records = []
    for doc in export.get(entity.documents) or []:
        key = entity.key(doc)
        found = resolved.get(key)
        digest = fingerprint(found) if found else \
            hashlib.sha256(json.dumps(doc, default=str).encode()).hexdigest()[:16]
        records.append(DocRecord(
            key=key, cw_id=str(entity.source_id(doc)),
            doc_number=found.number if found else doc.get(entity.number_field),
            doc_type=found.doc_type if found else "RECORD",
            account_ref=found.account if found else None,
            currency=found.currency if found else None,
            net=found.cw_net if found else ZERO, tax=found.cw_tax if found else ZERO,
            gross=found.cw_gross if found else ZERO, gl_ids=tuple(entity.gl_ids(doc)),
            content_hash=digest))
    return records


@task(name="plan", task_run_name="{run.pipeline}-plan", cache_key_fn=plan_key,
      persist_result=True, cache_result_in_memory=False)
def plan_task(run, client: ConnectWiseClient, journal) -> ExtractPlan:
    """List what is to be extracted (a list endpoint with a cursor: what changed since the
    journal's cursor, and the records it holds in quarantine, re-checked)."""
    cfg = run.pipeline_spec.extract
    cursor = journal.cursor(run.pipeline) if cfg.cursor else None
    recheck = [int(d.cw_id) for d in journal.quarantined(run.pipeline)] if cfg.cursor else []
    return plan_extraction(client, run.entity, cfg, run.pipeline, cursor, recheck)


@task(name="extract", task_run_name="{run.pipeline}-extract", cache_key_fn=extract_key,
      persist_result=True, cache_result_in_memory=False)
def extract_task(run, client: ConnectWiseClient, journal, resolver, number: int, ids: list,
                 known: KnownCompanies | None = None) -> ChunkRef:
    """Export a chunk, record its documents as extracted; return where it was spilled, with
    what it found: the keys, the highest cursor value, how many company records came with it.
    ``known``: the company records earlier chunks fetched (read, never written)."""
    path = run.run_dir / f"chunk-{number:04d}.json"
    identifier = f"{run.pipeline_spec.post.batch_prefix}-{run.run_id}"[:50]
    export = remember(path, extract_chunk(client, run.entity, run.pipeline_spec.extract,
                                          run.pipeline, ids, identifier, path, known))
    records = doc_records(run.entity, export, resolver.resolve(export))
    journal.record_extracted(run.pipeline, run.run_id, records)
    crash_point("after-extract")
    lines = count_lines(run.entity, export)
    log.info("[%s] extract: chunk %d: %s, %s", run.pipeline, number,
             plural(len(records), "document"), plural(lines, "line"))
    return ChunkRef(number, path, tuple(r.key for r in records), lines,
                    len(export.get("companies") or []), highest_cursor(run, export))


def highest_cursor(run, export: dict) -> str | None:
    """The highest cursor value of a list endpoint's chunk (None without a cursor)."""
    field = run.pipeline_spec.extract.cursor
    if not field:
        return None
    values = [cursor_value(d, field) for d in export.get(run.entity.documents) or []]
    return max((v for v in values if v), default=None)
