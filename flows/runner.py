"""Running pipelines from the command line (and the demo): one Prefect flow run each."""

from __future__ import annotations

import logging

from flows.spec import load_spec
from tasks.errors import ConfigError, CwsageError

log = logging.getLogger("cwsage.runner")


def run_pipelines(spec_path: str, names: list[str] | None = None,
                  dry_run: bool = False) -> list[dict]:
    """Run the named pipelines (all when none), each as its own flow run; never stop at the
    first failure — every pipeline gets its turn and its own result."""
    spec = load_spec(spec_path)
    selected = names or list(spec.pipelines)
    for name in selected:
        spec.pipeline(name)                      # unknown names fail before anything runs
    from flows.pipeline import run_pipeline
    results = []
    for name in selected:
        try:
            result = run_pipeline(name, str(spec.path), dry_run)
            ok = True if dry_run else result["reconciliation"].agrees
            results.append(dict(result, ok=ok))
        except ConfigError:
            raise
        except CwsageError as exc:
            results.append({"pipeline": name, "ok": False, "error": str(exc)})
        except Exception as exc:   # the flow run failed; Prefect has the traceback
            results.append({"pipeline": name, "ok": False,
                            "error": f"{type(exc).__name__}: {exc}"})
    return results
