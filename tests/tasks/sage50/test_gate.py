"""The money gates on their own: Sage's pricing against ConnectWise's money, the check a writer
applies before writing, what changed since a document was loaded, and the target check."""

from __future__ import annotations

from decimal import Decimal as D

from tasks.gate import MoneyCheck, changed_in_target, changed_since_load, target_problems
from tasks.resolved import Line, Resolved
from tasks.sage50.protocol import SageFacts
from tasks.sage50.rules import UK_TAX_RATES

FACTS = SageFacts(UK_TAX_RATES, {}, "GBP")


def connectwise(key="CW-INV-5120", net="300.00", tax="60.00", by_code=None, lines=3) -> Resolved:
    """ConnectWise's side of an invoice of ``lines`` lines of 100.00 at T1."""
    doc = Resolved(key, "10001", "SI", "SMITHJ01", "2026-10-20", None, "10001", "10001", "GBP",
                   None, [], D(net), D(tax), D(net) + D(tax),
                   {1: D(tax)} if by_code is None else by_code)
    doc.lines = [Line(str(n), "item", "x", None, "4000", "4000", "T1", 1, D("100.00"), False)
                 for n in range(lines)]
    return doc


def priced(replica, sx, *prices: str):
    """Sage's pricing of an invoice with these unit prices, as the replica's check sees it."""
    check = MoneyCheck({}, FACTS)
    replica.load(sx.company(customers=[sx.customer()], invoices=[sx.invoice(items=[
        sx.item(price=p) for p in prices])]), source="t", check=check)
    return check.priced["CW-INV-5120"]


def test_exact_money_passes_and_the_writer_loads_it(replica, sx):
    check = MoneyCheck({"CW-INV-5120": connectwise()}, FACTS)
    receipt = replica.load(sx.company(customers=[sx.customer()], invoices=[sx.invoice(items=[
        sx.item(), sx.item(), sx.item()])]), source="t", check=check)
    assert {r.key: r.status for r in receipt.results}["CW-INV-5120"] == "loaded"
    assert check.held == {}


def test_a_net_that_differs_is_held_before_the_writer_writes_it(replica, sx):
    check = MoneyCheck({"CW-INV-5120": connectwise(net="290.00", tax="58.00")}, FACTS)
    receipt = replica.load(sx.company(customers=[sx.customer()], invoices=[sx.invoice(items=[
        sx.item(), sx.item(), sx.item()])]), source="t", check=check)
    assert {r.key: r.status for r in receipt.results}["CW-INV-5120"] == "held"
    assert replica.present(["CW-INV-5120"]) == set()
    [reason] = [h.reason for h in check.held["CW-INV-5120"] if h.reason.startswith("net")]
    assert "ConnectWise 290.00, Sage 300.00" in reason and "line 1 4000 T1" in reason


def test_per_line_vat_rounding_is_allowed_up_to_half_a_penny_a_line_and_no_more(replica, sx):
    # three lines of 0.03 at 20 %: Sage 0.01 a line = 0.03; ConnectWise on the total: 0.02
    sage = priced(replica, sx, "0.03", "0.03", "0.03")
    assert sage.tax == D("0.03")
    within = MoneyCheck({sage.key: connectwise(net="0.09", tax="0.02")}, FACTS)
    assert within(sage) is False
    beyond = MoneyCheck({sage.key: connectwise(net="0.09", tax="0.00")}, FACTS)
    assert beyond(sage) is True
    [hold] = beyond.held[sage.key]
    assert "VAT for T1 differs: ConnectWise 0.00, Sage 0.03" in hold.reason
    assert "at most 0.015 over 3 lines" in hold.reason and "→ 0.01" in hold.reason


def test_vat_stated_for_a_code_no_line_carries_is_held(replica, sx):
    sage = priced(replica, sx, "100.00")
    cw = connectwise(net="100.00", tax="25.00", by_code={1: D("20.00"), 5: D("5.00")}, lines=1)
    check = MoneyCheck({sage.key: cw}, FACTS)
    assert check(sage) is True
    assert any("VAT for T5 differs: ConnectWise 5.00, Sage 0" in h.reason
               for h in check.held[sage.key])


def test_what_changed_since_load_and_the_target_check(replica, make_replica, sx):
    first = priced(make_replica(path="first.db"), sx, "100.00")
    replica.load(sx.company(customers=[sx.customer()], invoices=[sx.invoice(items=[
        sx.item(price="100.00")])]), source="t")
    held = replica.totals([first.key])
    assert changed_since_load(held[first.key], first) == []
    assert target_problems({first.key: first}, held) == {}
    edited = priced(make_replica(path="edited.db"), sx, "240.00")
    assert changed_since_load(held[first.key], edited)[0] == "net 100.00 → 240.00"
    assert "other money than was priced" in target_problems({first.key: edited}, held)[
        first.key][0].reason
    assert "does not hold it" in target_problems({first.key: edited}, {})[first.key][0].reason
    xml = sx.company(customers=[sx.customer()], invoices=[sx.invoice(items=[
        sx.item(price="240.00")])])
    remaining, holds = changed_in_target(xml, held, FACTS)
    assert b"CW-INV-5120" not in remaining.split(b"<Invoices")[-1]
    assert "changed in ConnectWise after it was loaded" in holds[first.key][0].reason
