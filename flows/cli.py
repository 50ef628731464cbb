"""``cwsage``: the command line.

Every command takes ``--spec FILE`` (default ./pipelines.yaml), before or after the command
name. A user mistake ends with a message that names the file and key and says how to fix it,
exit status 2, and no traceback. ``cwsage`` alone prints the overview (``--help``).
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import sys
from pathlib import Path

from tasks.inert import terminal
from tasks.errors import ConfigError, CwsageError

EXIT_OK, EXIT_FAILED, EXIT_USER = 0, 1, 2
DEFAULT_SPEC = "pipelines.yaml"
MOST_USED = """most used:
  cwsage run               run every pipeline: ConnectWise → Sage, then batch in ConnectWise
  cwsage quarantine list   what is held back, why, and the fix
new here? `cwsage demo` runs it all against a local ConnectWise sandbox."""


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
    parser.add_argument("--spec", metavar="FILE", default=DEFAULT_SPEC, help="the spec "
                        "(default: %(default)s); before or after the command")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cwsage", description=(
        "Move accounting data from ConnectWise PSA into Sage 50 Accounts (UK)."),
        epilog=MOST_USED, formatter_class=_Overview)
    _spec_option(parser)
    parser.add_argument("--version", action="version", version=version_text(),
                        help="show the installed version and exit")
    common = argparse.ArgumentParser(add_help=False)
    _spec_option(common)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND",
                                parser_class=_parser_with(common))
    ck = sub.add_parser("check", help="check the spec, every stylesheet and every suite")
    ck.add_argument("--connect", action="store_true", help="then try ConnectWise's "
                    "credentials, every Sage target and the Prefect API, once, writing nothing")
    run = sub.add_parser("run", help="run pipelines (all when none are named)")
    run.add_argument("pipelines", nargs="*", metavar="PIPELINE")
    run.add_argument("--dry-run", action="store_true", help=(
        "extract, validate, transform and load into a throwaway copy of the replica; report "
        "ready / blocked / warning and the postings; touch neither Sage nor ConnectWise"))
    status = sub.add_parser("status", help="documents per state, per pipeline")
    status.add_argument("--json", action="store_true")
    tr = sub.add_parser("transform", help="validate and transform a saved export, offline")
    tr.add_argument("pipeline")
    tr.add_argument("--input", required=True, type=Path, help="a saved GLExport JSON file")
    tr.add_argument("--output", type=Path, help="write the Sage XML here (default: stdout)")
    pv = sub.add_parser("preview", help="a saved export in Sage terms, offline", description=(
        "Per document ready (ConnectWise vs Sage totals, postings) or blocked (reasons, fixes)."))
    pv.add_argument("pipeline")
    pv.add_argument("--input", required=True, type=Path, help="a saved export (cwsage export)")
    pv.add_argument("--json", action="store_true", help="print one JSON object")
    ex = sub.add_parser("export", help="save what a pipeline would extract, to a file",
                        description="The input of transform and preview; no batch, no journal.")
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
    cf = sub.add_parser("confirm", help="say you imported a file cwsage wrote for Sage",
                        description="Its documents count as in Sage; the next run batches them.")
    cf.add_argument("file", metavar="FILE", help="the transactions file (path or name, "
                    "…-transactions.csv) or the outbox XML file")
    cf.add_argument("--failed", metavar="REASON", help="the import failed: quarantine its "
                    "documents with REASON; the next run writes them again")
    cf.add_argument("--pipeline", action="append", metavar="NAME",
                    help="only this pipeline (default: every one with a file writer)")
    rs = sub.add_parser("resend", help="write again what Sage's importer refused", description=(
        "All documents the Sage-side importer refused, or those named, once fixed in Sage."))
    rs.add_argument("keys", nargs="*", metavar="KEY")
    rs.add_argument("--pipeline", action="append", metavar="NAME",
                    help="only this pipeline (default: every one with a file writer)")
    si = sub.add_parser("sage-import", help="play the Sage side against the replica", description=(
        "Zynk for the outbox (Success/Fail Files), Sage's Data Import for import files."))
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
    st = sub.add_parser("state", help="the shared state (state: in the spec)", description=(
        "import: move a home's journal into the shared PostgreSQL state, once"))
    st.add_argument("action", choices=["import"])
    st.add_argument("--from", dest="source", type=Path, metavar="PATH",
                    help="the home's journal (default: $CWSAGE_HOME/journal.db)")
    demo = sub.add_parser("demo", help="run every pipeline against a local ConnectWise sandbox")
    demo.add_argument("--seed", type=int, default=7)
    demo.add_argument("--invoices", type=int, default=120)
    serve = sub.add_parser("serve", help="run every pipeline on its schedule, on Prefect",
                           description="One Prefect deployment per pipeline (PREFECT_API_URL).")
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


def version_text() -> str:
    """``cwsage 0.1.0 (Python 3.11.9)``: the installed distribution's version."""
    from importlib.metadata import PackageNotFoundError, version
    try:
        return f"cwsage {version('cwsage')} (Python {platform.python_version()})"
    except PackageNotFoundError:
        return f"cwsage, not installed (Python {platform.python_version()}): pip install -e ."


class _Overview(argparse.RawDescriptionHelpFormatter):
    """argparse measures the commands' names one indent short: room for ``sage-import``."""
    def __init__(self, prog):
        super().__init__(prog)
        self._action_max_length = 4 + len("sage-import")


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
    while i < len(argv) and argv[i].startswith("-"):
        i += 2 if argv[i] == "--spec" else 1
    return i if i < len(argv) else None


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    at = _command_index(argv)
    if at is not None and argv[at] == "sandbox":          # its arguments pass through as-is
        from sandbox.server import main as sandbox_main
        return sandbox_main(argv[at + 1:])
    argv, spec = split_spec(argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:                  # `cwsage` alone: the overview
        parser.print_help()
        return EXIT_OK
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
    except BrokenPipeError:                   # `cwsage quarantine list | head`: a reader left
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


def cmd_check(args) -> int:
    from flows.check import check_command
    return check_command(args.spec, args.connect)


def cmd_run(args) -> int:
    _prefect_defaults()
    from flows.summary import run_command
    return run_command(args.spec, args.pipelines, args.dry_run)


def cmd_status(args) -> int:
    from flows.summary import status_command
    return status_command(args.spec, args.json)


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


def cmd_state(args) -> int:
    from flows.state_cli import import_command
    return import_command(args.spec, args.source)


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
            "quarantine": cmd_quarantine, "confirm": cmd_confirm, "resend": cmd_resend,
            "sage-import": cmd_sage_import, "state": cmd_state, "demo": cmd_demo,
            "serve": cmd_serve}

if __name__ == "__main__":
    sys.exit(main())
