"""Post: mark the documents Sage accepted as posted in ConnectWise, as one accounting batch.

The batch's ``processedRecordIds`` are exactly the GL entry ids of documents the journal holds
as loaded — never of quarantined or rejected ones, never an empty batch. The intent (batch
identifier and ids) is written to the journal before the call; creating a batch is never retried
blindly: when its answer is lost, the batch is looked up by its identifier first.
"""

from __future__ import annotations

import logging
import re

from pydantic import BaseModel, ConfigDict, Field

log = logging.getLogger("cwsage.post")


class PostConfig(BaseModel):
    """``pipelines.<name>.post``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    batch_prefix: str = Field("CWSAGE", pattern=r"^[A-Z0-9][A-Z0-9_-]{0,11}$")
