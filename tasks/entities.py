"""The document kinds this product moves, and every fact about each, in one registry.

A kind says where its documents come from (the unposted list, the export flag and id list that
select them, the GLExport array that holds them), how a document's stable key is formed, which
GL entry ids must be batched to post it (docs/connectwise-behaviour.md, "Posting: which GL entry
ids to batch"), its short name in batch identifiers, and how one document is *resolved* into what
Sage will hold (``tasks.resolved``): its Sage header, its lines and ConnectWise's own totals.
Nothing else re-derives these.

Two facts stay apart: ``has_money`` (documents with money: resolved, priced by the money gate,
reconciled) and ``post_back`` (marked exported in ConnectWise as an accounting batch once Sage
holds them). The accounting kinds have both; a list endpoint (``ListEntity``) neither; a kind
declared in pipelines.yaml (``tasks.declared``) says which it has.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Callable

from tasks.declared import DeclaredEntity
from tasks.declared_paths import value_at
from tasks.errors import ConfigError
from tasks.keys import TEXT_ID_PREFIXES, document_key
from tasks.resolve_purchases import REFERENCE_LIMIT, resolve_expense_bill, resolve_purchase
from tasks.resolve_sales import NUMBER_LIMIT, resolve_invoice
from tasks.resolved import Resolved, ResolveContext, settle_references
from tasks.sage50.protocol import SageFacts
from tasks.sage50.rules import BASE_CURRENCY, UK_TAX_RATES


def _split_ids(text: Any) -> list[int]:
    if isinstance(text, list):
        return [int(x) for x in text]
    return [int(part) for part in str(text or "").split(",") if part.strip()]


def invoice_gl_ids(doc: dict) -> list[int]:
    """Header ``glEntryIds`` (comma-separated) plus every ``detail[].id``."""
    ids = _split_ids(doc.get("glEntryIds"))
    ids += [int(d["id"]) for d in doc.get("detail") or [] if d.get("id") is not None]
    return sorted(set(ids))


def expense_bill_gl_ids(doc: dict) -> list[int]:
    """The bill's own ``id`` plus every int in each ``detail[].id`` list."""
    ids = [int(doc["id"])] if doc.get("id") is not None else []
    for detail in doc.get("detail") or []:
        ids += _split_ids(detail.get("id"))
    return sorted(set(ids))


def purchase_gl_ids(doc: dict) -> list[int]:
    """Every ``purchaseDetail[].id`` and ``purchaseDetailTax[].id`` (the text ``id`` is a label)."""
    ids = [int(d["id"]) for d in doc.get("purchaseDetail") or [] if d.get("id") is not None]
    ids += [int(d["id"]) for d in doc.get("purchaseDetailTax") or [] if d.get("id") is not None]
    return sorted(set(ids))


@dataclass(frozen=True)
class AccountingEntity:
    """A tab of ConnectWise's Accounting Interface (POST /finance/accounting/export)."""

    name: str
    unposted_path: str
    export_flag: str
    included_ids: str
    list_id_field: str
    documents: str
    key_prefix: str
    gl_ids: Callable[[dict], list[int]]
    resolve: Callable[..., Resolved]
    number_field: str
    abbreviation: str                       # in batch identifiers: CWSAGE-INV-…
    reference_limit: int                    # Sage's reference length for this kind
    id_is_text: bool = False
    kind: str = "export"
    has_money: bool = True
    post_back: bool = True
    conditions: str | None = None

    def key(self, doc: dict) -> str:
        """The stable key of a document: the journal's, the quarantine's and Sage's ``Id``."""
        return document_key(self.key_prefix, doc["id"])

    def source_id(self, doc: dict) -> Any:
        return doc["id"]

    def line_count(self, doc: dict) -> int:
        """Invoice and expense ``detail``, ``purchaseDetail``."""
        return len(doc.get("detail") or doc.get("purchaseDetail") or [])


ENTITIES: dict[str, AccountingEntity] = {
    "invoices": AccountingEntity(
        name="invoices", unposted_path="/finance/accounting/unpostedinvoices",
        export_flag="exportInvoicesFlag", included_ids="includedInvoiceIds", list_id_field="id",
        documents="transactions", key_prefix="CW-INV-", gl_ids=invoice_gl_ids,
        resolve=resolve_invoice, number_field="documentNumber", abbreviation="INV",
        reference_limit=NUMBER_LIMIT),
    "expenses": AccountingEntity(
        name="expenses", unposted_path="/finance/accounting/unpostedexpenses",
        export_flag="exportExpensesFlag", included_ids="includedExpenseIds", list_id_field="id",
        documents="expenseBills", key_prefix="CW-EXP-", gl_ids=expense_bill_gl_ids,
        resolve=resolve_expense_bill, number_field="documentNumber", abbreviation="EXP",
        reference_limit=REFERENCE_LIMIT),
    "procurement": AccountingEntity(
        name="procurement", unposted_path="/finance/accounting/unpostedprocurement",
        export_flag="exportProductsFlag", included_ids="includedProductIds",
        list_id_field="unpostedProductId", documents="purchaseTransactions",
        key_prefix=TEXT_ID_PREFIXES[0],
        gl_ids=purchase_gl_ids, resolve=resolve_purchase, number_field="documentNumber",
        abbreviation="PRO", reference_limit=REFERENCE_LIMIT, id_is_text=True),
}


@dataclass(frozen=True)
class ListEntity:
    """Any ConnectWise list endpoint (e.g. /company/companies): one record is one document."""

    name: str
    unposted_path: str
    key_prefix: str
    documents: str = "records"
    list_id_field: str = "id"
    number_field: str = "identifier"
    kind: str = "list"
    has_money: bool = False
    post_back: bool = False
    export_flag: str = ""
    conditions: str | None = None

    def key(self, doc: dict) -> str:
        return document_key(self.key_prefix, doc["id"])

    def source_id(self, doc: dict) -> Any:
        return doc["id"]

    @property
    def abbreviation(self) -> str:
        return self.name[:3].upper()

    def gl_ids(self, doc: dict) -> list[int]:
        return []

    def line_count(self, doc: dict) -> int:
        return 0


ALL_FLAGS = ("exportInvoicesFlag", "exportExpensesFlag", "exportProductsFlag")


def get_entity(name: str) -> AccountingEntity:
    try:
        return ENTITIES[name]
    except KeyError:
        raise ConfigError(f"unknown entity '{name}' — valid values: "
                          f"{', '.join(ENTITIES)}") from None


Entity = AccountingEntity | ListEntity | DeclaredEntity


def entity_for(cfg) -> Entity:
    """The entity an ExtractConfig names: an accounting export, a list endpoint, or a kind
    declared in pipelines.yaml."""
    if cfg.entity:
        return get_entity(cfg.entity)
    if cfg.kind is not None:
        return DeclaredEntity(cfg.kind)
    name = cfg.endpoint.strip("/").split("/")[-1]
    return ListEntity(name=name, unposted_path=cfg.endpoint, key_prefix=cfg.key_prefix,
                      conditions=cfg.conditions)


def resolve_documents(entity: Entity, export: dict,
                      ctx: ResolveContext) -> dict[str, Resolved]:
    """Every document of a chunk, resolved (key → Resolved), references settled across them."""
    if not entity.has_money:
        return {}
    out = {}
    companies = {c.get("id"): c for c in export.get("companies") or [] if isinstance(c, dict)}
    ctx = ctx.with_companies(companies)
    for doc in export.get(entity.documents) or []:
        if isinstance(doc, dict):
            key = entity.key(doc)
            try:
                out[key] = entity.resolve(doc, key, ctx)
            except (ArithmeticError, TypeError, ValueError, AttributeError) as exc:
                out[key] = unreadable(doc, key, entity, exc)
    settle_references(list(out.values()), entity.reference_limit)
    return out


def unreadable(doc: dict, key: str, entity: Entity, exc: Exception) -> Resolved:
    """A document whose money or shape cannot be read is held, never guessed at."""
    held = Resolved(key=key, number=str(value_at(doc, entity.number_field) or "") or None,
                    doc_type="", account=None, date=None, due_date=None, reference=None,
                    full_reference=None, currency=None, exchange_rate=None, lines=[],
                    cw_net=Decimal(0), cw_tax=Decimal(0), cw_gross=Decimal(0),
                    cw_tax_by_code=None)
    held.hold(f"ConnectWise sent a value cwsage cannot read as this document's money or "
              f"lines ({type(exc).__name__}: {str(exc)[:80]})",
              "save the export (cwsage export) and check the document's totals and lines in "
              "ConnectWise; re-close it so ConnectWise regenerates its GL entries")
    return held


def resolve_offline(export: dict, pipeline_spec, facts: SageFacts | None = None
                    ) -> dict[str, Resolved]:
    """Resolve a saved export outside a run: against ``facts``, or a Sage company with the UK
    default tax codes and no exchange rates configured (as a new replica holds them)."""
    facts = facts or SageFacts(UK_TAX_RATES, {}, BASE_CURRENCY)
    return resolve_documents(entity_for(pipeline_spec.extract), export, ResolveContext(
        pipeline_spec.mappings, f"pipelines.{pipeline_spec.name}.mappings", facts))
