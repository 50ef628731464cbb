"""The spec's ``sage:`` block: which writer reaches Sage, and each writer's settings.

Three writers (``tasks.sage50.WRITERS``): the embedded replica; the Zynk XML outbox; Sage 50's
own Data Import files. The two file writers hand documents off to an importer on the Sage side
and wait for its confirmation; ``confirm_within`` is how long a document may wait before the
run says so and the alert names it.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from tasks.sage50.rules import NO_DIRECT_POSTING
from tasks.sage50.settings import ImportCsvSettings, OutboxSettings, ReplicaSettings

FILE_WRITERS = ("zynk_xml_outbox", "sage50_import_csv")
_DURATION = re.compile(r"^\s*(?:(\d+)\s*d)?\s*(?:(\d+)\s*h)?\s*(?:(\d+)\s*m)?\s*$")


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def duration(value: Any) -> timedelta:
    """``24h``, ``90m``, ``2d``, ``1d 12h`` or a number of hours."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
        return timedelta(hours=value)
    match = _DURATION.match(str(value)) if isinstance(value, str) else None
    if not match or not any(match.groups()):
        raise ValueError(f"got {value!r} — give a duration such as 24h, 90m or 2d")
    d, h, m = (int(x or 0) for x in match.groups())
    if not d and not h and not m:
        raise ValueError(f"got {value!r} — a duration above zero, such as 24h")
    return timedelta(days=d, hours=h, minutes=m)


class SageConfig(_Frozen):
    writer: Literal["sage50_replica", "zynk_xml_outbox", "sage50_import_csv"] = \
        "sage50_replica"
    sage50_replica: ReplicaSettings = ReplicaSettings()
    zynk_xml_outbox: OutboxSettings = OutboxSettings()
    sage50_import_csv: ImportCsvSettings = ImportCsvSettings()
    control_accounts: list[str] = Field(default_factory=lambda: sorted(NO_DIRECT_POSTING))
    confirm_within: timedelta = timedelta(hours=24)

    @field_validator("confirm_within", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> timedelta:
        return duration(value)

    @model_validator(mode="after")
    def _file_writer_needs_folder(self) -> "SageConfig":
        if self.writer in FILE_WRITERS and not self.writer_block(self.writer).folder:
            raise ValueError(f"{self.writer}.folder is required when writer is {self.writer}"
                             " — set it to the folder the Sage-side import reads")
        return self

    def writer_block(self, name: str) -> BaseModel:
        return getattr(self, name)
