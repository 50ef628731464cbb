"""A document kind declared in pipelines.yaml (``extract: {kind: {...}}``), no Python needed.

A declared kind states, as data, the facts a built-in kind (``tasks.entities``) states in code:
where its documents come from (a ConnectWise list endpoint and its conditions), how a
document's key is formed, whether it carries money and whether it is posted back to
ConnectWise as an accounting batch (two separate facts), which GL entry ids a batch takes, and
— for a kind with money — where ConnectWise states the Sage header, the totals and each line's
GL account, tax code, net, VAT, text and quantity. Values are read by *paths* into the record:
field names joined by ``/`` (``company/identifier``, ``currency/currencyCode``), a number
picking an array member (``taxes/0/amount``).

``DeclaredKind`` is the configuration (validated once, when the spec loads); ``DeclaredEntity``
is the kind at run time, with the same attributes and methods as the built-in kinds, so it runs
through the same stages. Its resolve step is ``tasks.declared_resolve``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tasks.declared_paths import value_at, values_at, whole_number
from tasks.config.kind import DeclaredKind
from tasks.keys import document_key

@dataclass(frozen=True)
class DeclaredEntity:
    """A declared kind at run time: the attributes and methods every kind has."""

    config: DeclaredKind
    documents: str = "records"
    id_is_text: bool = False

    @property
    def name(self) -> str:
        """The endpoint's path (``finance/invoices``): never a built-in kind's name."""
        return self.config.source.endpoint.strip("/")

    @property
    def kind(self) -> str:
        return "declared" if self.config.has_money else "list"

    @property
    def unposted_path(self) -> str:
        return self.config.source.endpoint

    @property
    def conditions(self) -> str | None:
        return self.config.source.conditions

    @property
    def key_prefix(self) -> str:
        return self.config.key.prefix

    @property
    def list_id_field(self) -> str:
        return self.config.key.id

    @property
    def number_field(self) -> str:
        return self.config.header.number if self.config.header else self.config.key.id

    @property
    def has_money(self) -> bool:
        return self.config.has_money

    @property
    def post_back(self) -> bool:
        return self.config.post_back

    @property
    def export_flag(self) -> str:
        return self.config.batch_flag or ""

    @property
    def abbreviation(self) -> str:
        """In batch identifiers: the key prefix without ``CW-`` (``CW-AGR-`` → ``AGR``)."""
        return self.key_prefix.removeprefix("CW-").strip("-").replace("-", "")[:6] or "DOC"

    @property
    def reference_limit(self) -> int:
        return self.config.header.reference_limit if self.config.header else 10

    def key(self, doc: dict) -> str:
        return document_key(self.key_prefix, self.source_id(doc))

    def source_id(self, doc: dict) -> Any:
        return doc[self.config.key.id]

    def gl_ids(self, doc: dict) -> list[int]:
        """The whole numbers at the ``gl_ids`` paths (comma-separated text is split); the
        resolve step holds a document with any other value there."""
        ids: set[int] = set()
        for value in self.gl_values(doc):
            if (number := whole_number(value)) is not None:
                ids.add(number)
        return sorted(ids)

    def gl_values(self, doc: dict) -> list[Any]:
        out: list[Any] = []
        for path in self.config.gl_ids or []:
            for value in values_at(doc, path):
                out += [p for p in value.split(",") if p.strip()] \
                    if isinstance(value, str) else [value]
        return out

    def lines_of(self, doc: dict) -> Any:
        """The record's lines: the array at ``lines.path``, or the record as its one line."""
        lines = self.config.lines
        if lines is None:
            return []
        return [doc] if lines.path is None else value_at(doc, lines.path)

    def line_count(self, doc: dict) -> int:
        found = self.lines_of(doc)
        return len(found) if isinstance(found, list) else 0

    def resolve(self, doc: dict, key: str, ctx):
        from tasks.declared_resolve import resolve_declared
        return resolve_declared(self, doc, key, ctx)
