"""Mapping tables: how ConnectWise codes become Sage 50 codes.

They are data, kept in pipelines.yaml under ``pipelines.<name>.mappings`` so that a finance
user adds a tax or nominal mapping by editing YAML, never a stylesheet. The same tables feed
the validation view (unmapped codes are quarantined with the key to add) and the canonical XML
that every stylesheet reads (see ``tasks.canonical``).
"""

from __future__ import annotations

import re

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

SAGE_NOMINAL = re.compile(r"^[0-9A-Z]{1,8}$")
SAGE_ACCOUNT = re.compile(r"^[A-Z0-9]{1,8}$")
SAGE_STOCK_CODE = re.compile(r"^[A-Z0-9/.\-#]{1,30}$")
ISO_CURRENCY = re.compile(r"^[A-Z]{3}$")


class MappingsConfig(BaseModel):
    """Cross-reference tables from ConnectWise to Sage 50 (UK)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tax_codes: dict[str, int] = Field(default_factory=dict)
    """ConnectWise tax code cross-reference (T1, T0, T9 ...) -> Sage tax code number 0-99."""
    nominal_codes: dict[str, str] = Field(default_factory=dict)
    """ConnectWise GL account number -> Sage nominal code."""
    default_stock_code: str = "S1"
    """Sage product code for lines that carry no ConnectWise item (agreement, labour)."""
    default_nominal_code: str | None = None
    """Sage nominal code for lines whose ConnectWise GL account is empty."""
    default_tax_code: int | None = None
    """Sage tax code for lines that carry no ConnectWise tax code (``T9`` or ``9``); unset,
    such a line is held."""
    non_taxable_tax_code: int | None = None
    """Sage tax code for lines ConnectWise marks not taxable (``taxableFlag: false``) whose own
    code would carry VAT (``T0``, ``T2`` or ``T9``); unset, such a line is held."""
    currencies: list[str] = Field(default_factory=lambda: ["GBP"])
    """ISO currency codes set up in the Sage company; others are quarantined."""
    non_reimbursable: Literal["hold", "employee"] = "hold"
    """Expenses: what to do with a bill holding non-reimbursable (company-paid) lines.
    ``hold`` (the default) keeps the whole bill unposted and in quarantine, so nothing the
    company paid is ever posted as owed to an employee; ``employee`` posts every line to the
    member's supplier account, for businesses that settle company-card spend through it."""

    @field_validator("tax_codes")
    @classmethod
    def _tax_range(cls, value: dict[str, int]) -> dict[str, int]:
        bad = {k: v for k, v in value.items() if not 0 <= v <= 99}
        if bad:
            raise ValueError(f"Sage tax codes are numbers 0-99 (T0-T99); got {bad}")
        return value

    @field_validator("default_tax_code", "non_taxable_tax_code", mode="before")
    @classmethod
    def _sage_tax_code(cls, value):
        if value is None or isinstance(value, bool):
            return value
        code = str(value).strip().upper().removeprefix("T")
        if not code.isdigit() or int(code) > 99:
            raise ValueError(f"a Sage tax code such as T9 (or 9), T0-T99; got {value!r}")
        return int(code)

    @field_validator("nominal_codes")
    @classmethod
    def _nominal_shape(cls, value: dict[str, str]) -> dict[str, str]:
        bad = [v for v in value.values() if not SAGE_NOMINAL.match(str(v))]
        if bad:
            raise ValueError(f"Sage nominal codes are 1-8 upper-case letters or digits; got {bad}")
        return value

    @field_validator("default_stock_code")
    @classmethod
    def _stock_shape(cls, value: str) -> str:
        if not SAGE_STOCK_CODE.match(value):
            raise ValueError("a Sage product code is 1-30 of A-Z 0-9 / . - #")
        return value

    @field_validator("currencies")
    @classmethod
    def _iso(cls, value: list[str]) -> list[str]:
        bad = [c for c in value if not ISO_CURRENCY.match(c)]
        if bad:
            raise ValueError(f"currencies are ISO 4217 codes such as GBP; got {bad}")
        return value

    def tax_code(self, xref: str | None) -> int | None:
        return self.tax_codes.get((xref or "").strip()) if xref else None

    def nominal(self, gl_account: str | None) -> str | None:
        account = (gl_account or "").strip()
        if not account:
            return self.default_nominal_code
        return self.nominal_codes.get(account)
