"""Pricing rules: unit conversion, tiers, the single best discount, quotes that add up."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cloudbill.catalog.model import BillingMode, Discount, MeasureUnit, PeriodUnit, Tier, UsagePrice
from cloudbill.catalog.pricing import best_discount, convert_quantity, quote, usage_cost
from cloudbill.kernel.errors import CloudbillError
from cloudbill.kernel.money import Rounding

SECOND = MeasureUnit(code="s", name="second", dimension="time", factor=1)
HOUR = MeasureUnit(code="h", name="hour", dimension="time", factor=3600)
GB = MeasureUnit(code="GB", name="GB", dimension="data", factor=1024**3)
TIERED = UsagePrice(
    unit="GB",
    tiers=(Tier(up_to=10, price="0.10"), Tier(up_to=50, price="0.08"), Tier(price="0.05")),
)


def test_conversion_truncates_to_ten_decimals() -> None:
    assert convert_quantity(Decimal(1), SECOND, HOUR) == Decimal("0.0002777777")
    assert convert_quantity(Decimal(5400), SECOND, HOUR) == Decimal("1.5")
    with pytest.raises(CloudbillError):
        convert_quantity(Decimal(1), SECOND, GB)


def test_flat_price() -> None:
    assert usage_cost(UsagePrice(unit="h", price="0.0781"), Decimal("2.5")) == Decimal("0.19525")


@pytest.mark.parametrize(
    ("quantity", "already", "expected"),
    [
        ("5", "0", "0.50"),
        ("10", "0", "1.00"),
        ("15", "0", "1.40"),  # 10 x 0.10 + 5 x 0.08
        ("5", "8", "0.44"),  # 2 x 0.10 + 3 x 0.08: cumulative monthly quantity decides
        ("100", "0", "6.70"),  # 1.00 + 3.20 + 50 x 0.05
        ("10", "60", "0.50"),
    ],
)
def test_tiers_follow_the_cumulative_quantity(quantity: str, already: str, expected: str) -> None:
    assert usage_cost(TIERED, Decimal(quantity), Decimal(already)) == Decimal(expected)


@given(
    st.decimals(min_value=0, max_value=200, places=3),
    st.decimals(min_value=0, max_value=200, places=3),
)
def test_tiers_are_additive(a: Decimal, b: Decimal) -> None:
    """Billing a month hour by hour costs exactly what billing it at once would."""
    assert usage_cost(TIERED, a) + usage_cost(TIERED, b, a) == usage_cost(TIERED, a + b)


def _discount(id_: str, percent: str, **scope: object) -> Discount:
    return Discount(id=id_, name=id_, percent=percent, **scope)


DISCOUNTS = (
    _discount("yearly", "16.67", billing_mode="yearly_monthly", period_unit="year"),
    _discount("level2", "5", customer_level=2),
    _discount("level3", "10", customer_level=3),
    _discount("level3-ecs", "15", customer_level=3, service="ecs", billing_mode="yearly_monthly"),
    _discount("vip", "12", customer_id="c1"),
)


@pytest.mark.parametrize(
    ("level", "customer", "service", "mode", "period", "expected"),
    [
        (1, None, "ecs", BillingMode.PAY_PER_USE, None, None),
        (2, None, "ecs", BillingMode.PAY_PER_USE, None, "level2"),
        (3, None, "ecs", BillingMode.PAY_PER_USE, None, "level3"),
        (3, None, "ecs", BillingMode.YEARLY_MONTHLY, PeriodUnit.MONTH, "level3-ecs"),
        (3, None, "ecs", BillingMode.YEARLY_MONTHLY, PeriodUnit.YEAR, "yearly"),
        (3, None, "obs", BillingMode.YEARLY_MONTHLY, PeriodUnit.MONTH, "level3"),
        (1, "c1", "obs", BillingMode.PAY_PER_USE, None, "vip"),
        (3, "c1", "obs", BillingMode.PAY_PER_USE, None, "vip"),
    ],
)
def test_only_the_best_applicable_discount(level, customer, service, mode, period, expected):  # type: ignore[no-untyped-def]
    found = best_discount(
        DISCOUNTS,
        customer_id=customer,
        customer_level=level,
        service=service,
        billing_mode=mode,
        period_unit=period,
    )
    assert (found.id if found else None) == expected


@given(
    st.decimals(min_value=0, max_value=10**9, places=10),
    st.decimals(min_value="0.01", max_value=100, places=2),
    st.sampled_from(list(Rounding)),
    st.sampled_from([2, 8]),
)
def test_quote_adds_up(official: Decimal, percent: Decimal, rule: Rounding, places: int) -> None:
    q = quote(official, "USD", _discount("d", str(percent)), rounding=rule, places=places)
    assert q.official == q.discount + q.amount
    assert q.amount.units >= 0 and q.discount.units >= 0
