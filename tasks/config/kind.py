"""``pipelines.<name>.extract.kind``: a document kind declared in pipelines.yaml, validated
once when the spec loads. At run time it is ``tasks.declared.DeclaredEntity``; the README,
"A document with money, declared in YAML", says what each key means."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from tasks.declared_paths import record_path as _record_path


_FIELD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
DocType = Literal["SI", "SC", "PI", "PC"]
BatchFlag = Literal["exportInvoicesFlag", "exportExpensesFlag", "exportProductsFlag"]
LEDGER_PAIRS = ({"SI", "SC"}, {"PI", "PC"})


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SourceConfig(_Model):
    """Where the documents come from: a ConnectWise list endpoint, narrowed by conditions."""
    endpoint: str
    conditions: str | None = None

    @field_validator("endpoint")
    @classmethod
    def _endpoint(cls, value: str) -> str:
        if not re.match(r"^/[A-Za-z]", value):
            raise ValueError(f"got {value!r} — an endpoint is a path such as /finance/invoices")
        return value


class KeyConfig(_Model):
    """A document's key: ``prefix`` then the record's ``id`` field (top-level)."""
    prefix: str = Field(pattern=r"^[A-Z][A-Z0-9]*(?:-[A-Z0-9]+)*-$")
    id: str = "id"

    @field_validator("id")
    @classmethod
    def _top_level(cls, value: str) -> str:
        if not _FIELD.match(value):
            raise ValueError(f"got {value!r} — the id is one top-level field of the record, "
                             "such as id")
        return value


class SignedType(_Model):
    """The Sage type by the sign of the gross: ``{positive: SI, negative: SC}``."""
    positive: DocType
    negative: DocType


TYPES_HELP = "SI, SC, PI or PC, or by the gross's sign: {positive: SI, negative: SC}"


def _sage_type(value: Any) -> Any:
    """``header.type``, checked here so a mistake gets one message, not one per form."""
    if isinstance(value, str) and value in LEDGER_PAIRS[0] | LEDGER_PAIRS[1]:
        return value
    if not isinstance(value, dict):
        raise ValueError(f"got {value!r} — valid values: {TYPES_HELP}")
    if set(value) != {"positive", "negative"}:
        raise ValueError(f"got keys {', '.join(map(str, value)) or 'none'} — give positive "
                         "and negative, e.g. {positive: SI, negative: SC}")
    if {value["positive"], value["negative"]} not in LEDGER_PAIRS:
        raise ValueError(f"positive {value['positive']} and negative {value['negative']} are "
                         "not an invoice and its credit — use SI and SC, or PI and PC")
    return SignedType(**value)


class HeaderConfig(_Model):
    account: str
    date: str
    due_date: str | None = None
    number: str
    reference: str | None = None             # default: the number
    reference_limit: int = Field(10, ge=1, le=60)
    currency: str | None = None              # default: Sage's base currency
    type: DocType | SignedType

    _paths = field_validator("account", "date", "due_date", "number", "reference",
                             "currency")(_record_path)
    _type = field_validator("type", mode="before")(_sage_type)


class TotalsConfig(_Model):
    """ConnectWise's own totals of the document, as it states them."""
    net: str
    tax: str
    gross: str

    _paths = field_validator("net", "tax", "gross")(_record_path)


class LinesConfig(_Model):
    """The resolved lines: ``path`` to the array of lines (absent: the record is its one
    line); every other path is read in one line."""
    path: str | None = None
    id: str | None = None
    gl_account: str | None = None
    tax_code: str | None = None
    net: str
    tax: str
    description: str | None = None
    quantity: str | None = None
    unit_price: str | None = None
    sku: str | None = None

    _paths = field_validator("path", "id", "gl_account", "tax_code", "net", "tax",
                             "description", "quantity", "unit_price", "sku")(_record_path)


MONEY_KEYS = ("header", "totals", "lines")


class DeclaredKind(_Model):
    """``pipelines.<name>.extract.kind``: see the module and the README, "Declaring a kind"."""
    source: SourceConfig
    key: KeyConfig
    has_money: bool
    post_back: bool
    gl_ids: list[str] | None = None
    batch_flag: BatchFlag | None = None
    header: HeaderConfig | None = None
    totals: TotalsConfig | None = None
    lines: LinesConfig | None = None

    @field_validator("gl_ids")
    @classmethod
    def _gl_paths(cls, value: list[str] | None) -> list[str] | None:
        for path in value or []:
            _record_path(path)
        if value is not None and not value:
            raise ValueError("give at least one path, e.g. [glEntryIds, detail/id]")
        return value

    @model_validator(mode="after")
    def _facts_agree(self) -> "DeclaredKind":
        given = [k for k in MONEY_KEYS if getattr(self, k) is not None]
        if self.has_money and len(given) < len(MONEY_KEYS):
            missing = ", ".join(k for k in MONEY_KEYS if k not in given)
            raise ValueError(f"{missing}: required with has_money: true — declare where "
                             "ConnectWise states the document's header, totals and lines")
        if not self.has_money and given:
            raise ValueError(f"{', '.join(given)}: does not apply with has_money: false — "
                             "remove it, or set has_money: true")
        if self.post_back and not self.has_money:
            raise ValueError("post_back: true needs has_money: true — only documents with "
                             "money are batched back to ConnectWise")
        for key in ("gl_ids", "batch_flag"):
            if self.post_back and getattr(self, key) is None:
                raise ValueError(f"{key}: required with post_back: true — a batch names the "
                                 "document's GL entry ids (gl_ids) and its Accounting "
                                 "Interface tab (batch_flag, e.g. exportInvoicesFlag)")
            if not self.post_back and getattr(self, key) is not None:
                raise ValueError(f"{key}: does not apply with post_back: false — remove it, "
                                 "or set post_back: true")
        return self
