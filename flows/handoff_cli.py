"""``cwsage confirm`` and ``cwsage sage-import``: the Sage side of a file writer, by hand.

``confirm FILE`` is the finance user's word that they imported a file written by a file writer
(Sage's import files, or an outbox file Zynk imported) — recorded with who and when; the next
run batches the confirmed documents in ConnectWise. ``--failed REASON`` says the import failed:
the documents are quarantined with the reason and written again by the next run.

``sage-import`` plays the importer on the Sage side, against the replica: Zynk for the outbox
(Success and Fail Files), Sage 50's own Data Import for the import files. With it the whole
two-phase path runs on one machine (demo, tests, trying a change).
"""

from __future__ import annotations

import sys
from datetime import datetime, timezone
from pathlib import Path

from tasks.inert import terminal as t
from flows.spec import load_spec
from tasks.config.sage import FILE_WRITERS
from tasks.confirm import confirm_file, user_name
from tasks.context import RunContext, cwsage_home
from tasks.errors import ConfigError
from tasks.sage50.handoff import NotHandedOff

EXIT_OK, EXIT_FAILED = 0, 1


def file_pipelines(spec, names: list[str] | None = None) -> list:
    """The pipelines (all, or those named) that load through a file writer."""
    chosen = [spec.pipeline(n) for n in names] if names else list(spec.pipelines.values())
    return [p for p in chosen if spec.writer_for(p)[0] in FILE_WRITERS]


def confirm_command(spec_path: str, given: str, failed: str | None = None,
                    names: list[str] | None = None, out=None) -> int:
    out = out or sys.stdout
    spec = load_spec(spec_path, need_connection=False, check_files=False)
    pipelines = file_pipelines(spec, names)
    if not pipelines:
        raise ConfigError(f"{Path(spec_path).name}: no pipeline loads through a file writer "
                          f"({', '.join(FILE_WRITERS)}) — there is nothing to confirm by hand")
    run_id = "confirm-" + datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
    moved, known, errors = 0, False, []
    for p in pipelines:
        ctx = RunContext(spec, p, cwsage_home(), run_id=run_id)
        try:
            ctx.acquire()
            keys = confirm_file(ctx.journal, ctx.pipeline, run_id, ctx.writer, given, failed)
            known = True
            moved += len(keys)
            if keys:
                _say(out, p.name, keys, given, failed)
        except NotHandedOff as exc:        # another pipeline's writer may know the file
            errors.append(exc)
        finally:
            ctx.close()
    if not known:
        raise errors[0]
    if not moved:
        print(f"{t(given)}: nothing was waiting — its documents were confirmed before, or "
              "are held (cwsage status, cwsage quarantine)", file=out)
    return EXIT_OK


def resend_command(spec_path: str, keys: list[str], names: list[str] | None = None,
                   out=None) -> int:
    """Documents the Sage-side importer refused, released to be written again by the next
    run: the person says the cause is fixed in Sage."""
    out = out or sys.stdout
    spec = load_spec(spec_path, need_connection=False, check_files=False)
    run_id = "resend-" + datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
    who, total = user_name(), 0
    for p in file_pipelines(spec, names):
        ctx = RunContext(spec, p, cwsage_home(), run_id=run_id)
        try:
            ctx.acquire()
            released = ctx.journal.release(p.name, run_id, keys or None,
                                           f"released by {who} to be written again")
        finally:
            ctx.close()
        total += len(released)
        if released:
            print(f"{p.name}: {len(released)} document{'s' if len(released) != 1 else ''} "
                  f"released; the next run writes {'them' if len(released) != 1 else 'it'} "
                  f"again for the importer", file=out)
    if not total:
        what = ", ".join(map(t, keys)) if keys else "no document"
        print(f"{what}: not held by a refusal of Sage's importer — nothing to resend "
              "(cwsage quarantine list shows what is held and why)", file=out)
    return EXIT_OK


def _say(out, pipeline: str, keys: list[str], given: str, failed: str | None) -> None:
    n = len(keys)
    docs = "document" if n == 1 else "documents"
    if failed:
        print(f"{pipeline}: {n} {docs} of {t(given)} recorded as not imported ({t(failed)}): "
              "quarantined; the next run writes them again once they are extracted", file=out)
    else:
        print(f"{pipeline}: {n} {docs} of {t(given)} confirmed in Sage; the next run batches "
              "them in ConnectWise", file=out)


def sage_import_command(spec_path: str, options, replica_path: str | None = None,
                        out=None) -> int:
    """Import every file writer's waiting files into the replica, as the Sage side would."""
    out = out or sys.stdout
    from tasks.sage50.replica import ReplicaWriter
    from tasks.config.sage import replica_file
    from tasks.sage50.sage_import import import_csv_sets, import_outbox
    spec = load_spec(spec_path, need_connection=False, check_files=False)
    targets = {}
    for p in file_pipelines(spec):
        name, settings = spec.writer_for(p)
        targets[(name, settings.folder)] = settings
    if not targets:
        raise ConfigError(f"{Path(spec_path).name}: no pipeline loads through a file writer "
                          f"({', '.join(FILE_WRITERS)}) — set sage.writer to one of them")
    own = spec.writer_for_name("sage50_replica")
    path = Path(replica_path).resolve() if replica_path else replica_file(own, cwsage_home())
    replica = ReplicaWriter(own.model_copy(update={"path": path}), cwsage_home())
    try:
        print(f"Sage 50 (the replica): {path}", file=out)
        for (name, folder), settings in sorted(targets.items()):
            report = import_outbox(folder, settings.success_folder, settings.fail_folder,
                                   replica, options) \
                if name == "zynk_xml_outbox" else import_csv_sets(folder, replica, options)
            importer = "Zynk" if name == "zynk_xml_outbox" else "Sage's Data Import"
            print(f"{importer} on {folder}:", file=out)
            for line in report.lines():
                print(f"  {t(line)}", file=out)
    finally:
        replica.close()
    return EXIT_OK

