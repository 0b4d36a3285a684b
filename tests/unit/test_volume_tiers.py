"""Volume tiers: the month's whole quantity at the price of the tier it reached, billed hour by
hour as the growth of that cost, never below zero and never above the month's volume price.

No Huawei page gives a volume-tier example (docs/research/huawei-billing-rules.md §2): the rule
is the one of Lago's and Kill Bill's `volume` model, with the cap explained in
`catalog.pricing.volume_cost`.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from cloudbill.catalog import loader
from cloudbill.catalog.model import Tier, TierMode, UsagePrice
from cloudbill.catalog.pricing import FEE_ROUNDING, usage_cost, volume_cost
from cloudbill.kernel.errors import CloudbillError
from cloudbill.kernel.money import Money
from cloudbill.kernel.quantity import from_e10
from cloudbill.rate.rules import rate

VOLUME = UsagePrice(
    unit="GB",
    tier_mode="volume",
    tiers=(Tier(up_to=10, price="0.10"), Tier(up_to=50, price="0.08"), Tier(price="0.05")),
)
GRADUATED = VOLUME.model_copy(update={"tier_mode": TierMode.GRADUATED})


@pytest.mark.parametrize(
    ("total", "expected"),
    [
        ("0", "0"),
        ("5", "0.50"),  # tier 1
        ("8", "0.80"),  # 8 x 0.10 is below reaching tier 2 (10 x 0.08 = 0.80)
        ("9", "0.80"),  # capped: 9 x 0.10 = 0.90 costs more than using just past 10 GB
        ("10", "0.80"),  # 10 is still tier 1 (up_to is inclusive), capped at tier 2's start
        ("20", "1.60"),  # the whole 20 GB at tier 2's 0.08
        ("40", "2.50"),  # 40 x 0.08 = 3.20, capped by tier 3's start: 50 x 0.05
        ("60", "3.00"),  # the whole 60 GB at 0.05
    ],
)
def test_the_whole_total_at_the_tier_reached(total: str, expected: str) -> None:
    assert volume_cost(VOLUME, Decimal(total)) == Decimal(expected)


def test_volume_differs_from_graduated() -> None:
    # graduated: 10 x 0.10 + 10 x 0.08 = 1.80; volume: 20 x 0.08
    assert usage_cost(GRADUATED, Decimal(20)) == Decimal("1.80")
    assert usage_cost(VOLUME, Decimal(20)) == Decimal("1.60")


def test_usage_after_earlier_usage_is_the_growth_of_the_month_cost() -> None:
    assert usage_cost(VOLUME, Decimal(12), Decimal(8)) == Decimal("1.60") - Decimal("0.80")
    # Crossing into a cheaper tier costs nothing more, never less than nothing.
    assert usage_cost(VOLUME, Decimal(1), Decimal(9)) == 0


def test_increasing_prices_are_not_capped() -> None:
    rising = UsagePrice(
        unit="GB", tier_mode="volume", tiers=(Tier(up_to=10, price="1"), Tier(price="2"))
    )
    assert volume_cost(rising, Decimal(10)) == Decimal(10)
    assert volume_cost(rising, Decimal(11)) == Decimal(22)


totals = st.decimals(min_value=0, max_value=200, places=4)


@given(totals, totals)
def test_the_cost_never_falls_as_usage_grows(a: Decimal, b: Decimal) -> None:
    low, high = sorted((a, b))
    assert volume_cost(VOLUME, low) <= volume_cost(VOLUME, high)


@given(totals)
def test_never_above_the_volume_price_of_the_total(total: Decimal) -> None:
    reached = next(t for t in VOLUME.tiers or () if t.up_to is None or total <= t.up_to)
    assert volume_cost(VOLUME, total) <= total * reached.price


@given(st.lists(st.integers(min_value=0, max_value=40 * 10**10), min_size=1, max_size=12))
def test_hourly_fees_add_up_to_the_month_exactly(hours_e10: list[int]) -> None:
    """Rated hour by hour on the month-to-date quantity, the fees sum, at 8 decimals, to the
    month's volume cost rounded once: no hour negative, nothing lost to rounding."""
    already, fees = 0, []
    for billed in hours_e10:
        fees.append(rate(billed, VOLUME, already, None, "USD").official_units)
        already += billed
    month = Money.from_decimal(volume_cost(VOLUME, from_e10(already)), "USD", rounding=FEE_ROUNDING)
    assert all(fee >= 0 for fee in fees)
    assert sum(fees) == month.units


def test_a_catalog_refuses_an_unknown_tier_mode() -> None:
    with pytest.raises(ValidationError, match=r"graduated.*volume"):
        UsagePrice(unit="GB", tier_mode="stepped", tiers=(Tier(price="1"),))
    with pytest.raises(ValidationError, match="tier_mode applies to tiers only"):
        UsagePrice(unit="GB", tier_mode="volume", price="1")


def test_a_bad_tier_mode_is_refused_by_catalog_loading_with_its_place() -> None:
    data = loader.read_file(loader.DEFAULT_CATALOG_PATH).model_dump(mode="json")
    data["services"][0]["resource_types"][0]["specs"][0]["prices"]["USD"]["pay_per_use"][
        "duration"
    ] = {"unit": "h", "tier_mode": "stepped", "tiers": [{"price": "1"}]}
    with pytest.raises(CloudbillError, match=r"pay_per_use\.duration\.tier_mode: Input should"):
        loader.parse_data(data)


def test_graduated_dumps_as_before_so_stored_checksums_do_not_change() -> None:
    assert "tier_mode" not in GRADUATED.model_dump(mode="json")
    assert VOLUME.model_dump(mode="json")["tier_mode"] == "volume"
    assert UsagePrice.model_validate(VOLUME.model_dump(mode="json")) == VOLUME
