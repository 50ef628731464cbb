"""A writer's settings in a test, made as the spec makes them: validated by the writer's
settings model, relative paths resolved against ``base`` (the spec's folder in a run)."""

from __future__ import annotations

from pathlib import Path

from tasks.sage50 import get_writer
from tasks.config.sage import SETTINGS


def writer_settings(name: str, raw: dict | None, base: Path):
    return SETTINGS[name].model_validate(raw or {}).resolved(Path(base))


def make_writer(name: str, raw: dict | None, base: Path):
    """The writer ``name`` with ``raw`` settings as the spec would give them, home ``base``."""
    return get_writer(name, writer_settings(name, raw, base), base)
