"""The stylesheets of the purchase side and of customers against a saved ConnectWise export:
the quarantine and the mapping rules that matter. Each pipeline's golden Sage XML is compared
in tests/contract/test_pipeline_contract.py."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from lxml import etree

from flows.spec import load_spec
from tasks.chunks import read_chunk
from tasks.entities import ENTITIES
from tasks.transform import transform_export
from tasks.validate import validate_export

ROOT = Path(__file__).resolve().parents[2]
CONTROL = ["1100", "2100", "2200", "2201", "2202"]


def outcome(pipeline: str):
    spec = load_spec(ROOT / "pipelines.yaml", need_connection=False).pipeline(pipeline)
    export = read_chunk(ROOT / "tests" / "fixtures" / f"{pipeline}-export.json")
    checked = validate_export(export, spec, CONTROL)
    result = transform_export(export, spec, checked.valid, 1)
    return export, checked, result, etree.fromstring(result.xml)


def test_expenses_mapping():
    export, checked, result, doc = outcome("expenses")
    reasons: dict[str, str] = {}
    for f in checked.findings:
        reasons[f.key] = reasons.get(f.key, "") + f.reason + "\n"
    assert "member Tom Reid has no Vendor Nbr" in reasons["CW-EXP-60000016"]
    assert "'7999'" in reasons["CW-EXP-60000032"]
    assert "is in EUR" in reasons["CW-EXP-60000144"]
    assert any("non-reimbursable" in r for r in reasons.values())
    bills = {b["id"]: b for b in export["expenseBills"]}
    for key in result.keys:
        bill = bills[int(key.removeprefix("CW-EXP-"))]
        splits = doc.xpath(f"Transactions/Transaction[SecondReference='{key}']")
        assert len(splits) == len(bill["detail"])
        gross = sum(Decimal(s.findtext("NetAmount")) + Decimal(s.findtext("TaxAmount"))
                    for s in splits)
        assert gross == Decimal(str(bill["total"])).quantize(Decimal("0.01"))
        refs = {(s.findtext("AccountReference"), s.findtext("Reference")) for s in splits}
        assert len(refs) == 1 and len(next(iter(refs))[1]) <= 10
    positions = [t.findtext("SecondReference") for t in doc.iter("Transaction")]
    assert positions == sorted(positions, key=positions.index)       # splits of a bill adjacent
    for t in doc.iter("Transaction"):
        assert t.findtext("TaxAmount") and t.findtext("TransactionType") == "PurchaseInvoice"
        assert t.findtext("Id").isdigit() and len(t.findtext("Id")) <= 8


def test_procurement_mapping():
    export, checked, result, doc = outcome("procurement")
    reasons = {f.key: f for f in checked.findings}
    cheapo = [f for f in checked.findings if "Cheapo Cables Direct" in f.reason]
    assert cheapo and cheapo[0].fix.startswith("set a Vendor ID on company Cheapo Cables Direct")
    assert any(f.value == "5999" for f in reasons.values())
    docs = {ENTITIES["procurement"].key(d): d for d in export["purchaseTransactions"]}
    kinds = set()
    for key in result.keys:
        source = docs[key]
        splits = doc.xpath("Transactions/Transaction[SecondReference=$k]", k=key)
        kinds |= {s.findtext("TransactionType") for s in splits}
        tax = sum(Decimal(s.findtext("TaxAmount")) for s in splits)
        cw_tax = abs(sum(Decimal(str(t["total"])) for t in source.get("purchaseDetailTax") or []))
        assert tax == cw_tax                                    # VAT allocated to the penny
        net = sum(Decimal(s.findtext("NetAmount")) for s in splits)
        assert net + tax == abs(Decimal(str(source["total"])))
    assert kinds == {"PurchaseInvoice", "PurchaseCredit"}       # a return becomes a credit
    assert doc.xpath("count(Transactions/Transaction[NominalCode='5100'])") >= 1   # carriage


def test_customers_mapping():
    export, checked, result, doc = outcome("customers")
    assert checked.quarantined == ["CW-CO-1013"]                # Angry Fox: no Account Number
    assert len(result.keys) == len(export["records"]) - 1
    for customer in doc.iter("Customer"):
        assert customer.findtext("Id").startswith("CW-CO-")
        assert customer.findtext("AccountReference").isupper() or \
            customer.findtext("AccountReference").isalnum()


def test_a_supplier_takes_its_own_currency_not_that_of_its_first_purchase():
    """Sage fixes an account's currency when it is created: a GBP vendor whose first purchase
    in the chunk is in EUR must still be created in GBP."""
    spec = load_spec(ROOT / "pipelines.yaml", need_connection=False).pipeline("procurement")
    export = json.loads((ROOT / "tests" / "fixtures" / "procurement-export.json").read_text())
    first = export["purchaseTransactions"][0]
    first["currency"] = {"id": 2, "currencyCode": "EUR"}
    vendor = first["company"]["id"]
    company = next(c for c in export["companies"] if c["id"] == vendor)
    assert company["currency"]["currencyCode"] == "GBP"
    xml = etree.fromstring(transform_export(export, spec, [
        ENTITIES["procurement"].key(d) for d in export["purchaseTransactions"]], 1).xml)
    supplier = xml.xpath("Suppliers/Supplier[Id=$id]", id=f"CW-VEN-{vendor}")[0]
    assert supplier.findtext("Currency") == "GBP"
