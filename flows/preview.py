"""``cwsage preview``: what a saved export would become in Sage, offline, by the run's own code.

The export is validated, resolved, transformed, put through the money gate and loaded into a
throwaway copy of the Sage 50 replica (a fresh one when the target is the outbox, with the
exchange rates configured for that target), exactly as a run would. Per document the result
is ``ready`` (ConnectWise's and Sage's net, VAT and gross side by side, and the postings per
nominal and tax code), ``warning`` (ready, with a VAT difference that Sage's per-line rounding
explains) or ``blocked`` (every reason, each with its fix). Nothing real is touched: not the
replica, not the journal, not ConnectWise.
"""

from __future__ import annotations

import json
import sys
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

from flows.spec import load_spec
from tasks.entities import entity_for, resolve_offline
from tasks.errors import ConfigError
from tasks.export_shape import check_export, json_problem
from tasks.gate import MoneyCheck, changed_in_target, target_problems
from tasks.sage50 import get_writer
from tasks.sage50.money import ZERO, money
from tasks.sage50.protocol import ALREADY_PRESENT, HELD, LOADED, REJECTED
from tasks.sage50.replica import copy_replica, replica_unusable
from tasks.sage50.rules import fixes
from tasks.config.sage import throwaway_settings
from tasks.transform import transform_export
from tasks.validate import validate_export


def _money(value: Decimal | None) -> str | None:
    return None if value is None or not value.is_finite() else format(money(value), "f")


def throwaway_replica(spec, pipeline_spec, folder: Path):
    """A throwaway replica: a copy of the real one when that is the target, else a fresh one
    holding the target's configured exchange rates and lock date."""
    name, settings = spec.writer_for(pipeline_spec)
    real = settings.path if name == "sage50_replica" else None
    return replica_copy(real if real and real.is_file() else None, settings, folder)


def replica_copy(real: Path | None, settings, folder: Path):
    """A replica opened on a copy of ``real`` in ``folder`` (a fresh one when None). An error
    names ``real`` — the file a person restores or moves aside — not the copy."""
    copy = copy_replica(real, folder / "sage50.db")
    try:
        return get_writer("sage50_replica", throwaway_settings(settings, copy), folder)
    except ConfigError as exc:                  # the copy is unusable: so is the real file
        if real is None or exc.__cause__ is None:
            raise
        raise replica_unusable(real, exc.__cause__) from exc.__cause__


def preview_json(spec_path: str | Path, pipeline: str, export: dict) -> dict:
    """The preview of ``export`` for ``pipeline`` as one JSON-ready object (see the module)."""
    spec = load_spec(spec_path, need_connection=False)
    p = spec.pipeline(pipeline)
    entity = entity_for(p.extract)
    with tempfile.TemporaryDirectory(prefix="cwsage-preview-") as tmp:
        writer = throwaway_replica(spec, p, Path(tmp))
        try:
            facts = writer.facts()
            resolved = resolve_offline(export, p, facts)
            checked = validate_export(export, p, spec.sage.control_accounts, resolved)
            result = transform_export(export, p, checked.valid, 1, resolved)
            blocked: dict[str, list[dict]] = {}
            for finding in checked.findings:
                blocked.setdefault(finding.key, []).append(
                    {"reason": finding.reason, "fix": finding.fix})
            for key, message in result.failures.items():
                blocked.setdefault(key, []).append({"reason": message, "fix": (
                    "correct the stylesheet (or the document in ConnectWise) and run again")})
            loaded = _load(writer, result, resolved, facts, blocked) if result.xml else {}
        finally:
            writer.close()
    docs = [_document(entity.key(d), d.get(entity.number_field), resolved.get(entity.key(d)),
                      blocked.get(entity.key(d)), loaded.get(entity.key(d)))
            for d in export.get(entity.documents) or [] if isinstance(d, dict)]
    return {"pipeline": pipeline, "documents": docs}


def _load(writer, result, resolved, facts, blocked: dict) -> dict:
    """The run's load path on the throwaway replica: the changed-in-target check, the writer
    with the money gate, the check after load. Returns what the replica holds."""
    def block(key: str, holds) -> None:
        blocked.setdefault(key, []).extend({"reason": h.reason, "fix": h.fix} for h in holds)

    present = writer.present(result.keys)
    xml, changed = changed_in_target(result.xml, writer.totals(present), facts) \
        if present else (result.xml, {})
    for key, holds in changed.items():
        block(key, holds)
    check = MoneyCheck(resolved, facts)
    keys = [k for k in result.keys if k not in changed]
    receipt = writer.load(xml, source="preview", check=check) if keys else None
    results = receipt.results if receipt else []
    for r in results:
        if r.status == HELD:
            block(r.key, check.held.get(r.key, []))
        elif r.status == REJECTED and r.key in resolved:
            blocked.setdefault(r.key, []).append({"reason": r.reason, "fix": fixes(r.reason)})
    done = [r.key for r in results if r.status in (LOADED, ALREADY_PRESENT)]
    totals = writer.totals(done)
    for key, holds in target_problems({k: check.priced[k] for k in done
                                       if k in check.priced}, totals).items():
        block(key, holds)
    return totals


def _document(key: str, number: Any, doc, reasons: list[dict] | None, totals) -> dict:
    out: dict[str, Any] = {"key": key, "number": None if number is None else str(number),
                           "status": "blocked" if reasons else "ready",
                           "reasons": reasons or [], "connectwise": None, "sage": None}
    if doc is not None:
        out["connectwise"] = {"net": _money(doc.cw_net), "tax": _money(doc.cw_tax),
                              "gross": _money(doc.cw_gross)}
        if doc.cw_tax_by_code is not None:
            net = doc.cw_net_by_code()
            out["connectwise"]["by_tax_code"] = {
                f"T{c}": {"net": _money(net.get(c, ZERO)), "tax": _money(t)}
                for c, t in sorted(doc.cw_tax_by_code.items())}
    if reasons or totals is None:
        if not reasons and doc is not None:
            out["status"] = "blocked"
            out["reasons"] = [{"reason": "the stylesheet or Sage did not report on it",
                               "fix": "check the stylesheet output for this document"}]
        return out
    out["sage"] = _sage(doc, totals)
    if doc is not None and totals.tax != doc.cw_tax:
        out["status"] = "warning"
        out["reasons"] = [{"reason": f"VAT differs by {totals.tax - doc.cw_tax}: Sage rounds "
                                     f"each line's VAT, ConnectWise the total (within the "
                                     f"half-penny-per-line bound)",
                           "fix": "none needed; the rounding differences report explains it"}]
    return out


def _sage(doc, totals) -> dict:
    return {"type": totals.doc_type, "account": totals.account_ref,
            "reference": doc.reference if doc else None, "currency": totals.currency,
            "exchange_rate": None if doc is None or doc.exchange_rate is None
            else format(doc.exchange_rate, "f"),
            "net": _money(totals.net), "tax": _money(totals.tax), "gross": _money(totals.gross),
            "splits": [{"nominal": ln.nominal_code, "tax_code": f"T{ln.tax_code}",
                        "net": _money(ln.net), "tax": _money(ln.tax),
                        "details": ln.description} for ln in totals.lines]}


def preview_file(spec_path: str, pipeline: str, source: Path, as_json: bool) -> int:
    """``cwsage preview``: print the preview; exit status 1 when any document is blocked."""
    if not source.is_file():
        raise ConfigError(f"{source}: file not found — pass a saved export with --input "
                          "(cwsage export writes one)")
    try:
        export = json.loads(source.read_bytes(), parse_float=Decimal)
    except (ValueError, RecursionError) as exc:
        raise ConfigError(f"{source}: not valid JSON: {json_problem(exc)}") from exc
    spec = load_spec(spec_path, need_connection=False, check_files=False)
    check_export(export, entity_for(spec.pipeline(pipeline).extract), source.name)
    report = preview_json(spec_path, pipeline, export)
    if as_json:
        sys.stdout.write(json.dumps(report, indent=2) + "\n")
    else:
        from flows.terminal import preview_text
        sys.stdout.write(preview_text(report))
    return 1 if any(d["status"] == "blocked" for d in report["documents"]) else 0
