"""Running pipelines from the command line (and the demo): one Prefect flow run each."""

from __future__ import annotations

import logging

from flows.spec import load_spec
from tasks.context import cwsage_home
from tasks.errors import ConfigError, CwsageError
from tasks.run_result import FailedRun, Outcome
from tasks.config.sage import replica_file, target_of
from tasks.state import journal_exists, open_journal
from tasks.sage50.claim import check_claim
from tasks.sage50.replica import check_replica

log = logging.getLogger("cwsage.runner")


def run_in_turn(spec_path: str, names: list[str] | None = None,
                  dry_run: bool = False) -> list[Outcome]:
    """Run the named pipelines (every enabled one when none is named), each as its own flow run;
    never stop at the first failure — every pipeline gets its turn and its own result."""
    spec = load_spec(spec_path)
    selected = names or list(spec.enabled())
    for name in selected:
        spec.pipeline(name)                      # unknown names fail before anything runs
    check_state(spec, selected, dry_run)
    from flows.pipeline import run_pipeline
    results = []
    for name in selected:
        try:
            results.append(run_pipeline(name, str(spec.path), dry_run))
        except ConfigError:
            raise
        except CwsageError as exc:
            results.append(FailedRun(name, str(exc)))
        except Exception as exc:   # the flow run failed; Prefect has the traceback
            results.append(FailedRun(name, f"{type(exc).__name__}: {exc}"))
    return results


def check_state(spec, names: list[str], dry_run: bool = False) -> None:
    """Open the journal (as ``cwsage status`` does) and read every replica the named pipelines
    load into before any flow run starts, so a damaged file — or a target another cwsage home
    has claimed — ends as one ConfigError line (the file and the way out), not as a failed flow
    run. Nothing is created here, and the replica is only read: a dry run must not write it,
    and another cwsage home may hold it."""
    home, marker = cwsage_home(), None
    if journal_exists(home, spec.shared_state()):
        journal = open_journal(home, spec.shared_state())
        marker = journal.home_marker()
        journal.close()
    replicas, targets = set(), set()
    for name in names:
        writer, settings = spec.writer_for(spec.pipeline(name))
        if writer == "sage50_replica":
            replicas.add(replica_file(settings, home))
        targets.add(target_of(settings, home))
    for path in sorted(replicas):
        if path.is_file():
            check_replica(path)
    for target in sorted(targets) if not dry_run else ():      # a dry run writes a copy
        check_claim(target, home, marker)
