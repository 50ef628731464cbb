"""Property test of the money path: generated ConnectWise invoices, credit memos and purchases
through ``flows.preview.preview_json``, each document held to the corpus's invariants
(``money_checks``).

The generators write what ConnectWise writes: lines whose total is not quantity × price
(discounts, four-decimal unit prices, prorated quantities), 100 %-discounted lines, lines against
their document (discounts on invoices, charges inside credits, rebates on purchases), tax codes
mixed among T0/T1/T5/T9 with ConnectWise's VAT computed once per code on the code's net and
rounded half up (one ST line per code on invoices, one tax line per rate on purchases), credit
memos and returns with every sign flipped, lines that inherit the document's code, and long
supplier invoice numbers that share their first ten characters. A few documents are in EUR,
for which the shipped spec configures no rate: those must be blocked with a fix naming
``currency_rates``; every GBP document must post (ready or warning) and keep ConnectWise's money.

The spec is the shipped pipelines.yaml with T5 mapped (it ships without T5). Deterministic
(``derandomize``) and sized for CI; CWSAGE_PROPERTY_EXAMPLES raises the count locally.
"""

from __future__ import annotations

import copy
import os
import tempfile
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir

from tests.tasks import money_checks as mc

pytestmark = pytest.mark.slow
# Hypothesis caches what it learns of the source in .hypothesis/; keep that out of the work tree.
set_hypothesis_home_dir(os.environ.get("HYPOTHESIS_STORAGE_DIRECTORY")
                        or str(Path(tempfile.gettempdir()) / "cwsage-hypothesis"))

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = int(os.environ.get("CWSAGE_PROPERTY_EXAMPLES", "40"))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
T5_OVERLAY = {"mappings": {"tax_codes": {"T5": 5}}}
CW_ENV = ("CW_BASE_URL", "CW_COMPANY", "CW_PUBLIC_KEY", "CW_PRIVATE_KEY", "CW_CLIENT_ID")
ONE, ZERO = Decimal(1), Decimal(0)

GBP = {"id": 1, "name": "Pound Sterling", "currencyCode": "GBP"}
EUR = {"id": 2, "name": "Euro", "currencyCode": "EUR"}
TAX_REF = {"T1": {"id": 11, "name": "Standard VAT"}, "T5": {"id": 13, "name": "Reduced VAT"},
           "T0": {"id": 14, "name": "Zero Rated"}, "T9": {"id": 12, "name": "Outside Scope"}}
CUSTOMERS = {"SMITHJ01": (1017, "SmithJones", "Smith & Jones Solicitors LLP"),
             "BRIGHT01": (1023, "BrightsideDental", "Brightside Dental Care Ltd")}
VENDORS = {"WESTCO01": (205, "Westcoast", "Westcoast Ltd"),
           "INGRAM01": (207, "IngramMicroUK", "Ingram Micro (UK) Ltd")}
PRODUCTS = [("FW-TZ270", 743, "SonicWall TZ270 firewall appliance"),
            ("PHN-YEA-T54W", 520, "Yealink T54W desk phone"),
            ("HS-JAB-E240", 530, "Jabra Evolve2 40 headset"),
            ("UBNT-U6-LITE", 702, "Ubiquiti UniFi U6 Lite access point")]
SERVICES = {"4001": "Managed Services Agreement - October 2026",
            "4002": "Remote support - mailbox migration", "4900": "Courier recharge"}


@pytest.fixture(scope="module")
def spec_path(tmp_path_factory):
    """The shipped spec with T5 mapped in the invoices and procurement pipelines."""
    folder = tmp_path_factory.mktemp("spec")
    spec = mc.spec_with_overlay(REPO / "pipelines.yaml", "invoices", T5_OVERLAY, folder / "a")
    return mc.spec_with_overlay(spec, "procurement", T5_OVERLAY, folder)


@pytest.fixture(scope="module")
def preview(tmp_path_factory):
    """``preview_json`` with placeholder ConnectWise settings and a throwaway $CWSAGE_HOME."""
    with pytest.MonkeyPatch.context() as mp:
        for name in CW_ENV:
            mp.setenv(name, f"test-{name.lower()}")
        mp.setenv("CW_BASE_URL", "http://127.0.0.1:9/v4_6_release/apis/3.0")
        mp.setenv("CWSAGE_HOME", str(tmp_path_factory.mktemp("home")))
        from flows.preview import preview_json        # ImportError until the lead lands it
        yield preview_json


def num(value: Decimal):
    return int(value) if value == value.to_integral_value() else float(value)


# -- strategies --------------------------------------------------------------------------------
money_pence = st.integers(1, 250_000).map(lambda p: Decimal(p) / 100)
four_dp_price = st.integers(1, 99_999).map(lambda p: Decimal(p) / 10_000)
quantities = st.one_of(st.integers(1, 40).map(Decimal),
                       st.sampled_from(["0.25", "0.5", "1.75", "7.5", "0.1", "0.55"]).map(Decimal))
discounts = st.sampled_from(["0", "0", "0", "0", "5", "10", "12.5", "33.33", "100"]).map(Decimal)
invoice_codes = st.sampled_from(["T1", "T1", "T1", "T0", "T5", "T9"])


@st.composite
def invoice_line(draw) -> dict:
    code = draw(invoice_codes)
    account = "4900" if code == "T9" else draw(st.sampled_from(["4000", "4000", "4001", "4002"]))
    qty = draw(quantities)
    price = draw(st.one_of(money_pence, money_pence, four_dp_price))
    net = mc.round_half_up(qty * price * (100 - draw(discounts)) / 100)
    against = draw(st.sampled_from([False] * 6 + [True]))
    product = draw(st.sampled_from(PRODUCTS)) if account == "4000" else None
    return {"code": code, "account": account, "qty": qty, "price": price,
            "net": -net if against else net, "product": product,
            "own_code": not (code == "T1" and draw(st.booleans()))}


def _keep_codes_positive(lines: list[dict]) -> None:
    """A code whose lines add up to nothing or less turns its lines with the document."""
    for code in {line["code"] for line in lines}:
        if sum((ln["net"] for ln in lines if ln["code"] == code), ZERO) <= 0:
            for ln in lines:
                if ln["code"] == code:
                    ln["net"] = abs(ln["net"])


@st.composite
def invoice_document(draw, index: int) -> dict:
    lines = draw(st.lists(invoice_line(), min_size=1, max_size=7))
    _keep_codes_positive(lines)
    assume(sum((ln["net"] for ln in lines), ZERO) > 0)
    eur = draw(st.sampled_from([False] * 9 + [True]))
    return {"index": index, "lines": lines, "credit": draw(st.booleans()),
            "account": "DUBLIN01" if eur else draw(st.sampled_from(sorted(CUSTOMERS))),
            "currency": "EUR" if eur else "GBP"}


@st.composite
def purchase_line(draw, header: str) -> dict:
    code = draw(st.sampled_from(["T1", "T1", "T1", "T0", "T5", "T9"]))
    qty = Decimal(draw(st.integers(1, 40)))
    cost = Decimal(draw(st.integers(1, 200_000))) / 100
    off = Decimal(draw(st.sampled_from(["0", "0", "0", "5", "10", "15"])))
    net = mc.round_half_up(qty * cost * (100 - off) / 100)
    assume(net > 0)
    return {"code": code, "account": "5000", "qty": qty, "cost": cost, "net": net,
            "product": draw(st.sampled_from(PRODUCTS)),
            "own_code": not (code == header and draw(st.booleans()))}


@st.composite
def purchase_document(draw, index: int) -> dict:
    header = draw(st.sampled_from(["T1", "T1", "T1", "T0"]))
    lines = draw(st.lists(purchase_line(header), min_size=1, max_size=5))
    if draw(st.booleans()):
        carriage = Decimal(draw(st.integers(100, 5_000))) / 100
        lines.append({"code": header, "account": "5100", "qty": ONE, "cost": carriage,
                      "net": carriage, "product": None, "own_code": draw(st.booleans())})
    if draw(st.sampled_from([False, False, True])):     # a rebate or restocking fee
        home = draw(st.sampled_from([ln for ln in lines if ln["account"] == "5000"]))
        most = max(int(home["net"] * 100) // 2, 1)
        amount = Decimal(draw(st.integers(1, most))) / 100
        if amount < home["net"]:
            lines.append({**home, "qty": ONE, "cost": amount, "net": -amount, "product": None,
                          "own_code": True})
    eur = draw(st.sampled_from([False] * 9 + [True]))
    long_ref = draw(st.booleans())
    return {"index": index, "header": header, "lines": lines, "ret": draw(st.booleans()),
            "vendor": draw(st.sampled_from(sorted(VENDORS))), "currency": "EUR" if eur else "GBP",
            "vendor_invoice": f"SI-2026-00{12300 + index}" if long_ref else f"INV-{700100 + index}"}


def exports(document, size=3, least=1):
    """Between ``least`` and ``size`` documents of one export, numbered from 0."""
    return st.integers(least, size).flatmap(
        lambda n: st.tuples(*[document(index) for index in range(n)]))


# -- ConnectWise documents from the drawn values -----------------------------------------------
def vat_by_code(lines: list[dict]) -> dict[str, Decimal]:
    nets: dict[str, Decimal] = {}
    for ln in lines:
        nets[ln["code"]] = nets.get(ln["code"], ZERO) + ln["net"]
    return {code: mc.vat_on(net, code) for code, net in nets.items() if mc.SAGE_RATES[code] > 0}


def build_invoice(doc: dict) -> tuple[dict, dict]:
    """A GLExportTransaction, and the money ConnectWise states for it."""
    n, credit = doc["index"], doc["credit"]
    way = ONE if credit else -ONE                       # a line with the document, as written
    company_id, identifier, name = CUSTOMERS.get(doc["account"], (1019, "DublinData",
                                                                  "Dublin Data Services Ltd"))
    currency = GBP if doc["currency"] == "GBP" else EUR
    gl = iter(range(500_000 + n * 100, 500_000 + n * 100 + 100))
    header_ids = [next(gl), next(gl)]
    common = {"currency": currency, "documentDate": "2026-10-20T00:00:00Z",
              "documentType": "CREDITMEMO" if credit else "INVOICE", "glClass": ""}
    detail = []
    for ln in doc["lines"]:
        sku, item_id, text = ln["product"] or ("", None, SERVICES.get(ln["account"],
                                                                       "Project work"))
        taxable = ln["code"] in ("T1", "T5")
        row = {"id": next(gl), "glTypeId": "RP", **common, "accountNumber": ln["account"],
               "productAccountNumber": ln["account"], "glItemId": sku,
               "itemDescription": text, "salesDescription": text, "memo": text,
               "quantity": num(ln["qty"] * (way if ln["net"] >= 0 else -way)),
               "itemPrice": num(ln["price"]), "total": num(ln["net"] * way), "taxRate": 0,
               "taxableFlag": taxable, "itemTaxableFlag": taxable,
               "taxLevels": [{"taxLevel": 1, "taxableFlag": taxable}]}
        if sku:
            row["item"] = {"id": item_id, "identifier": sku}
        if ln["own_code"] or doc["currency"] != "GBP":   # only T1 lines inherit (from T1)
            row["taxCodeXref"] = ln["code"]
        detail.append(row)
    vats = vat_by_code(doc["lines"])
    for code, vat in sorted(vats.items()):
        if vat:
            level = 2 if code == "T5" else 1
            detail.append({"id": next(gl), "glTypeId": "ST", **common, "accountNumber": "2200",
                           "glItemId": "", "itemDescription": "Sales Tax", "memo": "Sales Tax",
                           "description": f"Level {level} Sales Tax", "quantity": 0,
                           "total": num(vat * way), "taxCodeXref": code,
                           "taxRate": float(mc.SAGE_RATES[code] / 100),
                           "taxRatePercent": num(mc.SAGE_RATES[code]), "taxNote": "AUTOSTAX"})
    net = sum((ln["net"] for ln in doc["lines"]), ZERO)
    tax = sum(vats.values(), ZERO)
    h = -way                                            # header money carries the header's sign
    header_code = "T0" if doc["currency"] == "EUR" else "T1"
    record = {"id": 5900 + n, "glTypeId": "AR", "documentType": common["documentType"],
              "documentNumber": str(19000 + n), "documentDate": common["documentDate"],
              "dueDate": "2026-11-19T00:00:00Z", "billingType": "CreditMemo" if credit
              else "Standard", "company": {"id": company_id, "identifier": identifier,
                                           "name": name},
              "companyType": {"id": 1, "name": "Client"}, "companyAccountNumber": doc["account"],
              "accountNumber": "1100", "glEntryIds": ",".join(map(str, header_ids)),
              "currency": currency, "total": num((net + tax) * h),
              "taxable": header_code == "T1", "salesTax": num(tax * h),
              "stateTax": num(vats.get("T1", ZERO) * h), "countyTax": num(vats.get("T5", ZERO) * h),
              "cityTax": None, "taxGroupRate": 0.2 if header_code == "T1" else None,
              "taxAccountNumber": "2200", "stateTaxXref": header_code,
              "countyTaxXref": "T5" if "T5" in vats else "", "taxCode": TAX_REF[header_code],
              "taxLevels": [{"taxLevel": 2 if code == "T5" else 1, "taxCodeXref": code,
                             "taxAmount": num(vat * h)} for code, vat in sorted(vats.items())],
              "detail": detail}
    return record, {"net": net, "tax": tax, "gross": net + tax}


def build_purchase(doc: dict) -> tuple[dict, dict]:
    """A GLExportPurchaseTransaction, and the money ConnectWise states for it."""
    n, ret, header = doc["index"], doc["ret"], doc["header"]
    way = ONE if ret else -ONE
    vendor_id, identifier, name = VENDORS[doc["vendor"]]
    currency = GBP if doc["currency"] == "GBP" else EUR
    common = {"documentDate": "2026-10-14T00:00:00Z", "currency": currency,
              "vendorAccountNumber": doc["vendor"], "vendorNumber": "", "glClass": ""}
    gl = iter(range(82_000_000 + n * 50, 82_000_000 + n * 50 + 50))
    detail = []
    by_rate: dict[Decimal, Decimal] = {}
    for number, ln in enumerate(doc["lines"], start=1):
        sku, item_id, text = ln["product"] or ("", None, "Freight" if ln["account"] == "5100"
                                               else "Rebate")
        rate = mc.SAGE_RATES[ln["code"]]
        row = {"id": next(gl), **common, "glTypeId": "RP", "glItemId": sku,
               "description": text, "memo": text, "accountNumber": ln["account"],
               "costAccountNumber": ln["account"], "itemDescription": text,
               "taxable": rate > 0, "itemCost": num(ln["cost"]), "cost": num(abs(ln["net"])),
               "quantity": num(ln["qty"] * (way if ln["net"] >= 0 else -way)),
               "total": num(ln["net"] * way), "lineNumber": number, "taxRate": 0}
        if sku:
            row["item"] = {"id": item_id, "identifier": sku}
        if ln["own_code"]:
            row["taxCodeXref"] = ln["code"]
        detail.append(row)
        if rate > 0:
            by_rate[rate] = by_rate.get(rate, ZERO) + ln["net"]
    taxes = []
    tax = ZERO
    for rate, base in sorted(by_rate.items(), reverse=True):
        vat = mc.round_half_up(base * rate / 100)
        tax += vat
        if vat:
            taxes.append({"id": next(gl), **common, "glTypeId": "ST", "glItemId": "",
                          "description": f"Level {1 if rate == 20 else 2} Sales Tax",
                          "memo": "Sales Tax", "taxNote": "AUTOSTAX", "accountNumber": "2201",
                          "quantity": 0, "total": num(vat * way), "taxableFlag": True,
                          "taxRate": float(rate / 100), "taxRatePercent": num(rate)})
    net = sum((ln["net"] for ln in doc["lines"]), ZERO)
    freight = sum((ln["net"] for ln in doc["lines"] if ln["account"] == "5100"), ZERO)
    po = str(4900 + n)
    record = {"id": f"PO #{po}, Packing Slip: {po}", "documentNumber": po,
              "documentDate": common["documentDate"], "purchaseDate": common["documentDate"],
              "vendorInvoiceNumber": doc["vendor_invoice"],
              "vendorInvoiceDate": common["documentDate"], "vendorNumber": "",
              "vendorAccountNumber": doc["vendor"],
              "company": {"id": vendor_id, "identifier": identifier, "name": name},
              "companyType": {"id": 5, "name": "Vendor"}, "apAccountNumber": "2100",
              "total": num((net + tax) * -way), "freightAmount": num(abs(freight)),
              "currency": currency, "taxCode": TAX_REF[header], "stateTaxXref": header,
              "taxGroupRate": float(mc.SAGE_RATES[header] / 100) or None,
              "purchaseHeaderTaxableFlag": header == "T1",
              "taxLevels": [{"taxCodeXref": header, "taxLevel": 1}],
              "packingSlip": po, "memo": f"PO {po} " + ("returned" if ret else "received"),
              "purchaseDetail": detail, "purchaseDetailTax": taxes}
    return record, {"net": net, "tax": tax, "gross": net + tax}


def glexport(**sections) -> dict:
    base = {name: [] for name in mc.GLEXPORT_LISTS}
    return {"exportSettings": {}, **base, "companies": [], **sections}


def invoice_export(docs) -> tuple[dict, list[dict]]:
    records, money = zip(*(build_invoice(doc) for doc in docs))
    accounts = sorted({doc["account"] for doc in docs})
    customers, companies = [], []
    for account in accounts:
        company_id, identifier, name = CUSTOMERS.get(account, (1019, "DublinData",
                                                               "Dublin Data Services Ltd"))
        eur = account == "DUBLIN01"
        customers.append({"company": {"id": company_id, "identifier": identifier, "name": name},
                          "accountNumber": account, "taxable": not eur,
                          "currency": EUR if eur else GBP, "stateTaxXref": "T0" if eur else "T1",
                          "stateTaxRate": 0 if eur else 20, "taxGroupRate": None})
        companies.append({"id": company_id, "identifier": identifier, "name": name,
                          "accountNumber": account, "addressLine1": "1 High Street",
                          "city": "Dublin 2" if eur else "Leeds",
                          "country": {"id": 3 if eur else 1, "identifier": "IE" if eur else "GB"}})
    return glexport(transactions=list(records), customers=customers, companies=companies), \
        list(money)


def purchase_export(docs) -> tuple[dict, list[dict]]:
    records, money = zip(*(build_purchase(doc) for doc in docs))
    vendors, companies = [], []
    for code in sorted({doc["vendor"] for doc in docs}):
        vendor_id, identifier, name = VENDORS[code]
        ref = {"id": vendor_id, "identifier": identifier, "name": name}
        vendors.append({"vendor": ref, "company": ref, "vendorNumber": "", "accountNumber": code,
                        "dueDays": 30, "taxCode": TAX_REF["T1"]})
        companies.append({**ref, "accountNumber": "", "vendorIdentifier": code,
                          "addressLine1": "Arrowhead Road", "city": "Reading",
                          "country": {"id": 1, "identifier": "GB"}, "currency": GBP})
    return glexport(purchaseTransactions=list(records), vendors=vendors,
                    companies=companies), list(money)


# -- the property ------------------------------------------------------------------------------
def judge(pipeline: str, report: dict, export: dict, docs: list[dict],
          money: list[dict]) -> list[str]:
    problems = mc.report_problems(report, pipeline, export)
    by_number = {str(d.get("number")): d for d in report.get("documents") or []}
    records = export[mc.SECTIONS[pipeline]]
    for doc, record, stated in zip(docs, records, money):
        got = by_number.get(str(record["documentNumber"]))
        if got is None:
            problems.append(f"no report document numbered {record['documentNumber']}")
            continue
        key = got.get("key")
        cw = got.get("connectwise") or {}
        for field in ("net", "tax", "gross"):
            if cw.get(field) != mc.money_text(stated[field]):
                problems.append(f"{key}: ConnectWise {field} read as {cw.get(field)}, the "
                                f"document states {mc.money_text(stated[field])}")
        if doc["currency"] == "GBP" and got.get("status") not in mc.POSTS:
            problems.append(f"{key}: a sound GBP document is {got.get('status')}: "
                            f"{mc.reason_texts(got)}")
        if doc["currency"] != "GBP" and (got.get("status") != "blocked"
                                         or not mc.fix_mentions(got, "currency_rates")):
            problems.append(f"{key}: a EUR document without a configured rate is "
                            f"{got.get('status')}, not blocked with a currency_rates fix")
    return problems


@SETTINGS
@given(docs=exports(invoice_document))
def test_invoices_and_credit_memos_keep_connectwise_money(docs, preview, spec_path):
    export, money = invoice_export(docs)
    consistency = mc.export_problems("invoices", export)
    assert not consistency, consistency                    # the generator's own bug, if any
    report = preview(str(spec_path), "invoices", copy.deepcopy(export))
    problems = judge("invoices", report, export, list(docs), money)
    assert not problems, "\n".join(problems)


@SETTINGS
@given(docs=exports(purchase_document))
def test_purchases_and_returns_keep_connectwise_money(docs, preview, spec_path):
    export, money = purchase_export(docs)
    consistency = mc.export_problems("procurement", export)
    assert not consistency, consistency
    report = preview(str(spec_path), "procurement", copy.deepcopy(export))
    problems = judge("procurement", report, export, list(docs), money)
    ready = [d for d in report["documents"] if d.get("status") in mc.POSTS]
    refs = [d["sage"]["reference"] for d in ready]
    if len(set(refs)) != len(refs):
        problems.append(f"documents of one export share a Sage reference: {refs}")
    assert not problems, "\n".join(problems)
