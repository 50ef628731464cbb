"""The stages of a pipeline and the plain clients they sit on."""

import logging

# Prefect gives the cwsage logger its handlers (PREFECT_LOGGING_EXTRA_LOGGERS) but not a level:
# without this, stage logs (counts, chunk numbers) inherit WARNING and never reach the UI.
logging.getLogger("cwsage").setLevel(logging.INFO)
