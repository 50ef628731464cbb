"""The declarative spec: the ONLY module that reads pipelines.yaml.

``load_spec`` returns frozen pydantic models or raises ``ConfigError`` listing every problem at
once, each as ``<file>: <dotted.key>: <problem> — <fix>``: YAML syntax (with line and column),
duplicate keys, unknown keys (with the close match), wrong types and values, pipeline names,
``${ENV_VAR}`` references that are not set, stylesheets that do not compile and suites that do
not parse. File paths in the spec resolve relative to the spec's own folder.
"""

from __future__ import annotations

import copy
import os
import re
from pathlib import Path
from typing import Any, Literal, Mapping

import yaml
from pydantic import (ConfigDict, Field, SecretStr, ValidationError, field_validator,
                      model_validator)

from flows.delivery import NotifyConfig
from flows.spec_errors import SecretValues, describe_validation_error
from flows.spec_sage import FILE_WRITERS, SageConfig, _Frozen
from tasks.errors import ConfigError
from tasks.extract import ExtractConfig
from tasks.load import LoadConfig
from tasks.mappings import MappingsConfig
from tasks.post import PostConfig
from tasks.state import SharedState
from tasks.transform import TransformConfig
from tasks.validate import ValidateConfig

# Secrets: (where in the spec, key, the variable to suggest). They must be ${VAR} references.
SECRETS = ((("connectwise",), "private_key", "CW_PRIVATE_KEY"),
           (("connectwise",), "client_id", "CW_CLIENT_ID"),
           (("notify", "email"), "username", "SMTP_USERNAME"),
           (("notify", "email"), "password", "SMTP_PASSWORD"),
           (("sage", "sage50_import_csv"), "odbc_password", "SAGE_ODBC_PASSWORD"),
           (("state",), "password", "CWSAGE_STATE_PASSWORD"))
_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_PIPELINE_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


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

    def shared_state(self) -> SharedState | None:
        """The shared journal's place, or None: the journal lives in ``$CWSAGE_HOME``."""
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
        """A writer's validated settings (``tasks.sage50.settings``), its relative paths
        resolved against the spec's folder — the one way paths in the spec resolve."""
        return self.sage.writer_block(name).resolved(self.path.parent)


MAX_SPEC_BYTES = 1024 * 1024        # a spec is a few kilobytes; anything near this is not one
MAX_SPEC_DEPTH = 32                 # mappings and lists nested in one another


class _Refused(yaml.MarkedYAMLError):
    """YAML the spec does not accept although it is well-formed (anchors, deep nesting)."""


class _UniqueKeyLoader(yaml.SafeLoader):
    """A SafeLoader that refuses duplicate keys instead of keeping the last one, anchors and
    aliases (an alias bomb expands a small file into gigabytes; ``defaults:`` is the spec's
    way to share settings) and nesting deeper than ``MAX_SPEC_DEPTH``."""

    def compose_node(self, parent, index):
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise _Refused(None, None, "YAML anchors and aliases (&name, *name) are not "
                           "supported in pipelines.yaml — write the value out, or put shared "
                           "settings under defaults:", event.start_mark)
        self._depth = getattr(self, "_depth", 0) + 1
        if self._depth > MAX_SPEC_DEPTH:
            raise _Refused(None, None, f"nested more than {MAX_SPEC_DEPTH} levels deep — a "
                           "spec is never this deep; check the indentation", event.start_mark)
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node, deep=False):
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key '{key}' (first at line {seen[key]})",
                    key_node.start_mark)
            seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


def load_spec(path: str | Path = "pipelines.yaml", *, env: Mapping[str, str] | None = None,
              need_connection: bool = True, check_files: bool = True) -> Spec:
    """Load and check the spec; raise ConfigError with every problem found."""
    path = Path(path).resolve()
    raw = _read_yaml(path)
    problems: list[str] = []
    _check_secrets(raw, path.name, problems)
    hidden = SecretValues(_secret_references(raw))
    raw = _interpolate(raw, env if env is not None else os.environ, path.name, problems,
                       need_connection, hidden)
    raw = _prepare(raw, path, problems)
    spec = None
    try:
        spec = Spec.model_validate(raw)
    except ValidationError as exc:
        problems += describe_validation_error(exc, Spec, path.name, raw)
    if spec is not None and check_files:
        problems += _check_files(spec)
    if problems:
        raise ConfigError([hidden.redact(problem) for problem in problems])
    return spec


def _read_yaml(path: Path) -> dict:
    try:
        data = yaml.load(_spec_text(path), Loader=_UniqueKeyLoader)
    except _Refused as exc:
        mark = exc.problem_mark
        raise ConfigError(f"{path.name}:{mark.line + 1}:{mark.column + 1}: "
                          f"{exc.problem}") from exc
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{path.name}:{mark.line + 1}:{mark.column + 1}" if mark else path.name
        raise ConfigError(f"{where}: YAML syntax error: {exc.problem or exc.context} — check "
                          "the indentation and quoting on that line") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path.name}: YAML syntax error: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path.name}: the spec must be a mapping with a 'pipelines:' key")
    return data


def _spec_text(path: Path) -> str:
    """The spec's text: a file of at most ``MAX_SPEC_BYTES``, in UTF-8."""
    if not path.is_file():
        raise ConfigError(f"{path.name}: file not found at {path} — pass --spec FILE or run "
                          "from the folder that holds pipelines.yaml")
    with path.open("rb") as handle:
        data = handle.read(MAX_SPEC_BYTES + 1)
    if len(data) > MAX_SPEC_BYTES:
        raise ConfigError(f"{path.name}: larger than {MAX_SPEC_BYTES // 1024 // 1024} MiB — "
                          "not a pipelines spec; pass the right file with --spec FILE")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path.name}: not UTF-8 text (byte {exc.start}) — save it as "
                          "UTF-8") from exc


def _interpolate(node: Any, env: Mapping[str, str], file: str, problems: list[str],
                 need_connection: bool, hidden: SecretValues, where: str = "") -> Any:
    if isinstance(node, dict):
        return {k: _interpolate(v, env, file, problems, need_connection, hidden,
                                f"{where}.{k}" if where else str(k)) for k, v in node.items()}
    if isinstance(node, list):
        return [_interpolate(v, env, file, problems, need_connection, hidden, f"{where}[{i}]")
                for i, v in enumerate(node)]
    if not isinstance(node, str) or "${" not in node:
        return node
    missing = [name for name in _ENV.findall(node) if not env.get(name)]
    if missing:
        if need_connection or not where.startswith(("connectwise.", "notify.")):
            problems.append(f"{file}: {where}: environment variable {', '.join(missing)} is not "
                            f"set — export {missing[0]}=… before running")
        return None
    return hidden.wrap(node, _ENV.sub(lambda m: env[m.group(1)], node),
                       {name: env[name] for name in _ENV.findall(node)})


def _secret_fields(raw: dict):
    """Each secret field (``SECRETS``) as written: its dotted place, the variable to suggest
    and its text (None when absent)."""
    for where, key, variable in SECRETS:
        block: object = raw
        for part in where:
            block = block.get(part) if isinstance(block, dict) else None
        yield ".".join((*where, key)), variable, block.get(key) if isinstance(block, dict) \
            else None


def _check_secrets(raw: dict, file: str, problems: list[str]) -> None:
    for place, variable, text in _secret_fields(raw):
        if text is not None and not (isinstance(text, str) and _ENV.fullmatch(text.strip())):
            problems.append(f"{file}: {place}: write an environment reference such as "
                            f"${{{variable}}} — secrets never live in {file}")


def _secret_references(raw: dict) -> set[str]:
    """The variables the secret fields reference: their values are never echoed."""
    return {name for _, _, text in _secret_fields(raw) if isinstance(text, str)
            for name in _ENV.findall(text)}


def _prepare(raw: dict, path: Path, problems: list[str]) -> dict:
    """Deep-merge defaults into each pipeline and resolve its stylesheet and suite paths."""
    raw = dict(raw)
    defaults = raw.pop("defaults", None) or {}
    if not isinstance(defaults, dict):
        problems.append(f"{path.name}: defaults: must be a mapping of pipeline settings")
        defaults = {}
    pipelines = raw.get("pipelines")
    if not isinstance(pipelines, dict) or not pipelines:
        problems.append(f"{path.name}: pipelines: at least one pipeline is required — add "
                        "one under 'pipelines:' (see the README)")
        raw["pipelines"] = {}
        return raw
    merged = {}
    for name, body in pipelines.items():
        if not _PIPELINE_NAME.match(str(name)):
            problems.append(f"{path.name}: pipelines.{name}: pipeline names are snake_case "
                            "(lower-case letters, digits, underscores) — rename it")
        body = deep_merge(defaults, body if isinstance(body, dict) else {})
        merged[name] = _with_paths(str(name), body, path.parent)
    raw["pipelines"] = merged
    raw["path"] = path
    return raw


def _with_paths(name: str, body: dict, base: Path) -> dict:
    body = dict(body, name=name)
    transform = body.get("transform") if isinstance(body.get("transform"), dict) else {}
    validate = body.get("validate") if isinstance(body.get("validate"), dict) else {}
    body["stylesheet_path"] = base / (transform.get("stylesheet") or f"xslt/{name}.xsl")
    body["suite_path"] = base / (validate.get("suite") or f"expectations/{name}.json")
    return body


def deep_merge(base: dict, override: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _check_files(spec: Spec) -> list[str]:
    from tasks.transform import compile_stylesheet
    from tasks.validate import suite_for
    problems = []
    base = f"{spec.path.parent}/"
    for pipeline in spec.pipelines.values():
        if not _PIPELINE_NAME.match(pipeline.name):
            continue
        for check, target in ((compile_stylesheet, pipeline.stylesheet_path),
                              (suite_for, pipeline.suite_path)):
            try:
                check(target)
            except ConfigError as exc:
                problems += [f"{spec.path.name}: pipelines.{pipeline.name}: "
                             f"{p.replace(base, '')}" for p in exc.problems]
    return problems
