"""Alerts: a webhook (JSON POST) and/or an e-mail (SMTP) when a person is needed.

Three events, each checked by the flow's state hooks (``flows/pipeline.py``):

- a run **failed** — the message names the pipeline, the run, the error and what to do
  (the same error again within ``repeat_hours`` is not sent twice; a completed run resets it);
- a run completed but its **reconciliation** has unexplained differences;
- documents handed off to a Sage-side importer are **unconfirmed** longer than
  ``sage.confirm_within`` (named with their file; not sent again within ``repeat_hours``
  unless more join them);
- the **quarantine** holds more documents than ``quarantine_over``, or a document has waited
  unposted longer than ``quarantine_older_than_days`` (age from when it was first extracted).
  The same quarantine alert is not sent again within ``repeat_hours`` unless new documents
  join it.

Every message lists the quarantine's oldest documents with their fixes and the commands to
inspect them. Secrets (the SMTP login, the webhook URL, the ConnectWise keys) never appear in a
message or a log line: deliveries are logged by channel and host only, and every text sent is
scrubbed of the secret values first. A failed delivery is logged, never raised: an alert must
not change a run's outcome.

Every value from ConnectWise or the journal (keys, numbers, reasons, fixes, errors that quote
them) enters a message's lines through ``inert.alert``, so it cannot ping a channel, disguise a
link or format the chat's text. The JSON fields beside ``text`` carry the raw values as data.
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

from flows.delivery import Alert, send
from tasks.config.notify import NotifyConfig
from tasks import inert
from tasks.held import plural
from tasks.journal_records import JournalDocument, moment
from tasks.reconcile import Reconciliation
from tasks.run_result import RunResult

log = logging.getLogger("cwsage.notify")
STATE_FILE = "notify-state.json"
NEXT_STEPS = {
    "ConfigError": "fix pipelines.yaml (or the file it names) as the error says, check it with "
                   "`cwsage check`, then retry the run",
    "RetriableError": "ConnectWise or Sage did not answer after the retries; the next "
                      "scheduled run tries again, or retry the run once the service is back",
    "FatalError": "ConnectWise could not be used and retrying would not help: do what the "
                  "error says (the URL, the API keys, the member's permissions — the CW_* "
                  "variables), check it with `cwsage check --connect`, then retry the run",
    "LoadError": "the Sage side refused the load as a whole: check the writer's target "
                 "(the replica file or the outbox folder), then retry the run",
}
DEFAULT_STEP = "read the run's logs, fix the cause, then retry the run"


def on_flow_failure(flow, flow_run, state) -> None:
    _guarded(lambda: run_failed(*_context(flow_run), flow_run, state))


def on_flow_completion(flow, flow_run, state) -> None:
    _guarded(lambda: run_completed(*_context(flow_run), flow_run, state))


def _guarded(action) -> None:
    from tasks.errors import ConfigError
    try:
        action()
    except ConfigError as exc:      # the spec names no secret values in its problems
        log.warning("notify: no alert sent — the spec does not load: %s",
                    "; ".join(exc.problems))
    except Exception as exc:        # an alert never changes the run's outcome
        log.warning("notify: no alert sent — %s", type(exc).__name__)


def _context(flow_run):
    from flows.spec import load_spec
    from tasks.context import cwsage_home
    params = flow_run.parameters or {}
    spec = load_spec(params.get("spec_path", "pipelines.yaml"), need_connection=False,
                     check_files=False)
    return spec, params["pipeline"], cwsage_home()


# -- events -----------------------------------------------------------------------------------
def run_failed(spec, pipeline: str, home: Path, flow_run, state) -> Alert | None:
    cfg = spec.notify
    if cfg is None or not cfg.on_failure:
        return None
    kind, error = _error(state)
    if not _is_news(home, f"{pipeline}:failure", {error}, _now(), cfg.repeat_hours):
        log.info("[%s] notify: the same failure was alerted within %g hours; not sent again",
                 pipeline, cfg.repeat_hours)
        return None
    details = {"error": error, "error_type": kind}
    alert = Alert("run_failed", pipeline, f"[cwsage] {pipeline}: run failed",
                  [f"The cwsage pipeline '{pipeline}' failed.", "",
                   *_run_lines(flow_run, details), f"  error:  {inert.alert(error)}", "",
                   "What to do:", f"  {NEXT_STEPS.get(kind, DEFAULT_STEP)}.",
                   _retry_line(pipeline)], details)
    alert = send(spec, _with_quarantine(alert, cfg, home, shared=spec.shared_state()))
    if alert.delivered:
        _remember(home, f"{pipeline}:failure", {error}, _now())
    return alert


def run_completed(spec, pipeline: str, home: Path, flow_run, state) -> list[Alert]:
    cfg = spec.notify
    if cfg is None:
        return []
    _remember(home, f"{pipeline}:failure", set(), None)          # the failure is over
    sent = []
    rec = _reconciliation(state)
    if rec is not None and rec.overdue:
        sent.append(unconfirmed_alert(spec, pipeline, home, rec.overdue, flow_run))
    if cfg.on_unreconciled and rec is not None and not rec.agrees and not (
            rec.overdue and replace(rec, waiting=[]).agrees):
        items = [f"  {inert.alert(d.document or d.key)} {inert.alert(d.what)}: ConnectWise "
                 f"{d.connectwise}, Sage {d.sage} — {inert.alert(d.explanation)}"
                 for d in rec.differences if not d.explained]
        items += [f"  {inert.alert(key)}: loaded but missing from Sage's totals"
                  for key in rec.missing]
        items += [f"  {inert.alert(key)}: in Sage with other money than was priced — held, "
                  f"never batched" for key in rec.unreconciled]
        items += [f"  not finished: {n} documents {state} — the next run settles them first"
                  for state, n in rec.unfinished.items()]
        details: dict = {"differences": len(items)}
        alert = Alert("unreconciled", pipeline, f"[cwsage] {pipeline}: totals do not agree",
                      [f"The cwsage pipeline '{pipeline}' loaded documents whose totals do "
                       "not agree with ConnectWise.", "", *_run_lines(flow_run, details),
                       "Unexplained differences:", *items[:cfg.oldest], "", "What to do:",
                       "  compare these documents in Sage with ConnectWise before more are "
                       f"posted; the run's artifact {pipeline}-reconciliation has the "
                       "breakdown."], details)
        sent.append(send(spec, _with_quarantine(alert, cfg, home, shared=spec.shared_state())))
    quarantine = quarantine_alert(spec, pipeline, home, flow_run)
    if quarantine is not None:
        sent.append(quarantine)
    return [a for a in sent if a is not None]


def unconfirmed_alert(spec, pipeline: str, home: Path, overdue: list,
                      flow_run=None) -> Alert | None:
    """Documents handed off to the Sage side and still unconfirmed after ``confirm_within``:
    named, with the file each was written to."""
    keys = {w.key for w in overdue}
    if not _is_news(home, f"{pipeline}:unconfirmed", keys, _now(), spec.notify.repeat_hours):
        return None
    limit = spec.sage.confirm_within
    items = [f"  {inert.alert(w.number or w.key)} ({inert.alert(w.key)}): in "
             f"{inert.alert(w.file)}, waiting {w.age_text}" for w in overdue]
    alert = Alert("unconfirmed", pipeline, f"[cwsage] {pipeline}: {len(overdue)} documents "
                  "not confirmed by Sage", [
                      f"The cwsage pipeline '{pipeline}' handed documents to the Sage-side "
                      f"importer more than {limit} ago and Sage has not confirmed them; they "
                      "are not marked exported in ConnectWise until it does.", "",
                      *_run_lines(flow_run, {"unconfirmed": len(overdue)}),
                      "Waiting:", *items[:spec.notify.oldest], "", "What to do:",
                      "  check the importer on the Sage side (is it running? its fail file?); "
                      "if you imported the file yourself: cwsage confirm FILE"],
                  {"unconfirmed": len(overdue)})
    alert = send(spec, alert)
    if alert.delivered:
        _remember(home, f"{pipeline}:unconfirmed", keys, _now())
    return alert


def quarantine_alert(spec, pipeline: str, home: Path, flow_run=None,
                     now: datetime | None = None) -> Alert | None:
    """Alert when the quarantine passes a threshold and the alert is news."""
    cfg = spec.notify
    if cfg is None or (cfg.quarantine_over is None and cfg.quarantine_older_than_days is None):
        return None
    now = now or _now()
    docs = quarantined(home, pipeline, spec.shared_state())
    aged = [] if cfg.quarantine_older_than_days is None else [
        d for d in docs if now - moment(d.first_seen) > timedelta(
            days=cfg.quarantine_older_than_days)]
    too_many = cfg.quarantine_over is not None and len(docs) > cfg.quarantine_over
    if not too_many and not aged:
        return None
    offending = {d.key for d in (docs if too_many else aged)}
    if not _is_news(home, f"{pipeline}:quarantine", offending, now, cfg.repeat_hours):
        return None
    details: dict = {"aged": len(aged)}
    why = []
    if too_many:
        why.append(f"{len(docs)} documents are quarantined (alert above {cfg.quarantine_over})")
    if aged:
        why.append(f"{len(aged)} have waited more than {cfg.quarantine_older_than_days:g} days")
    alert = Alert("quarantine", pipeline, f"[cwsage] {pipeline}: {len(docs)} documents held "
                  "back", [f"The cwsage pipeline '{pipeline}' is holding documents back: "
                           f"{'; '.join(why)}.", "", *_run_lines(flow_run, details),
                           "What to do:", "  fix each document as its fix says (in ConnectWise "
                           "or in the mappings of pipelines.yaml); it flows on the next run."],
                  details)
    alert = send(spec, _with_quarantine(alert, cfg, home, now, spec.shared_state()))
    if alert.delivered:
        _remember(home, f"{pipeline}:quarantine", offending, now)
    return alert


# -- message parts ----------------------------------------------------------------------------
def quarantined(home: Path, pipeline: str, shared=None) -> list[JournalDocument]:
    """The pipeline's quarantined documents, the first seen first (``shared``: the spec's
    shared state, ``tasks.state``)."""
    from tasks.state import journal_exists, open_journal
    if not journal_exists(home, shared):
        return []
    journal = open_journal(home, shared)
    try:
        docs = journal.quarantined(pipeline)
    finally:
        journal.close()
    return sorted(docs, key=lambda d: (moment(d.first_seen), d.key))


def _with_quarantine(alert: Alert, cfg: NotifyConfig, home: Path,
                     now: datetime | None = None, shared=None) -> Alert:
    now = now or _now()
    docs = quarantined(home, alert.pipeline, shared)
    oldest = docs[:cfg.oldest]
    lines = ["", f"Quarantine: {plural(len(docs), 'document')} held back, unposted in "
             "ConnectWise."]
    if docs:
        lines.append(f"Oldest {len(oldest)}:")
    for d in oldest:
        seen = moment(d.first_seen)
        days = (now - seen).days
        lines.append(f"  {inert.alert(d.key)} ({inert.alert(d.doc_number or '-')}), first "
                     f"seen {seen:%Y-%m-%d} ({days} day{'' if days == 1 else 's'})")
        lines += [f"    - {inert.alert(r.reason)}\n      fix: {inert.alert(r.fix)}"
                  for r in d.reasons]
    lines += ["", "Inspect: cwsage quarantine list", "         cwsage quarantine show KEY"]
    alert.lines += lines
    alert.details["quarantine"] = {
        "count": len(docs), "oldest": [
            {"key": d.key, "document": d.doc_number,
             "first_seen": moment(d.first_seen).isoformat(),
             "reasons": [{"reason": r.reason, "fix": r.fix} for r in d.reasons]}
            for d in oldest]}
    alert.details["commands"] = ["cwsage quarantine list", "cwsage quarantine show KEY"]
    return alert


def _run_lines(flow_run, details: dict) -> list[str]:
    if flow_run is None:
        return []
    from prefect.utilities.urls import url_for
    link = url_for("flow-run", obj_id=flow_run.id)
    details["run"] = {"id": str(flow_run.id), "name": flow_run.name, "url": link}
    return [f"  run:    {inert.alert(flow_run.name)} (flow run {flow_run.id})",
            *([f"  view:   {link}"] if link else []), ""]


def _retry_line(pipeline: str) -> str:
    return (f"  Retry: the Retry button on the run in the Prefect UI, `prefect deployment run "
            f"cwsage-pipeline/{pipeline}`, or `cwsage run {pipeline}`. Nothing is loaded twice.")


def _result(state):
    try:
        return state.result(raise_on_failure=False)
    except Exception as exc:
        return exc


def _error(state) -> tuple[str, str]:
    exc = _result(state)
    if isinstance(exc, BaseException):
        return type(exc).__name__, f"{type(exc).__name__}: {exc}"
    return "", state.message or "the run failed without a message"


def _reconciliation(state) -> Reconciliation | None:
    result = _result(state)
    return result.reconciliation if isinstance(result, RunResult) else None


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _is_news(home: Path, topic: str, keys: set[str], now: datetime, hours: float) -> bool:
    """False when the same keys (or some of them) were alerted on ``topic`` within ``hours``."""
    path = home / STATE_FILE
    last = (json.loads(path.read_text()) if path.exists() else {}).get(topic)
    return not (last and keys <= set(last["keys"]) and
                now - datetime.fromisoformat(last["sent_at"]) < timedelta(hours=hours))


def _remember(home: Path, topic: str, keys: set[str], now: datetime | None) -> None:
    """Record what was alerted on ``topic``; ``now=None`` forgets it."""
    path = home / STATE_FILE
    state = json.loads(path.read_text()) if path.exists() else {}
    if now is None and topic not in state:
        return
    state.pop(topic, None)
    if now is not None:
        state[topic] = {"sent_at": now.isoformat(), "keys": sorted(keys)}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(state, indent=1))
