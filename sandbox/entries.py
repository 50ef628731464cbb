"""``GET /finance/accounting/batches/{id}/entries``: the GL lines of a batch (``BatchEntry``),
and the GL entry ids of each kind of GLExport document.

Built from the batch's documents as exported: one entry per GL entry id, the amount as a
debit when positive and a credit when negative (ConnectWise's GL sign convention), so the
entries of every document balance.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.listing import Resource

if TYPE_CHECKING:
    from sandbox.data import SandboxData
    from sandbox.state import Batch

FIELDS = frozenset({"id", "accountType", "name", "accountNumber", "debit", "credit", "cost",
                    "item", "salesCode", "costOfGoodsSoldAccountNumber", "invoice",
                    "purchaseOrder", "expense", "_info"})


def entry(gl_id: int, account_type: str, name: str, account: str, amount: float,
          item: str = "", **refs: Any) -> dict:
    return {"id": gl_id, "accountType": account_type, "name": name, "accountNumber": account,
            "debit": amount if amount > 0 else 0.0, "credit": -amount if amount < 0 else 0.0,
            "cost": 0.0, "item": item, "salesCode": "", "costOfGoodsSoldAccountNumber": "",
            **refs}


def invoice_gl_ids(transaction: dict) -> list[int]:
    """Header ``glEntryIds`` plus every ``detail[].id``: the ids that post an invoice."""
    ids = [int(i) for i in transaction["glEntryIds"].split(",") if i.strip()]
    return ids + [int(d["id"]) for d in transaction["detail"]]


def expense_bill_gl_ids(bill: dict) -> list[int]:
    """The bill ``id`` plus every id of every ``detail[].id`` list."""
    return [int(bill["id"])] + [int(i) for d in bill["detail"] for i in d["id"]]


def purchase_gl_ids(purchase: dict) -> list[int]:
    """Every ``purchaseDetail[].id`` and ``purchaseDetailTax[].id``."""
    return [int(d["id"]) for d in purchase["purchaseDetail"]] + \
        [int(d["id"]) for d in purchase["purchaseDetailTax"]]


def invoice_entries(document: dict) -> list[dict]:
    """The entries of one ``GLExportTransaction``: the AR header, then every detail line."""
    ref = {"invoice": {"id": document["id"], "identifier": document["documentNumber"],
                       "billingType": document["billingType"], "applyToType": "All"}}
    name = document["company"]["name"]
    header_ids = [int(i) for i in document["glEntryIds"].split(",")]
    rows = [entry(header_ids[0], "AR", name, document["accountNumber"], document["total"], **ref)]
    rows += [entry(i, "AR", name, document["accountNumber"], 0.0, **ref) for i in header_ids[1:]]
    rows += [entry(d["id"], d["glTypeId"], name, d["accountNumber"], d["total"],
                   d.get("glItemId", ""), **ref) for d in document["detail"]]
    return rows


def bill_entries(bill: dict) -> list[dict]:
    """The entries of one ``GLExportExpenseBill``: the AP credit, then each detail's ids."""
    ref = {"expense": {"id": bill["id"], "identifier": bill["documentNumber"]}}
    name = bill["member"]["name"]
    rows = [entry(bill["id"], "AP", name, bill["apAccountNumber"], -bill["total"], **ref)]
    for detail in bill["detail"]:
        rows.append(entry(detail["id"][0], "EE", name, detail["accountNumber"],
                          detail["total"], **ref))
        rows += [entry(i, "EE", name, detail["accountNumber"], 0.0, **ref)
                 for i in detail["id"][1:]]
    return rows


def purchase_entries(purchase: dict, order_id: int) -> list[dict]:
    """The entries of one ``GLExportPurchaseTransaction`` (``order_id``: its PO's id)."""
    ref = {"purchaseOrder": {"id": order_id, "name": purchase["documentNumber"]}}
    name = purchase["company"]["name"]
    return [entry(line["id"], line["glTypeId"], name, line["accountNumber"], -line["total"],
                  line.get("glItemId", ""), **ref)
            for line in purchase["purchaseDetail"] + purchase["purchaseDetailTax"]]


def batch_entries_resource(data: "SandboxData", batch: "Batch") -> Resource:
    rows: list[dict] = []
    for kind_name, indexes in batch.documents.items():
        kind = data.kinds.get(kind_name)
        for index in indexes if kind else ():
            rows.extend(kind.entries(index))
    rows.sort(key=lambda row: row["id"])
    return Resource("BatchEntry", lambda: range(len(rows)), lambda key, tier: rows[key], FIELDS)
