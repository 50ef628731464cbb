"""Load: hand a chunk's Sage 50 XML to the configured writer and record what it accepted."""

from __future__ import annotations

import logging

from pydantic import BaseModel, ConfigDict

log = logging.getLogger("cwsage.load")


class LoadConfig(BaseModel):
    """``pipelines.<name>.load``: which Sage-side writer; defaults to ``sage.writer``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    target: str | None = None
