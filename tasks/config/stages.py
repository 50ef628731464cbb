"""The stage settings of a pipeline: ``pipelines.<name>.extract``, ``validate``, ``transform``,
``load`` and ``post`` (``tasks.config.spec.PipelineSpec`` holds them)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from tasks.config.kind import DeclaredKind


class ExtractConfig(BaseModel):
    """``pipelines.<name>.extract``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    entity: str | None = None
    endpoint: str | None = None
    kind: DeclaredKind | None = None
    fields: str | None = None
    cursor: str | None = None
    key_prefix: str = "CW-"
    chunk_size: int = Field(1000, ge=1, le=1000)
    page_size: int = Field(1000, ge=1, le=1000)
    conditions: str | None = None
    thru_date: date | None = None
    location_id: int | None = None
    enrich_companies: bool = True

    @field_validator("entity")
    @classmethod
    def _known_entity(cls, value: str | None) -> str | None:
        from tasks.entities import ENTITIES
        if value is not None and value not in ENTITIES:
            raise ValueError(f"unknown entity '{value}' — valid values: {', '.join(ENTITIES)}")
        return value

    @field_validator("endpoint")
    @classmethod
    def _endpoint_path(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("/"):
            raise ValueError(f"got {value!r} — an endpoint is a path such as /company/companies")
        return value

    @model_validator(mode="after")
    def _one_source(self) -> "ExtractConfig":
        if [self.entity, self.endpoint, self.kind].count(None) != 2:
            raise ValueError("give exactly one of entity (an accounting export: invoices, "
                             "expenses, procurement), endpoint (a ConnectWise list endpoint) "
                             "or kind (a document kind declared here, see the README)")
        if self.cursor and not self.endpoint:
            raise ValueError("cursor applies to list endpoints only")
        if self.kind is not None:
            self._kind_owns_its_source()
        else:
            self._applies_to_the_source()
        return self

    def _applies_to_the_source(self) -> None:
        """A key that only the other source reads is an error, not silence."""
        only = {"endpoint": ("fields", "key_prefix"),
                "entity": ("thru_date", "location_id", "enrich_companies")}
        source, other = ("entity", "endpoint") if self.entity else ("endpoint", "entity")
        for name in only[other]:
            if name in self.model_fields_set:
                raise ValueError(f"{name}: does not apply with {source} — it is read only "
                                 f"with {other}: remove it")

    def _kind_owns_its_source(self) -> None:
        moved = {"conditions": "kind.source.conditions", "key_prefix": "kind.key.prefix"}
        for name in ("fields", "conditions", "key_prefix", "thru_date", "location_id",
                     "enrich_companies"):
            if name in self.model_fields_set:
                where = f" — give it as {moved[name]}" if name in moved else " — remove it"
                raise ValueError(f"{name}: does not apply with kind{where}")


class ValidateConfig(BaseModel):
    """``pipelines.<name>.validate``: the suite, default ``expectations/<pipeline>.json``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    suite: str | None = None


class TransformConfig(BaseModel):
    """``pipelines.<name>.transform``: the stylesheet, default ``xslt/<pipeline>.xsl``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    stylesheet: str | None = None


class LoadConfig(BaseModel):
    """``pipelines.<name>.load``: which Sage-side writer; defaults to ``sage.writer``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    target: Literal["sage50_replica", "zynk_xml_outbox", "sage50_import_csv"] | None = None


class PostConfig(BaseModel):
    """``pipelines.<name>.post``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    batch_prefix: str = Field("CWSAGE", pattern=r"^[A-Z0-9][A-Z0-9_-]{0,11}$")
