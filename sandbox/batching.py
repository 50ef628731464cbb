"""``POST /finance/accounting/batches``: mark documents as posted
(docs/connectwise-behaviour.md, "Accounting batches" and "Posting: which GL entry ids to batch").

The sandbox is stricter than ConnectWise is known to be, so that a pipeline bug shows up as a
clear 400 instead of a half-posted document. A request is refused, with every problem listed
in ``errors``, when:

* no export flag is true, or ``processedRecordIds`` is missing or empty ("Cannot find
  GLEntryRecIDList to update", as the legacy interface answered);
* an id is not a GL entry id of any document;
* a document is already in a batch (error code ``ObjectExists``);
* the flag of a document's kind is not set (invoice ids need ``exportInvoicesFlag``, expense
  bill ids ``exportExpensesFlag``, purchase ids ``exportProductsFlag``);
* only part of a document's GL ids is sent: an invoice needs its header ``glEntryIds`` and
  every ``detail[].id``, an expense bill its ``id`` and every id in its details' ``id`` lists,
  a purchase transaction every ``purchaseDetail[].id`` and ``purchaseDetailTax[].id``;
* ``batchIdentifier`` is longer than 50 characters or is already the identifier of another
  batch (compared case-insensitively; code ``ObjectExists``). A request without one gets a
  timestamp, as ConnectWise does.

On success the answer is ``201`` with the ``AccountingBatch`` record, and the documents leave
the unposted lists and every later export. Deleting the batch brings them back.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sandbox.api_errors import field_error, invalid
from sandbox.data import DocumentKind, SandboxData
from sandbox.export import batch_identifier, flags, require_object
from sandbox.state import Batch, SandboxState

CREATE = "createAccountingBatchRequest"
NO_IDS = "Cannot find GLEntryRecIDList to update"
MAX_ERRORS = 25


def _record_ids(body: dict, errors: list[dict]) -> list[int]:
    values = body.get("processedRecordIds")
    if not values:
        errors.append(field_error(CREATE, "processedRecordIds", NO_IDS))
        return []
    if not isinstance(values, list) or any(isinstance(v, bool) or not isinstance(v, int)
                                           for v in values):
        errors.append(field_error(CREATE, "processedRecordIds",
                                  "processedRecordIds must be a list of GL entry ids (integers)"))
        return []
    return values


def _group(data: SandboxData, ids: list[int]) -> tuple[dict, list[int]]:
    """{(kind, index): sent ids} by GL id block, and the ids in no block at all."""
    groups: dict[tuple[str, int], set[int]] = {}
    unknown = []
    for gl_id in ids:
        for kind in data.kinds.values():
            index = kind.gl_block(gl_id)
            if index is not None:
                groups.setdefault((kind.kind, index), set()).add(gl_id)
                break
        else:
            unknown.append(gl_id)
    return groups, unknown


def _check_document(kind: DocumentKind, index: int, sent: set[int], chosen: dict[str, bool],
                    state: SandboxState, errors: list[dict], unknown: list[int]) -> None:
    actual = set(kind.gl_ids(index))
    unknown.extend(sorted(sent - actual))
    sent = sent & actual
    if not sent:
        return
    what = kind.describe(index)
    batch_id = state.batch_of(kind.kind, index)
    if batch_id:
        batch = state.batches[batch_id]
        errors.append(field_error(CREATE, "processedRecordIds",
                                  f"{what} is already posted in batch {batch_id} "
                                  f"'{batch.identifier}'", code="ObjectExists"))
    elif not chosen.get(kind.flag):
        errors.append(field_error(CREATE, kind.flag,
                                  f"GL entries of {what} need {kind.flag} = true"))
    elif sent != actual:
        missing = ", ".join(map(str, sorted(actual - sent)))
        errors.append(field_error(CREATE, "processedRecordIds",
                                  f"partial GL entry set for {what}: missing {missing}; "
                                  "send every GL entry id of a document together"))


def _default_identifier(state: SandboxState) -> str:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d%H%M%S")
    candidate, n = stamp, 1
    while state.batch_by_identifier(candidate):
        n += 1
        candidate = f"{stamp}-{n}"
    return candidate


def _capped(errors: list[dict]) -> list[dict]:
    if len(errors) <= MAX_ERRORS:
        return errors
    rest = len(errors) - MAX_ERRORS
    return errors[:MAX_ERRORS] + [field_error(CREATE, "processedRecordIds",
                                              f"… and {rest} more problems")]


def create_batch(data: SandboxData, state: SandboxState, body: Any) -> Batch:
    body, errors = require_object(body, CREATE), []
    chosen = flags(body, CREATE, errors)
    identifier = batch_identifier(body, CREATE, errors)
    ids = _record_ids(body, errors)
    with state.lock:
        if identifier and state.batch_by_identifier(identifier):
            errors.append(field_error(CREATE, "batchIdentifier", f"a batch named "
                                      f"'{identifier}' already exists", code="ObjectExists"))
        groups, unknown = _group(data, ids)
        for (kind_name, index), sent in sorted(groups.items()):
            _check_document(data.kinds[kind_name], index, sent, chosen, state, errors, unknown)
        if unknown:
            shown = ", ".join(map(str, unknown[:20])) + (" …" if len(unknown) > 20 else "")
            errors.append(field_error(CREATE, "processedRecordIds",
                                      f"no GL entry with id {shown}"))
        if errors:
            raise invalid(CREATE, _capped(errors))
        documents: dict[str, list[int]] = {}
        for kind_name, index in sorted(groups):
            documents.setdefault(kind_name, []).append(index)
        return state.add_batch(identifier or _default_identifier(state), chosen, documents)


def batch_documents(data: SandboxData, batch: Batch) -> dict[str, list[int]]:
    return {kind: list(indexes) for kind, indexes in batch.documents.items()
            if kind in data.kinds}
