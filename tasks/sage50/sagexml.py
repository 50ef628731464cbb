"""Read the Sage 50 UK XML (Zynk schema) that cwsage's stylesheets produce into typed records.

Only the collections cwsage emits are understood: ``Customers``, ``Suppliers``, ``Invoices`` and
``Transactions``. Values stay as the text the XML carries (``None`` when the element is absent or
``xsi:nil``, ``""`` when it is empty); ``rules.py`` turns them into numbers and dates and says what
is wrong, so one bad document never stops the others. Transaction splits are grouped into Sage
headers by Zynk's adjacency rule (docs/sage50-rules.md, "R-GRP-1").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial

from lxml import etree

from tasks.errors import LoadError

XSI_NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"
COLLECTIONS = {"Customers": "Customer", "Suppliers": "Supplier",
               "Invoices": "Invoice", "Transactions": "Transaction"}
ACCOUNT_KINDS = {"Customer": "customer", "Supplier": "supplier"}


@dataclass(slots=True)
class Address:
    company: str | None = None
    address1: str | None = None
    address2: str | None = None
    address3: str | None = None
    town: str | None = None
    county: str | None = None
    postcode: str | None = None
    country: str | None = None
    telephone: str | None = None
    fax: str | None = None
    email: str | None = None
    website: str | None = None
    contact: str | None = None          # Forename/Surname joined, as Zynk builds CONTACT_NAME


@dataclass(slots=True)
class Account:
    kind: str                           # "customer" | "supplier"
    key: str                            # <Id>, or "Customer[3]" when the Id is missing
    has_id: bool
    account_ref: str | None
    name: str | None
    address: Address
    currency: str | None
    payment_days: str | None
    tax_code: str | None
    nominal_code: str | None
    vat_number: str | None
    terms: str | None
    credit_limit: str | None
    element: etree._Element


@dataclass(slots=True)
class Item:
    number: int                         # 1-based position on the invoice
    sku: str | None
    name: str | None
    description: str | None
    qty: str | None
    unit_price: str | None
    nominal_code: str | None
    tax_code: str | None
    negative: str | None


@dataclass(slots=True)
class Invoice:
    key: str
    has_id: bool
    account_ref: str | None
    invoice_type: str | None
    invoice_number: str | None
    invoice_date: str | None
    due_date: str | None
    order_number: str | None            # CustomerOrderNumber
    taken_by: str | None
    currency: str | None
    foreign_rate: str | None            # ForeignRate: foreign units per base unit
    address: Address
    items: list[Item]
    element: etree._Element


@dataclass(slots=True)
class Split:
    split_id: str | None
    transaction_type: str | None
    account_ref: str | None
    date: str | None
    due_date: str | None
    reference: str | None
    second_reference: str | None
    nominal_code: str | None
    details: str | None
    net: str | None
    tax_code: str | None
    tax_amount: str | None
    currency: str | None
    extra_ref: str | None               # PaymentReference
    exchange_rate: str | None           # ExchangeRate: foreign units per base unit
    element: etree._Element


@dataclass(slots=True)
class TransactionGroup:
    key: str                            # SecondReference, or "Transaction[5]" when it is missing
    splits: list[Split] = field(default_factory=list)


@dataclass(slots=True)
class CompanyXml:
    root: etree._Element
    accounts: list[Account]
    invoices: list[Invoice]
    transactions: list[TransactionGroup]

    def document_count(self) -> int:
        return len(self.accounts) + len(self.invoices) + len(self.transactions)


def parse_for(xml: bytes | str, source: str) -> "CompanyXml":
    """``parse_company``, with the load's source named in the error."""
    try:
        return parse_company(xml)
    except LoadError as exc:
        raise LoadError(f"{source}: {exc}") from exc


def parse_company(xml: bytes | str) -> CompanyXml:
    """Parse one ``<Company>`` document; raise ``LoadError`` when it cannot be read at all."""
    if isinstance(xml, str):
        xml = xml.encode("utf-8")
    root = _parse_root(xml)
    accounts, invoices, splits = [], [], []
    for coll in root:
        if not isinstance(coll.tag, str):
            continue
        child_tag = COLLECTIONS.get(coll.tag)
        if child_tag is None:
            raise LoadError(f"Company/{coll.tag} is not a collection cwsage's Sage writers load "
                            f"(expected {', '.join(COLLECTIONS)}) — fix the stylesheet output")
        for n, el in enumerate((e for e in coll if e.tag == child_tag), start=1):
            if child_tag in ACCOUNT_KINDS:
                accounts.append(_account(el, child_tag, n))
            elif child_tag == "Invoice":
                invoices.append(_invoice(el, n))
            else:
                splits.append((n, _split(el)))
    return CompanyXml(root, accounts, invoices, group_splits(splits))


def _parse_root(xml: bytes) -> etree._Element:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                             remove_comments=True, remove_pis=True, huge_tree=False)
    try:
        root = etree.fromstring(xml, parser)
    except etree.XMLSyntaxError as exc:
        raise LoadError(f"the Sage XML is not well-formed: {exc}") from exc
    if root.tag != "Company":
        raise LoadError(f"the Sage XML root element is <{root.tag}>, expected <Company>")
    return root


def _fields(el: etree._Element) -> dict[str, etree._Element]:
    return {c.tag: c for c in el if isinstance(c.tag, str)}


def _text(fields: dict, tag: str) -> str | None:
    c = fields.get(tag)
    if c is None or c.get(XSI_NIL) == "true":
        return None
    return c.text or ""


def _address(el: etree._Element | None) -> Address:
    if el is None:
        return Address()
    f = _fields(el)
    t = partial(_text, f)
    person = " ".join(p for p in (t("Title"), t("Forename"), t("Middlename"), t("Surname"),
                                  t("Suffix")) if p)
    return Address(t("Company"), t("Address1"), t("Address2"), t("Address3"), t("Town"),
                   t("County"), t("Postcode"), t("Country"), t("Telephone"), t("Fax"),
                   t("Email"), t("Website"), person or None)


def _account(el: etree._Element, tag: str, n: int) -> Account:
    f = _fields(el)
    t = partial(_text, f)
    key = t("Id")
    address = _address(f.get(f"{tag}InvoiceAddress"))
    return Account(ACCOUNT_KINDS[tag], key or f"{tag}[{n}]", bool(key), t("AccountReference"),
                   t("CompanyName"), address, t("Currency"), t("PaymentDays"), t("TaxCode"),
                   t("NominalCode"), t("VatNumber"), t("Terms"), t("CreditLimit"), el)


def _invoice(el: etree._Element, n: int) -> Invoice:
    f = _fields(el)
    t = partial(_text, f)
    key = t("Id")
    items_el = f.get("InvoiceItems")
    items = [] if items_el is None else [
        _item(i, c) for i, c in enumerate((c for c in items_el if c.tag == "Item"), start=1)]
    return Invoice(key or f"Invoice[{n}]", bool(key), t("AccountReference"), t("InvoiceType"),
                   t("InvoiceNumber"), t("InvoiceDate"), t("DueDate"), t("CustomerOrderNumber"),
                   t("TakenBy"), t("Currency"), t("ForeignRate"), _address(f.get("InvoiceAddress")),
                   items, el)


def _item(number: int, el: etree._Element) -> Item:
    f = _fields(el)
    t = partial(_text, f)
    return Item(number, t("Sku"), t("Name"), t("Description"), t("QtyOrdered"), t("UnitPrice"),
                t("NominalCode"), t("TaxCode"), t("IsNegativeLine"))


def _split(el: etree._Element) -> Split:
    f = _fields(el)
    t = partial(_text, f)
    return Split(t("Id"), t("TransactionType"), t("AccountReference"), t("TransactionDate"),
                 t("DueDate"), t("Reference"), t("SecondReference"), t("NominalCode"),
                 t("Details"), t("NetAmount"), t("TaxCode"), t("TaxAmount"), t("Currency"),
                 t("PaymentReference"), t("ExchangeRate"), el)


def group_key(s: Split) -> tuple:
    """Zynk merges adjacent splits with equal account, references, date and type
    (docs/sage50-rules.md, "R-GRP-1")."""
    return (s.account_ref, s.reference, s.second_reference, s.date, s.transaction_type)


def group_splits(numbered: list[tuple[int, Split]]) -> list[TransactionGroup]:
    groups: list[TransactionGroup] = []
    last = None
    for n, split in numbered:
        k = group_key(split)
        if not groups or k != last:
            groups.append(TransactionGroup(split.second_reference or f"Transaction[{n}]"))
            last = k
        groups[-1].splits.append(split)
    return groups


def serialize(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="utf-8")
