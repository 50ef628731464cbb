"""``cwsage``: the command line.

Every command takes ``--spec FILE`` (default ./pipelines.yaml), before or after the command
name. A user mistake ends with a message that names the file and key and says how to fix it,
exit status 2, and no traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

from flows.inert import terminal
from tasks.errors import ConfigError, CwsageError

EXIT_OK, EXIT_FAILED, EXIT_USER = 0, 1, 2
DEFAULT_SPEC = "pipelines.yaml"


def _prefect_defaults(quiet: bool = False) -> None:
    """Settings that must be in place before Prefect is imported."""
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
    os.environ.setdefault("PREFECT_LOGGING_EXTRA_LOGGERS", "cwsage")
    os.environ.setdefault("PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW", "ignore")
    if quiet:
        os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
        os.environ.setdefault("CWSAGE_LOG_LEVEL", "WARNING")
        logging.getLogger("cwsage").setLevel(os.environ["CWSAGE_LOG_LEVEL"].upper())


def _spec_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--spec", metavar="FILE", default=DEFAULT_SPEC,
                        help="the spec (default: %(default)s); may come before or after the "
                        "command")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cwsage", description=(
        "Move accounting data from ConnectWise PSA into Sage 50 Accounts (UK)."))
    _spec_option(parser)
    common = argparse.ArgumentParser(add_help=False)
    _spec_option(common)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                parser_class=_parser_with(common))
    sub.add_parser("check", help="check the spec, every stylesheet and every suite")
    run = sub.add_parser("run", help="run pipelines (all when none are named)")
    run.add_argument("pipelines", nargs="*", metavar="PIPELINE")
    run.add_argument("--dry-run", action="store_true", help=(
        "extract, validate, transform and load into a throwaway copy of the replica; report "
        "ready / blocked / warning and the postings; touch neither Sage nor ConnectWise"))
    status = sub.add_parser("status", help="documents per state, per pipeline")
    status.add_argument("--json", action="store_true")
    tr = sub.add_parser("transform", help="validate + transform a saved GLExport JSON offline")
    tr.add_argument("pipeline")
    tr.add_argument("--input", required=True, type=Path, help="a saved GLExport JSON file")
    tr.add_argument("--output", type=Path, help="write the Sage XML here (default: stdout)")
    pv = sub.add_parser("preview", help="a saved export in Sage terms, offline: per document "
                        "ready (ConnectWise vs Sage totals, postings) or blocked (reasons, fixes)")
    pv.add_argument("pipeline")
    pv.add_argument("--input", required=True, type=Path, help="a saved export (cwsage export)")
    pv.add_argument("--json", action="store_true", help="print one JSON object")
    ex = sub.add_parser("export", help="save what a pipeline would extract, as the file "
                        "`transform --input` reads (no batch, no journal)")
    ex.add_argument("pipeline")
    ex.add_argument("--output", required=True, metavar="FILE",
                    help="the JSON file to write ('-' for stdout)")
    ex.add_argument("--ids", nargs="+", metavar="ID", help="only these unposted documents "
                    "(ids as ConnectWise lists them; default: every one the pipeline selects)")
    q = sub.add_parser("quarantine", help="documents held back, with the reason and the fix")
    q.add_argument("action", nargs="?", choices=["list", "show"], default="list")
    q.add_argument("key", nargs="?", help="with show: the document key (CW-INV-5007) or its "
                   "ConnectWise number (10463)")
    q.add_argument("--json", action="store_true")
    cf = sub.add_parser("confirm", help="say you imported a file a file writer wrote (Sage's "
                        "import files, an outbox file): its documents count as in Sage and the "
                        "next run batches them in ConnectWise")
    cf.add_argument("file", metavar="FILE", help="the transactions file (path or name, "
                    "…-transactions.csv) or the outbox XML file")
    cf.add_argument("--failed", metavar="REASON", help="the import failed: quarantine its "
                    "documents with REASON; the next run writes them again")
    cf.add_argument("--pipeline", action="append", metavar="NAME",
                    help="only this pipeline (default: every one with a file writer)")
    rs = sub.add_parser("resend", help="write again, for the Sage-side importer, documents "
                        "it refused (all, or those named) once the cause is fixed in Sage")
    rs.add_argument("keys", nargs="*", metavar="KEY")
    rs.add_argument("--pipeline", action="append", metavar="NAME",
                    help="only this pipeline (default: every one with a file writer)")
    si = sub.add_parser("sage-import", help="play the Sage side against the replica: Zynk for "
                        "the outbox (Success/Fail Files), Sage's Data Import for import files")
    si.add_argument("--replica", metavar="PATH", help="the Sage company to import into "
                    "(default: sage.sage50_replica.path, or $CWSAGE_HOME/sage50.db)")
    si.add_argument("--financial-year-start", metavar="DATE", type=_iso_date,
                    help="import files: refuse dates outside the year from DATE (YYYY-MM-DD)")
    si.add_argument("--no-prevent-duplicates", action="store_true",
                    help="Zynk: import an Id that was imported before")
    si.add_argument("--no-auto-create-accounts", action="store_true",
                    help="Zynk: fail an invoice whose customer is not in Sage")
    si.add_argument("--fail-share", type=float, default=0.0, metavar="SHARE",
                    help="fault: fail this share of documents (0-1) with a Sage error")
    si.add_argument("--half-written", action="store_true",
                    help="fault: leave the success file cut off half way")
    si.add_argument("--again", action="store_true", help="fault: import files already imported")
    si.add_argument("--move-away", action="store_true",
                    help="fault: move the files away without importing them")
    demo = sub.add_parser("demo", help="run every pipeline against a local ConnectWise sandbox")
    demo.add_argument("--seed", type=int, default=7)
    demo.add_argument("--invoices", type=int, default=120)
    serve = sub.add_parser("serve", help="schedule and run every pipeline as a Prefect "
                           "deployment (needs PREFECT_API_URL)")
    serve.add_argument("--limit", type=int, metavar="N",
                       help="at most N flow runs at once (default: no limit)")
    serve.add_argument("--pause-on-shutdown", action=argparse.BooleanOptionalAction,
                       default=True, help="pause the schedules when serve stops (default: "
                       "%(default)s; use --no-pause-on-shutdown under a supervisor)")
    serve.add_argument("--work-pool", metavar="NAME", help="register the deployments on this "
                       "work pool and exit; `prefect worker start --pool NAME` runs them")
    sb = sub.add_parser("sandbox", help="serve the local ConnectWise sandbox",
                        add_help=False, parents=[])
    sb.add_argument("args", nargs=argparse.REMAINDER)
    return parser


def _parser_with(common: argparse.ArgumentParser) -> type:
    """The class of the commands' parsers: each takes the options of ``common`` (``--spec``),
    so every command accepts them and its ``--help`` shows them; ``sandbox`` opts out."""
    class CommandParser(argparse.ArgumentParser):
        def __init__(self, *args, parents=None, **kwargs):
            super().__init__(*args, parents=[common] if parents is None else parents, **kwargs)
    return CommandParser


def split_spec(argv: list[str]) -> tuple[list[str], str | None]:
    """``argv`` without its ``--spec FILE`` / ``--spec=FILE`` options, and the last one's FILE.

    Taken out before parsing so that ``--spec`` may go anywhere, even between a command's
    positional arguments; a ``--spec`` without a value is left for argparse to report."""
    rest, spec, i = [], None, 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--spec" and i + 1 < len(argv):
            spec, i = argv[i + 1], i + 2
            continue
        if arg.startswith("--spec="):
            spec = arg.split("=", 1)[1]
        else:
            rest.append(arg)
        i += 1
    return rest, spec


def _command_index(argv: list[str]) -> int | None:
    """Where the command name is: the first argument that is no global option or its value."""
    i = 0
    while i < len(argv):
        if argv[i] == "--spec":
            i += 2
        elif argv[i].startswith("-"):
            i += 1
        else:
            return i
    return None


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    at = _command_index(argv)
    if at is not None and argv[at] == "sandbox":          # its arguments pass through as-is
        from sandbox.server import main as sandbox_main
        return sandbox_main(argv[at + 1:])
    argv, spec = split_spec(argv)
    args = build_parser().parse_args(argv)
    args.spec = spec or args.spec
    try:
        return COMMANDS[args.command](args)
    except ConfigError as exc:
        print("\n".join(map(terminal, exc.problems)), file=sys.stderr)
        return EXIT_USER
    except CwsageError as exc:
        print(f"cwsage: {terminal(exc)}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("cwsage: interrupted; the next run settles what this one left", file=sys.stderr)
        return 130


def cmd_check(args) -> int:
    from flows.spec import load_spec
    spec = load_spec(args.spec)
    for name, p in spec.pipelines.items():
        source = p.extract.entity or p.extract.endpoint
        print(f"{name}: {source}, stylesheet {p.stylesheet_path.name}, "
              f"suite {p.suite_path.name}, {len(p.mappings.tax_codes)} tax and "
              f"{len(p.mappings.nominal_codes)} nominal mappings")
    print(f"{Path(args.spec).name}: OK")
    return EXIT_OK


def cmd_run(args) -> int:
    _prefect_defaults()
    from flows.runner import run_pipelines
    results = run_pipelines(args.spec, args.pipelines, dry_run=args.dry_run)
    from flows.summary import print_run_results
    print_run_results(results)
    return EXIT_OK if all(r.get("ok") for r in results) else EXIT_FAILED


def cmd_status(args) -> int:
    from flows.summary import status_rows
    rows = status_rows(args.spec)
    if args.json:
        print(json.dumps(rows, indent=2, default=str))
        return EXIT_OK
    for row in rows:
        print(f"{terminal(row['pipeline']):<14} extracted {row['extracted']:>6}  quarantined "
              f"{row['quarantined']:>5}  waiting for Sage {row['handed_off']:>5}  loaded "
              f"{row['loaded']:>6}  unreconciled {row['unreconciled']:>3}  posted "
              f"{row['posted']:>6}  in flight {row['in_flight']:>3}  last run "
              f"{terminal(row['last_run'] or '-')} ({terminal(row['last_status'] or '-')})")
    from flows.summary import print_waiting
    for row in rows:
        print_waiting(row["pipeline"], row["waiting"], sys.stdout)
    return EXIT_OK


def cmd_transform(args) -> int:
    from flows.offline import transform_file
    return transform_file(args.spec, args.pipeline, args.input, args.output)


def cmd_preview(args) -> int:
    from flows.preview import preview_file
    return preview_file(args.spec, args.pipeline, args.input, args.json)


def cmd_export(args) -> int:
    from flows.export_file import export_command
    ids = [i.strip() for arg in args.ids or [] for i in arg.split(",") if i.strip()]
    return export_command(args.spec, args.pipeline, args.output, ids or None)


def cmd_quarantine(args) -> int:
    from flows.summary import quarantine_command
    return quarantine_command(args.spec, args.action, args.key, args.json)


def cmd_confirm(args) -> int:
    from flows.handoff_cli import confirm_command
    return confirm_command(args.spec, args.file, args.failed, args.pipeline)


def cmd_resend(args) -> int:
    from flows.handoff_cli import resend_command
    return resend_command(args.spec, args.keys, args.pipeline)


def cmd_sage_import(args) -> int:
    from flows.handoff_cli import sage_import_command
    from tasks.sage50.sage_import import ImportOptions
    options = ImportOptions(prevent_duplicates=not args.no_prevent_duplicates,
                            auto_create_accounts=not args.no_auto_create_accounts,
                            fail_share=args.fail_share, half_written=args.half_written,
                            again=args.again, move_away=args.move_away,
                            financial_year_start=args.financial_year_start)
    return sage_import_command(args.spec, options, args.replica)


def _iso_date(text: str):
    from datetime import date
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date such as 2026-04-01") from None


def cmd_demo(args) -> int:
    _prefect_defaults(quiet=True)
    from flows.demo import run_demo
    return run_demo(args.spec, seed=args.seed, invoices=args.invoices)


def cmd_serve(args) -> int:
    _prefect_defaults()
    from flows.deploy import serve_command
    return serve_command(args.spec, args.limit, args.pause_on_shutdown, args.work_pool)


COMMANDS = {"check": cmd_check, "run": cmd_run, "status": cmd_status,
            "transform": cmd_transform, "preview": cmd_preview, "export": cmd_export,
            "quarantine": cmd_quarantine, "confirm": cmd_confirm,
            "resend": cmd_resend, "sage-import": cmd_sage_import, "demo": cmd_demo, "serve": cmd_serve}

if __name__ == "__main__":
    sys.exit(main())
