from decimal import Decimal

import pytest

from tasks.sage50.money import line_net, money, to_base, vat


@pytest.mark.parametrize("value, expected", [
    ("1.725", "1.73"), ("-1.725", "-1.73"), ("1.724999", "1.72"), ("0.005", "0.01"),
    ("-0.005", "-0.01"), (2.675, "2.68"), (10, "10.00"), (Decimal("3.1"), "3.10"),
])
def test_money_rounds_half_up_away_from_zero(value, expected):
    assert money(value) == Decimal(expected)
    assert str(money(value)) == expected


def test_line_net_rounds_qty_times_price_to_the_penny():
    assert line_net("3", "0.333") == Decimal("1.00")
    assert line_net(Decimal("2.5"), Decimal("1.01")) == Decimal("2.53")   # 2.525 half up


def test_vat_is_per_line_half_up():
    assert vat(Decimal("7.50"), 23) == Decimal("1.73")                    # 1.725
    assert vat(Decimal("-7.50"), 23) == Decimal("-1.73")
    assert vat(Decimal("100.00"), Decimal("0")) == Decimal("0.00")


def test_vat_per_line_differs_from_vat_on_the_total():
    lines = [Decimal("0.14")] * 3
    per_line = sum(vat(n, 20) for n in lines)                            # 3 x 0.028 -> 0.03
    assert per_line == Decimal("0.09")
    assert vat(sum(lines), 20) == Decimal("0.08")                        # 0.084 on the total


def test_to_base_divides_by_units_per_pound():
    assert to_base(Decimal("115.00"), Decimal("1.15")) == Decimal("100.00")
    assert to_base(Decimal("10.00"), Decimal("1.15")) == Decimal("8.70")  # 8.6956…
    assert to_base(Decimal("12.34"), Decimal("1")) == Decimal("12.34")
