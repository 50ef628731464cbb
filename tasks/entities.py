"""The ConnectWise accounting entities this product exports, and the facts about each.

One registry, one place: where the unposted list lives, which export flag and id list select
it, which array of the GLExport holds its documents, how a document's stable key is formed,
which GL entry ids must be batched to post it (connectwise-api.md §4.2), and what ConnectWise
says its totals are (for reconciliation against Sage).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Callable

from tasks.errors import ConfigError


def _dec(value: Any) -> Decimal:
    if value is None or value == "":
        return Decimal("0")
    return Decimal(str(value))


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


def invoice_totals(doc: dict) -> tuple[Decimal, Decimal, Decimal]:
    """(net, VAT, gross) as ConnectWise states them, positive for invoices and credits alike."""
    gross = abs(_dec(doc.get("total")))
    tax_lines = [d for d in doc.get("detail") or [] if (d.get("glTypeId") or "").upper() == "ST"]
    tax = abs(sum((_dec(d.get("total")) for d in tax_lines), Decimal("0")))
    if not tax_lines:
        tax = abs(_dec(doc.get("salesTax")))
    return gross - tax, tax, gross


def expense_bill_totals(doc: dict) -> tuple[Decimal, Decimal, Decimal]:
    gross = abs(_dec(doc.get("total")))
    tax = abs(sum((_dec(d.get("taxAmount")) for d in doc.get("detail") or []), Decimal("0")))
    return gross - tax, tax, gross


def purchase_totals(doc: dict) -> tuple[Decimal, Decimal, Decimal]:
    gross = abs(_dec(doc.get("total")))
    tax = abs(sum((_dec(d.get("total")) for d in doc.get("purchaseDetailTax") or []), Decimal("0")))
    return gross - tax, tax, gross


def allocate_purchase_tax(doc: dict) -> None:
    """Give each purchase line its share of the document's input VAT, in Decimal.

    ConnectWise states the VAT of a purchase once (``purchaseDetailTax``); Sage's audit trail
    takes a VAT amount per split and does not recompute it (R-TAX-4). Each line carrying the
    document's taxed code gets its net × rate rounded half up; the pennies left over go to the
    largest line, so the splits add up to ConnectWise's VAT exactly. The share is written to
    ``cwsageTaxAmount`` on each line (0 on untaxed lines) for the stylesheet to copy.
    """
    from tasks.sage50.money import money
    lines = [d for d in doc.get("purchaseDetail") or [] if isinstance(d, dict)]
    tax_lines = [t for t in doc.get("purchaseDetailTax") or [] if isinstance(t, dict)]
    total_tax = abs(sum((_dec(t.get("total")) for t in tax_lines), Decimal("0")))
    rate = max((_dec(t.get("taxRatePercent")) for t in tax_lines), default=Decimal("0"))
    taxed_code = str(doc.get("stateTaxXref") or "").strip()
    taxed = [d for d in lines if str(d.get("taxCodeXref") or "").strip() == taxed_code
             and total_tax and rate]
    for line in lines:
        line["cwsageTaxAmount"] = Decimal("0.00")
    for line in taxed:
        line["cwsageTaxAmount"] = money(abs(_dec(line.get("total"))) * rate / 100)
    if taxed:
        largest = max(taxed, key=lambda d: abs(_dec(d.get("total"))))
        rest = total_tax - sum((d["cwsageTaxAmount"] for d in taxed), Decimal("0"))
        largest["cwsageTaxAmount"] += rest


def _invoice_type(doc: dict) -> str:
    return "SC" if _dec(doc.get("total")) < 0 else "SI"


def _purchase_type(doc: dict) -> str:
    return "PC" if _dec(doc.get("total")) < 0 else "PI"


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
    totals: Callable[[dict], tuple[Decimal, Decimal, Decimal]]
    doc_type: Callable[[dict], str]
    number_field: str
    id_is_text: bool = False
    prepare: Callable[[dict], None] | None = None
    kind: str = "export"
    postable: bool = True

    def key(self, doc: dict) -> str:
        """The stable key of a document: the journal's, the quarantine's and Sage's ``Id``."""
        return f"{self.key_prefix}{doc['id']}"

    def source_id(self, doc: dict) -> Any:
        return doc["id"]


ENTITIES: dict[str, AccountingEntity] = {
    "invoices": AccountingEntity(
        name="invoices", unposted_path="/finance/accounting/unpostedinvoices",
        export_flag="exportInvoicesFlag", included_ids="includedInvoiceIds", list_id_field="id",
        documents="transactions", key_prefix="CW-INV-", gl_ids=invoice_gl_ids,
        totals=invoice_totals, doc_type=_invoice_type, number_field="documentNumber"),
    "expenses": AccountingEntity(
        name="expenses", unposted_path="/finance/accounting/unpostedexpenses",
        export_flag="exportExpensesFlag", included_ids="includedExpenseIds", list_id_field="id",
        documents="expenseBills", key_prefix="CW-EXP-", gl_ids=expense_bill_gl_ids,
        totals=expense_bill_totals, doc_type=lambda d: "PI", number_field="documentNumber"),
    "procurement": AccountingEntity(
        name="procurement", unposted_path="/finance/accounting/unpostedprocurement",
        export_flag="exportProductsFlag", included_ids="includedProductIds",
        list_id_field="unpostedProductId", documents="purchaseTransactions", key_prefix="CW-PO-",
        gl_ids=purchase_gl_ids, totals=purchase_totals, doc_type=_purchase_type,
        number_field="documentNumber", id_is_text=True, prepare=allocate_purchase_tax),
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
    postable: bool = False
    prepare: Callable[[dict], None] | None = None
    export_flag: str = ""

    def key(self, doc: dict) -> str:
        return f"{self.key_prefix}{doc['id']}"

    def source_id(self, doc: dict) -> Any:
        return doc["id"]

    def gl_ids(self, doc: dict) -> list[int]:
        return []

    def totals(self, doc: dict) -> tuple[Decimal, Decimal, Decimal]:
        return Decimal("0"), Decimal("0"), Decimal("0")

    def doc_type(self, doc: dict) -> str:
        return "RECORD"

ALL_FLAGS = ("exportInvoicesFlag", "exportExpensesFlag", "exportProductsFlag")


def get_entity(name: str) -> AccountingEntity:
    try:
        return ENTITIES[name]
    except KeyError:
        raise ConfigError(f"unknown entity '{name}' — valid values: "
                          f"{', '.join(ENTITIES)}") from None


def entity_for(cfg) -> AccountingEntity | ListEntity:
    """The entity an ExtractConfig names: an accounting export, or a list endpoint."""
    if cfg.entity:
        return get_entity(cfg.entity)
    name = cfg.endpoint.strip("/").split("/")[-1]
    return ListEntity(name=name, unposted_path=cfg.endpoint, key_prefix=cfg.key_prefix)
