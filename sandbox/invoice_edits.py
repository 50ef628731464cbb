"""``PATCH /finance/invoices/{id}``: change the line amounts of an unposted invoice (and GET it).

In ConnectWise an invoice posted in an accounting batch is locked; deleting the batch unposts
it, and it can then be edited and exported again with the new amounts. The sandbox takes a
small body naming lines and their new amounts, unsigned, as printed on the invoice:

    {"lines": [{"index": 0, "itemPrice": 240.00},
               {"id": 100012, "quantity": 3},
               {"index": 2, "total": 90.00}]}

* ``index`` picks a line by its position in the exported ``detail``, ``id`` by its GL entry
  id; the sales-tax (ST) line cannot be picked — its VAT is worked out from the other lines;
* ``quantity`` (above 0) and ``itemPrice`` (0 or more) set those; ``total`` (0 or more) sets
  the line amount, and so the unit price for the quantity kept (or given), which must come
  out in whole pence. Amounts have at most 2 decimals; the sandbox applies the document's sign
  and reworks VAT and header totals (``sandbox.repricing``).

A posted invoice is refused with 400, as is a bad line (every problem at once). The answer is
the ``Invoice`` record — a few fields of ConnectWise's model: ids, dates, money, and
``glBatch``, the batch it is posted in (null when unposted). Edits are kept in the sandbox
state (so ``--state`` keeps them) and move the unposted row's ``_info.lastUpdated`` on.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from sandbox.api_errors import field_error, invalid, not_found
from sandbox.data import SandboxData
from sandbox.repricing import RepriceError, summary_money
from sandbox.state import SandboxState

RESOURCE = "invoice"
LINE_FIELDS = ("index", "id", "quantity", "itemPrice", "total")
AMOUNTS = ("quantity", "itemPrice", "total")
CENT = Decimal("0.01")
EXAMPLE = '{"lines": [{"index": 0, "itemPrice": 240.00}]}'


def find_invoice(data: SandboxData, invoice_id: int) -> int:
    index = data.kinds["invoice"].row_index(invoice_id)
    if index is None:
        raise not_found(f"Invoice with id {invoice_id} not found")
    return index


def invoice_record(data: SandboxData, state: SandboxState, index: int) -> dict:
    """The ``Invoice`` of document ``index``, as ``GET /finance/invoices/{id}`` answers."""
    kind = data.kinds["invoice"]
    doc, batch_id = kind.document(index), state.batch_of("invoice", index)
    batch = state.batches.get(batch_id)
    amounts = summary_money(doc)
    return {"id": doc["id"], "invoiceNumber": doc["documentNumber"],
            "type": doc.get("billingType"), "company": doc["company"],
            "accountNumber": doc.get("companyAccountNumber", ""),
            "date": doc["documentDate"], "dueDate": doc.get("dueDate"),
            "currency": doc.get("currency"), "subtotal": amounts["subTotal"],
            "salesTax": amounts["salesTaxAmount"], "total": amounts["total"],
            "glBatch": {"id": batch.id, "name": batch.identifier} if batch else None,
            "_info": kind.unposted_row(index, "header").get("_info", {})}


def edit_invoice(data: SandboxData, state: SandboxState, invoice_id: int, body: Any) -> dict:
    kind = data.kinds["invoice"]
    index = find_invoice(data, invoice_id)
    with state.lock:
        _refuse_posted(kind, state, index)
        changes = parse_lines(body, kind.document(index))
        previous = kind.edit_of(index) or {}
        lines = {**previous.get("lines", {}), **changes}
        try:
            kind.reprice(index, lines)
        except RepriceError as exc:
            raise invalid(RESOURCE, field_error(RESOURCE, exc.field, str(exc))) from None
        updated = kind.unposted_row(index, "header").get("_info", {}).get("lastUpdated", "")
        state.edit("invoice", invoice_id, {"lines": lines}, updated)
    return invoice_record(data, state, index)


def _refuse_posted(kind: Any, state: SandboxState, index: int) -> None:
    batch_id = state.batch_of("invoice", index)
    if batch_id:
        name = state.batches[batch_id].identifier
        raise invalid(RESOURCE, field_error(
            RESOURCE, "glBatch", f"{kind.describe(index)} is posted in batch {batch_id} "
            f"'{name}' and cannot be edited; delete the batch (DELETE "
            f"/finance/accounting/batches/{batch_id}) to unpost it first"))


def parse_lines(body: Any, doc: dict) -> dict[str, dict[str, str]]:
    """GL id (text) -> the line's new unsigned ``quantity`` and ``itemPrice`` (text)."""
    if not isinstance(body, dict) or not isinstance(body.get("lines"), list) \
            or not body["lines"] or set(body) != {"lines"}:
        raise invalid(RESOURCE, field_error(RESOURCE, "lines", f"send a JSON object with a "
                                            f"non-empty list of lines, e.g. {EXAMPLE}"))
    errors: list[dict] = []
    changes: dict[str, dict[str, str]] = {}
    for n, item in enumerate(body["lines"]):
        found = _line_change(item, doc, f"lines[{n}]", errors)
        if found and found[0] in changes:
            errors.append(field_error(RESOURCE, f"lines[{n}]", f"line with GL entry id "
                                      f"{found[0]} is edited twice; send it once"))
        elif found:
            changes[found[0]] = found[1]
    if errors:
        raise invalid(RESOURCE, errors)
    return changes


def _line_change(item: Any, doc: dict, where: str,
                 errors: list[dict]) -> tuple[str, dict[str, str]] | None:
    before = len(errors)
    if not isinstance(item, dict) or set(item) - set(LINE_FIELDS):
        errors.append(field_error(RESOURCE, where, "a line is an object of index or id, and "
                                  "quantity, itemPrice or total, e.g. "
                                  '{"index": 0, "itemPrice": 240.00}'))
        return None
    line = _pick(item, doc, where, errors)
    amounts = {name: _amount(item, name, where, errors) for name in AMOUNTS if name in item}
    if not amounts:
        errors.append(field_error(RESOURCE, where, "give quantity, itemPrice or total"))
    elif "itemPrice" in amounts and "total" in amounts:
        errors.append(field_error(RESOURCE, where, "give itemPrice or total, not both"))
    if line is None or len(errors) > before:
        return None
    return _resolve(line, amounts, where, errors)


def _pick(item: dict, doc: dict, where: str, errors: list[dict]) -> dict | None:
    detail, what = doc["detail"], f"invoice {doc['id']}"
    if ("index" in item) == ("id" in item):
        errors.append(field_error(RESOURCE, where, "name the line by index (its position in "
                                  "detail) or by id (its GL entry id) — one of the two"))
        return None
    if "index" in item:
        value = item["index"]
        ok = isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(detail)
        line = detail[value] if ok else None
        field, problem = f"{where}.index", f"{value!r} is not a line of {what}, whose " \
            f"lines are 0 to {len(detail) - 1}"
    else:
        value = item["id"]
        line = next((d for d in detail if d["id"] == value and not isinstance(value, bool)),
                    None)
        field, problem = f"{where}.id", f"{what} has no line with GL entry id {value!r}; " \
            f"its lines are {', '.join(str(d['id']) for d in detail)}"
    if line is None:
        errors.append(field_error(RESOURCE, field, problem))
    elif line.get("glTypeId") == "ST":
        errors.append(field_error(RESOURCE, field, f"line {line['id']} is the sales-tax (ST) "
                                  "line, which follows from the other lines; edit those"))
        return None
    return line


def _amount(item: dict, name: str, where: str, errors: list[dict]) -> Decimal | None:
    value = item[name]
    try:
        number = Decimal(str(value)) if isinstance(value, (int, float)) \
            and not isinstance(value, bool) else None
    except InvalidOperation:
        number = None
    low = "above 0" if name == "quantity" else "0 or more"
    if number is None or not number.is_finite() or number != number.quantize(CENT) \
            or number < 0 or (name == "quantity" and number == 0):
        errors.append(field_error(RESOURCE, f"{where}.{name}", f"{name} must be a number "
                                  f"{low} with at most 2 decimals, unsigned as on the "
                                  f"invoice (the sandbox applies its sign); got {value!r}"))
        return None
    return number


def _resolve(line: dict, amounts: dict[str, Decimal], where: str,
             errors: list[dict]) -> tuple[str, dict[str, str]] | None:
    quantity = amounts.get("quantity") or _current(line, "quantity")
    price = amounts.get("itemPrice")
    if "total" in amounts and quantity:
        price = amounts["total"] / quantity
        if price != price.quantize(CENT):
            errors.append(field_error(RESOURCE, f"{where}.total", f"{amounts['total']} over "
                                      f"quantity {quantity} is not a whole number of pence "
                                      "per unit; send itemPrice (and quantity) instead"))
            return None
    price = _current(line, "itemPrice") if price is None else price
    if quantity is None or price is None:
        missing = "quantity" if quantity is None else "itemPrice"
        errors.append(field_error(RESOURCE, where, f"line {line['id']} has no {missing}; "
                                  f"send {missing} too"))
        return None
    if quantity * price != (quantity * price).quantize(CENT):
        errors.append(field_error(RESOURCE, where, f"quantity {quantity} × itemPrice {price} "
                                  f"is {quantity * price}, not whole pence"))
        return None
    return str(line["id"]), {"quantity": format(quantity.normalize(), "f"),
                             "itemPrice": str(price.quantize(CENT))}


def _current(line: dict, name: str) -> Decimal | None:
    """The line's unsigned quantity or unit price; None if it has none (or quantity 0)."""
    value = line.get(name)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    number = abs(Decimal(str(value)))
    return None if name == "quantity" and not number else number
