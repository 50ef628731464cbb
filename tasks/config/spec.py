"""The spec itself: ``Spec`` (the whole of pipelines.yaml) and ``PipelineSpec`` (one pipeline),
with the ConnectWise connection, schedules and the shared state. ``flows.spec`` reads the YAML
and validates it into these; every other part of cwsage receives them validated."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import ConfigDict, Field, SecretStr, field_validator, model_validator

from tasks.config.mappings import MappingsConfig
from tasks.config.notify import NotifyConfig
from tasks.config.sage import FILE_WRITERS, SageConfig, _Frozen
from tasks.config.stages import (ExtractConfig, LoadConfig, PostConfig, TransformConfig,
                                 ValidateConfig)
from tasks.errors import ConfigError


class ConnectWiseConfig(_Frozen):
    base_url: str | None = None

    @field_validator("base_url")
    @classmethod
    def _a_url(cls, value: str | None) -> str | None:
        if value and "${" not in value and not re.match(r"^https?://[^/\s]+", value):
            raise ValueError(f"got {value!r} — give the API's address with its scheme, e.g. "
                             "https://na.myconnectwise.net/v4_6_release/apis/3.0")
        return value
    company: str | None = None
    public_key: str | None = None
    private_key: SecretStr | None = None
    client_id: SecretStr | None = None
    timeout_seconds: float = Field(30.0, gt=0, le=600)
    max_attempts: int = Field(5, ge=1, le=20)


class ScheduleConfig(_Frozen):
    cron: str | None = None
    timezone: str = "Europe/London"
    interval_seconds: int | None = Field(None, ge=60)

    @model_validator(mode="after")
    def _one_kind(self) -> "ScheduleConfig":
        if (self.cron is None) == (self.interval_seconds is None):
            raise ValueError("give exactly one of cron or interval_seconds")
        return self


class StateConfig(_Frozen):
    """Where the journal and the one-run-at-a-time lock live when several workers share them
    (``tasks.state``): a PostgreSQL database. Without a ``state:`` block they live in
    ``$CWSAGE_HOME`` (SQLite and a lock file) on one machine."""
    url: str
    password: SecretStr | None = None   # a ${VAR} reference; never inside the url
    schema_name: str | None = Field(None, alias="schema", pattern=r"^[a-z_][a-z0-9_]{0,62}$")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @field_validator("url")
    @classmethod
    def _postgres_url(cls, value: str) -> str:
        from urllib.parse import urlsplit
        parts = urlsplit(value)
        if parts.scheme not in ("postgresql", "postgres") or not parts.path.strip("/"):
            raise ValueError("give a PostgreSQL address such as postgresql://cwsage@db.example."
                             "internal:5432/cwsage (the database must exist)")
        if parts.password:
            raise ValueError("the address carries a password — remove it, and give it as "
                             "state.password: ${CWSAGE_STATE_PASSWORD}")
        return value


MAX_WORKERS = 4      # chunks in flight at once: the one loading plus up to three being prepared


class PipelineSpec(_Frozen):
    name: str
    description: str = ""
    enabled: bool = True        # false: checked, run only when named, never deployed
    extract: ExtractConfig
    validation: ValidateConfig = Field(default_factory=ValidateConfig, alias="validate")
    transform: TransformConfig = TransformConfig()
    load: LoadConfig = LoadConfig()
    post: PostConfig = PostConfig()
    mappings: MappingsConfig = MappingsConfig()
    retries: int = Field(3, ge=0, le=10)
    retry_delay_seconds: float = Field(10.0, ge=0, le=3600)
    workers: int = Field(2, ge=1, le=MAX_WORKERS)
    schedule: ScheduleConfig | None = None
    tags: list[str] = Field(default_factory=list)
    stylesheet_path: Path
    suite_path: Path

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="before")
    @classmethod
    def _no_post_without_post_back(cls, data: Any) -> Any:
        """A declared kind that is not posted back has no post stage: ``post.enabled`` is
        false unless written (and then refused, below)."""
        extract = data.get("extract") if isinstance(data, dict) else None
        kind = extract.get("kind") if isinstance(extract, dict) else None
        post = data.get("post", {}) if isinstance(data, dict) else None
        if isinstance(kind, dict) and kind.get("post_back") is False and \
                isinstance(post, dict) and "enabled" not in post:
            data = dict(data, post=dict(post, enabled=False))
        return data

    @model_validator(mode="after")
    def _post_follows_kind(self) -> "PipelineSpec":
        kind = self.extract.kind
        if kind is not None and not kind.post_back and self.post.enabled:
            raise ValueError(f"pipelines.{self.name}.post.enabled: does not apply — the "
                             "kind declares post_back: false; remove it")
        return self


class Spec(_Frozen):
    path: Path
    version: Literal[1] = 1
    # several companies (or clients) on one Prefect: names deployments and artifacts
    company: str | None = Field(None, pattern=r"^[a-z0-9][a-z0-9-]{0,29}$")
    connectwise: ConnectWiseConfig = ConnectWiseConfig()
    sage: SageConfig = SageConfig()
    pipelines: dict[str, PipelineSpec]
    notify: NotifyConfig | None = None
    state: StateConfig | None = None

    @model_validator(mode="after")
    def _file_writers_have_folders(self) -> "Spec":
        for name, p in self.pipelines.items():
            writer = p.load.target or self.sage.writer
            if writer in FILE_WRITERS and not self.sage.writer_block(writer).folder:
                raise ValueError(f"pipelines.{name}.load.target is {writer}, and "
                                 f"sage.{writer}.folder is not set — set it to the folder "
                                 "the Sage-side import reads")
        return self

    def enabled(self) -> dict[str, PipelineSpec]:
        """The pipelines a run of every pipeline runs and ``cwsage serve`` deploys; one with
        ``enabled: false`` runs only when named (``cwsage run NAME``)."""
        return {name: p for name, p in self.pipelines.items() if p.enabled}

    def pipeline(self, name: str) -> PipelineSpec:
        if name not in self.pipelines:
            from difflib import get_close_matches
            close = get_close_matches(name, list(self.pipelines), n=1)
            hint = f" — did you mean '{close[0]}'?" if close else ""
            raise ConfigError(f"{self.path.name}: no pipeline named '{name}'{hint} "
                              f"(pipelines: {', '.join(self.pipelines)})")
        return self.pipelines[name]

    @property
    def state_schema(self) -> str:
        """The PostgreSQL schema that holds this spec's journal: ``state.schema``, else one per
        company, so several companies can share a database without sharing documents."""
        if self.state and self.state.schema_name:
            return self.state.schema_name
        return "cwsage_" + (self.company or "default").replace("-", "_")

    def shared_state(self):
        """The shared journal's place (``tasks.state.SharedState``), or None: the journal
        lives in ``$CWSAGE_HOME``."""
        from tasks.state import SharedState
        if self.state is None:
            return None
        password = self.state.password.get_secret_value() if self.state.password else None
        return SharedState(self.state.url, password, self.state_schema)

    def deployment_name(self, pipeline: str) -> str:
        """``invoices``, or ``acme-uk.invoices`` when the spec names its company."""
        return f"{self.company}.{pipeline}" if self.company else pipeline

    def writer_for(self, pipeline: PipelineSpec) -> tuple[str, Any]:
        name = pipeline.load.target or self.sage.writer
        return name, self.writer_for_name(name)

    def writer_for_name(self, name: str) -> Any:
        """A writer's validated settings (``tasks.config.sage``), its relative paths
        resolved against the spec's folder — the one way paths in the spec resolve."""
        return self.sage.writer_block(name).resolved(self.path.parent)
