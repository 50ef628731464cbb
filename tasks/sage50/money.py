"""Money: the one place where cwsage rounds.

Amounts are ``Decimal`` end to end. Sage 50 UK keeps amounts to the penny and rounds in exactly
three places, so cwsage rounds there and nowhere else, always half up (away from zero, so
-1.725 becomes -1.73):

1. an item line's net: quantity x unit price, to the penny, before VAT (R-TAX-2);
2. an item line's VAT: net x rate / 100, to the penny, per line and never on the document
   total, so a document's VAT can differ by pennies from VAT worked out on its total (R-TAX-1);
3. a foreign-currency amount converted to base currency: amount / rate, per line, where the rate
   is units of foreign currency per one unit of base currency (R-CUR-3).

Document totals, ledger balances and journal amounts are exact sums of those rounded values.
Rule ids: ``docs/sage50-rules.md``.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

PENNY = Decimal("0.01")
ZERO = Decimal("0.00")
ONE = Decimal(1)
HUNDRED = Decimal(100)


def amount(value) -> Decimal:
    """A number as ConnectWise or a spec writes it, as an exact Decimal (floats through
    ``str``, so 0.1 stays 0.1); empty is zero. Raises ArithmeticError for anything else."""
    if type(value) is Decimal:
        if value.is_finite():
            return value
        raise ArithmeticError(f"{value!r} is not an amount")
    if value is None or value == "":
        return ZERO
    if isinstance(value, bool):
        raise ArithmeticError(f"{value!r} is not an amount")
    d = value if isinstance(value, Decimal) else Decimal(str(value))
    if not d.is_finite():
        raise ArithmeticError(f"{value!r} is not an amount")
    return d


def money(x) -> Decimal:
    """``x`` as a Decimal rounded half up to the penny (floats go through ``str`` first)."""
    d = x if isinstance(x, Decimal) else Decimal(str(x))
    return d.quantize(PENNY, rounding=ROUND_HALF_UP) + ZERO      # + 0.00: never -0.00


def line_net(qty, unit_price) -> Decimal:
    """An item line's net as Sage computes it: quantity x unit price, rounded to the penny."""
    return money(Decimal(str(qty)) * Decimal(str(unit_price)))


def vat(net, rate_percent) -> Decimal:
    """VAT on one line: net x rate / 100, rounded half up to the penny (R-TAX-1)."""
    return money(Decimal(str(net)) * Decimal(str(rate_percent)) / HUNDRED)


def to_base(amount: Decimal, rate: Decimal) -> Decimal:
    """A foreign amount in base currency at ``rate`` foreign units per base unit, per line."""
    if rate == ONE:
        return amount
    return money(amount / rate)
