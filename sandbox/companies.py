"""Seeded parties: client and vendor companies (``/company/companies``) and members.

The pool of clients scales with the number of invoices (``max(40, invoices // 25)``). Every
record is built once at start-up (a few thousand small dicts at most); edits made through
``PATCH`` live in the sandbox state and are laid over the generated record on every read, so
a fixed company exports with its new values.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from typing import Any, Mapping

from sandbox import catalogue as cat
from sandbox.conventions import (LOCATIONS, NET_30, OUTSIDE_SCOPE, STANDARD_VAT, currency, day,
                                 stamp)

CLIENT_ID_BASE, VENDOR_ID_BASE, MEMBER_ID_BASE = 1001, 201, 101
MSP_DOMAIN = "tynebridge-it.co.uk"
_STOP_WORDS = {"LTD", "LLP", "CO", "THE", "ST", "INC", "CIC", "AND", "OF"}
_SUFFIXES = sorted(set(cat.SUFFIXES))
_GB_TOWNS = [key for key, town in cat.TOWNS.items() if town[4] == "GB"]


@dataclass(frozen=True)
class Customer:
    """A client company and the billing facts the invoice generator needs."""

    id: int
    record: dict
    currency: str
    taxable: bool
    monthly_fee: int          # pence
    agreement: str

    @property
    def tax_xref(self) -> str:
        return "T1" if self.taxable else "T9"


def _words(name: str) -> list[str]:
    tokens = re.findall(r"[A-Za-z]+", name.replace("'", ""))
    return [t for t in tokens if t.upper() not in _STOP_WORDS] or ["X"]


def _unique(candidate, used: set[str]) -> str:
    """``candidate(n)`` for the first n = 1, 2, … not in ``used``; remembers the result."""
    n = 1
    while candidate(n) in used:
        n += 1
    used.add(candidate(n))
    return candidate(n)


def account_ref(name: str, used: set[str]) -> str:
    """A Sage-style A/C ref: upper-case letters + digits, at most 8 (``SMITHJ01``)."""
    words = [w.upper() for w in _words(name)]
    prefix = words[0][:5] + (words[1][:1] if len(words) > 1 else "")

    def candidate(n: int) -> str:
        digits = f"{n:02d}"
        return prefix[:8 - len(digits)] + digits
    return _unique(candidate, used)


def identifier(name: str, used: set[str]) -> str:
    base = "".join(w[:1].upper() + w[1:] for w in _words(name))[:22]
    return _unique(lambda n: base if n == 1 else f"{base}{n}", used)


def client_name(position: int) -> tuple[str, str]:
    """(name, town key) of the client at ``position`` in the pool."""
    if position < len(cat.CLIENTS):
        return cat.CLIENTS[position]
    i = position - len(cat.CLIENTS)
    stem, rest = cat.NAME_STEMS[i % len(cat.NAME_STEMS)], i // len(cat.NAME_STEMS)
    trade, rest = cat.TRADES[rest % len(cat.TRADES)], rest // len(cat.TRADES)
    suffix, rest = _SUFFIXES[rest % len(_SUFFIXES)], rest // len(_SUFFIXES)
    number = f" No. {rest + 1}" if rest else ""
    return f"{stem} {trade}{number} {suffix}", _GB_TOWNS[(i * 7) % len(_GB_TOWNS)]


def _postcode(rng: random.Random, town: str) -> str:
    district, country = cat.TOWNS[town][2], cat.TOWNS[town][4]
    letters = cat.POSTCODE_LETTERS
    if country == "IE":
        return f"{district} {rng.choice(letters)}{rng.randint(100, 999)}"
    if country == "US":
        return district
    return f"{district} {rng.randint(1, 9)}{rng.choice(letters)}{rng.choice(letters)}"


def _tax_id(rng: random.Random, country: str) -> str:
    if country == "GB":
        return f"GB {rng.randint(100, 999)} {rng.randint(1000, 9999)} {rng.randint(10, 99)}"
    if country == "IE":
        return f"IE {rng.randint(1000000, 9999999)}{rng.choice('ABCDEFGHW')}"
    return ""


def _address(rng: random.Random, town: str) -> dict:
    city, county, _, phone, country = cat.TOWNS[town]
    return {"addressLine1": f"{rng.randint(1, 240)} {rng.choice(cat.STREETS)}",
            "addressLine2": rng.choice(cat.SECOND_LINES), "city": city, "state": county,
            "zip": _postcode(rng, town), "country": dict(cat.COUNTRIES[country]),
            "phoneNumber": f"{phone}{rng.randint(0, 999):03d}", "faxNumber": ""}


def _info(rng: random.Random) -> dict:
    entered = day(rng.randint(400, 1500))
    updated = day(rng.randint(70, 399))
    return {"lastUpdated": stamp(updated, hour=rng.randint(8, 17), minute=rng.randint(0, 59)),
            "dateEntered": stamp(entered, hour=9), "enteredBy": "jbarker", "updatedBy": "jbarker"}


def _company(rng, company_id, name, town, ident, code, vendor_code, is_vendor, cur) -> dict:
    country = cat.TOWNS[town][4]
    record = {"id": company_id, "identifier": ident, "name": name,
              "status": {"id": 1, "name": "Active"},
              "types": [{"id": 5, "name": "Vendor"} if is_vendor else {"id": 1, "name": "Client"}],
              **_address(rng, town),
              "website": f"www.{ident.lower()}.{'co.uk' if country == 'GB' else 'com'}",
              "accountNumber": code, "vendorIdentifier": vendor_code, "isVendorFlag": is_vendor,
              "billingTerms": dict(NET_30),
              "taxCode": dict(STANDARD_VAT if country == "GB" else OUTSIDE_SCOPE),
              "taxIdentifier": _tax_id(rng, country), "currency": currency(cur),
              "deletedFlag": False}
    record["_info"] = _info(rng)
    return record


def build_customers(seed: int, count: int) -> list[Customer]:
    used_codes: set[str] = set()
    used_idents: set[str] = set()
    customers = []
    for position in range(count):
        rng = random.Random(f"{seed}:client:{position}")
        name, town = client_name(position)
        code = "" if name == cat.ANGRY_FOX else account_ref(name, used_codes)
        cur = cat.FOREIGN_CLIENTS.get(name, "GBP")
        record = _company(rng, CLIENT_ID_BASE + position, name, town,
                          identifier(name, used_idents), code, "", False, cur)
        fee = rng.randrange(45000, 320000, 2500)
        customers.append(Customer(record["id"], record, cur, cur == "GBP", fee,
                                  rng.choice(cat.AGREEMENTS)))
    return customers


def build_vendors(seed: int) -> list[dict]:
    used: set[str] = set()
    vendors = []
    for position, (name, code, cur) in enumerate(cat.VENDORS):
        rng = random.Random(f"{seed}:vendor:{position}")
        vendors.append(_company(rng, VENDOR_ID_BASE + position, name, "leeds",
                                identifier(name, used), "", code, True, cur))
    return vendors


def build_members(seed: int) -> list[dict]:
    members = []
    for position, (first, last) in enumerate(cat.STAFF):
        rng = random.Random(f"{seed}:member:{position}")
        clean = re.sub(r"[^A-Za-z]", "", last)
        number = "" if position == cat.NO_VENDOR_NUMBER_STAFF else \
            f"EMP{clean[:4].upper()}{first[0]}"
        members.append({
            "id": MEMBER_ID_BASE + position, "identifier": f"{first[0]}{clean}",
            "firstName": first, "lastName": last, "vendorNumber": number,
            "officeEmail": f"{first.lower()}.{clean.lower()}@{MSP_DOMAIN}",
            "inactiveFlag": position == len(cat.STAFF) - 1,
            "defaultLocation": {"id": 1 + position % 2, "name": LOCATIONS[1 + position % 2]},
            "defaultDepartment": {"id": 1, "name": "Service Delivery"},
            "employeeIdentifer": f"E{1040 + position}", "_info": _info(rng)})
    return members


def overlay(record: Mapping[str, Any], edits: Mapping[str, Any] | None) -> dict:
    """The record with its edits applied (``_info.lastUpdated`` included)."""
    if not edits:
        return record  # type: ignore[return-value]
    merged = {**record, **{k: v for k, v in edits.items() if k != "_info"}}
    merged["_info"] = {**record.get("_info", {}), **edits.get("_info", {})}
    return merged


def company_ref(record: Mapping[str, Any]) -> dict:
    return {"id": record["id"], "identifier": record["identifier"], "name": record["name"]}


def member_ref(record: Mapping[str, Any]) -> dict:
    return {"id": record["id"], "identifier": record["identifier"],
            "name": f"{record['firstName']} {record['lastName']}"}


def fixture_company(fields: Mapping[str, Any], vendor: bool) -> dict:
    """A company record for a hand-written document's party: the given ``fields`` (at least
    ``id`` and ``name``) over the blank defaults of a GB client or vendor, so it has every
    field of a seeded record."""
    name = str(fields["name"])
    record = {"id": fields["id"], "identifier": re.sub(r"[^A-Za-z0-9]", "", name)[:25]
              or f"Company{fields['id']}", "name": name, "status": {"id": 1, "name": "Active"},
              "types": [{"id": 5, "name": "Vendor"} if vendor else {"id": 1, "name": "Client"}],
              "addressLine1": "", "addressLine2": "", "city": "", "state": "", "zip": "",
              "country": dict(cat.COUNTRIES["GB"]), "phoneNumber": "", "faxNumber": "",
              "website": "", "accountNumber": "", "vendorIdentifier": "",
              "isVendorFlag": vendor, "billingTerms": dict(NET_30),
              "taxCode": dict(STANDARD_VAT), "taxIdentifier": "", "currency": currency("GBP"),
              "deletedFlag": False,
              "_info": {"lastUpdated": stamp(day(90), hour=9), "dateEntered": stamp(day(400)),
                        "enteredBy": "sandbox", "updatedBy": "sandbox"}}
    record.update((key, value) for key, value in fields.items() if value is not None)
    return record
