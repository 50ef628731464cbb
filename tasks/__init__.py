"""The stages of a pipeline and the plain clients they sit on."""

import logging
import os

# Prefect gives the cwsage logger its handlers (PREFECT_LOGGING_EXTRA_LOGGERS) but not a level:
# without one, stage logs (counts, chunk numbers) inherit WARNING and never reach the UI.
# CWSAGE_LOG_LEVEL=WARNING quiets them (the demo does).
logging.getLogger("cwsage").setLevel(os.environ.get("CWSAGE_LOG_LEVEL", "INFO").upper())
