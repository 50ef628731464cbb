"""The declarative spec: the ONLY module that reads pipelines.yaml.

``load_spec`` returns the spec as the frozen pydantic models of ``tasks.config`` (one package
holds every model of the spec, and importing it pulls in neither Prefect nor Great
Expectations) or raises ``ConfigError`` listing every problem at
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
from typing import Any, Mapping

import yaml
from pydantic import ValidationError

from flows.spec_errors import SecretValues, describe_validation_error
from tasks.config.spec import Spec
from tasks.errors import ConfigError

# Secrets: (where in the spec, key, the variable to suggest). They must be ${VAR} references.
SECRETS = ((("connectwise",), "private_key", "CW_PRIVATE_KEY"),
           (("connectwise",), "client_id", "CW_CLIENT_ID"),
           (("notify", "email"), "username", "SMTP_USERNAME"),
           (("notify", "email"), "password", "SMTP_PASSWORD"),
           (("sage", "sage50_import_csv"), "odbc_password", "SAGE_ODBC_PASSWORD"),
           (("state",), "password", "CWSAGE_STATE_PASSWORD"))
_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_PIPELINE_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


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
    """Every stylesheet compiles, every suite parses and names only columns of its view."""
    from tasks.stylesheets import compile_stylesheet
    problems = []
    base = f"{spec.path.parent}/"
    for pipeline in spec.pipelines.values():
        if not _PIPELINE_NAME.match(pipeline.name):
            continue
        for check, target in ((compile_stylesheet, pipeline.stylesheet_path),
                              (_suite_fits_view, pipeline)):
            try:
                check(target)
            except ConfigError as exc:
                problems += [f"{spec.path.name}: pipelines.{pipeline.name}: "
                             f"{p.replace(base, '')}" for p in exc.problems]
    return problems


def _suite_fits_view(pipeline) -> None:
    """The suite parses, and each column it names is one its pipeline's view has (a list
    endpoint without ``fields`` returns every field: its columns are known only at run time)."""
    from tasks.entities import entity_for
    from tasks.suites import check_columns, suite_for
    from tasks.views import view_columns
    suite = suite_for(pipeline.suite_path)
    entity = entity_for(pipeline.extract)
    columns = view_columns(entity, pipeline.extract.fields)
    if columns is not None:
        check_columns(suite, columns, nested=entity.kind == "list")
