"""The exception tree, sorted by what the orchestrator must do with each error.

ConfigError     a user mistake in pipelines.yaml or the files it names; never retried.
RetriableError  a transient failure (429, 5xx, timeouts, dropped connections); the only
                errors Prefect retries.
FatalError      an answer that will not change on retry (401/403/404, other 4xx).
DataError       one record is bad; it is quarantined and the run goes on.
TransformError  a stylesheet failed; carries the stylesheet file and line.
LoadError       the target refused or failed a load as a whole.

Runtime messages start ``[<pipeline>] <stage>:`` so a log line says where it came from.
"""

from __future__ import annotations


class CwsageError(Exception):
    """Base of every error this product raises on purpose."""


class ConfigError(CwsageError):
    """The spec, or a file it names, is wrong. ``problems`` lists every finding."""

    def __init__(self, problems: list[str] | str):
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))


class RetriableError(CwsageError):
    """Transient: trying again later may succeed."""


class FatalError(CwsageError):
    """Permanent: trying again unchanged will fail the same way."""


class DataError(CwsageError):
    """A single record cannot go on; quarantine it and continue."""


class TransformError(CwsageError):
    """A stylesheet failed to compile or to run."""


class LoadError(CwsageError):
    """The Sage-side target failed as a whole (not a single rejected document)."""


def stage_message(pipeline: str, stage: str, text: str) -> str:
    """The one format for runtime messages: ``[invoices] load: text``."""
    return f"[{pipeline}] {stage}: {text}"
