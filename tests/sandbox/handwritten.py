"""Hand-written GLExport documents for the ``--documents`` tests (GL ids below 100,000)."""

from __future__ import annotations

import copy

GBP = {"id": 1, "name": "Pound Sterling", "symbol": "£", "currencyCode": "GBP"}
VAT = {"id": 11, "name": "Standard VAT"}
NORTHWIND = {"id": 9901, "identifier": "Northwind", "name": "Northwind Traders Ltd"}
SMITH_JONES = {"id": 1001, "identifier": "SmithJonesSolicitors",
               "name": "Smith & Jones Solicitors LLP"}
ACME = {"id": 9801, "identifier": "Acme", "name": "Acme Supplies Ltd"}
JANE = {"id": 901, "identifier": "JDoe", "name": "Jane Doe"}
PRIYA = {"id": 101, "identifier": "PShah", "name": "Priya Shah"}


def invoice(doc_id: int = 9001, company: dict = NORTHWIND, price: float = 120.0,
            gl: int = 1000, credit: bool = False, with_tax_line: bool = True) -> dict:
    """One T1 product line of ``price`` (unsigned) and its 20 % VAT line; GL ids from ``gl``."""
    sign, vat = (1 if credit else -1), round(price * 0.2, 2)
    vat = vat if with_tax_line else 0.0
    detail = [{"id": gl + 2, "glTypeId": "RP", "accountNumber": "4000", "glItemId": "X-1",
               "item": {"id": 1, "identifier": "X-1"}, "quantity": sign * 2,
               "itemPrice": price / 2, "total": sign * price,
               "taxCodeXref": "T1" if with_tax_line else "T0", "currency": GBP}]
    if with_tax_line:
        detail.append({"id": gl + 3, "glTypeId": "ST", "accountNumber": "2200", "quantity": 0,
                       "itemPrice": 0.0, "total": sign * vat, "taxCodeXref": "T1",
                       "taxNote": "AUTOSTAX", "currency": GBP})
    header = -sign
    return {"id": doc_id, "glTypeId": "AR", "documentType": "CREDITMEMO" if credit else "INVOICE",
            "documentNumber": f"HW-{doc_id}", "documentDate": "2026-10-15T00:00:00Z",
            "dueDate": "2026-11-14T00:00:00Z", "memo": "Hand-written", "company": company,
            "companyAccountNumber": "", "accountNumber": "1100",
            "billingType": "CreditMemo" if credit else "Standard", "salesTerritory": "Leeds",
            "glEntryIds": f"{gl},{gl + 1}", "currency": GBP, "taxCode": VAT, "taxable": True,
            "total": round(header * (price + vat), 2), "taxableTotal": header * price,
            "salesTax": header * vat, "stateTax": header * vat, "taxableAmount1": header * price,
            "taxLevels": [{"taxLevel": 1, "taxCodeXref": "T1", "taxableAmount": header * price,
                           "taxAmount": header * vat}],
            "detail": detail}


def bill(bill_id: int = 2000, member: dict = JANE, gross: float = 60.0) -> dict:
    return {"id": bill_id, "documentDate": "2026-10-18T00:00:00Z",
            "documentType": "GENERAL JOURNAL", "documentNumber": f"HW-EXP-{bill_id}",
            "memo": "Expenses", "apAccountNumber": "2100", "member": member,
            "vendorNumber": "EMPDOEJ", "currency": GBP, "total": gross,
            "detail": [{"id": [bill_id + 1, bill_id + 2], "glTypeId": "EE", "memo": "Hotel",
                        "accountNumber": "7402", "expenseType": {"id": 3, "name": "Hotel"},
                        "total": gross, "taxCodeXref": "T1", "taxAmount": round(gross / 6, 2),
                        "billable": True, "reimbursable": True, "companyAdvance": False,
                        "currency": GBP}]}


def purchase(number: int = 9001, gl: int = 3000) -> dict:
    return {"id": f"PO #{number}, Packing Slip: {number}", "documentNumber": str(number),
            "documentDate": "2026-10-10T00:00:00Z", "company": ACME,
            "vendorAccountNumber": "ACME01", "apAccountNumber": "2100", "total": 120.0,
            "freightAmount": 0.0, "currency": GBP, "purchaseHeaderTaxableFlag": True,
            "purchaseDetail": [{"id": gl, "glTypeId": "RP", "accountNumber": "5000",
                                "vendorAccountNumber": "ACME01", "quantity": -2,
                                "itemCost": 50.0, "total": -100.0, "taxCodeXref": "T1"}],
            "purchaseDetailTax": [{"id": gl + 1, "glTypeId": "ST", "accountNumber": "2201",
                                   "total": -20.0}]}


def documents() -> dict:
    """Two invoices (a new client, a seeded one), a credit memo, two bills (a new member, a
    seeded one), a purchase from a new supplier, and the new client's company record."""
    return copy.deepcopy({
        "transactions": [invoice(), invoice(9002, SMITH_JONES, 50.0, 1010),
                         invoice(9003, NORTHWIND, 30.0, 1020, credit=True)],
        "expenseBills": [bill(), bill(2010, PRIYA, 90.0)],
        "purchaseTransactions": [purchase()],
        "companies": [{"id": 9901, "name": "Northwind Traders Ltd", "addressLine1": "1 Quay St",
                       "city": "Newcastle upon Tyne", "zip": "NE1 3AF", "accountNumber": ""}]})
