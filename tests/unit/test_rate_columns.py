"""Column-wise rating equals rate/rules.rate() line by line, to the last 1e-8 unit."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cloudbill.catalog.model import Discount, Tier, TierMode, UsagePrice
from cloudbill.kernel.errors import CloudbillError, ErrorCode
from cloudbill.kernel.limits import INT64_MAX, INT64_MIN
from cloudbill.rate.columns import rate_columns
from cloudbill.rate.rules import rate


def _decimal(places: int, top: int) -> st.SearchStrategy[Decimal]:
    return st.builds(
        lambda n, p: Decimal(n).scaleb(-p), st.integers(0, top), st.integers(0, places)
    )


prices = _decimal(10, 10**12)  # up to 10 decimals, as the catalog allows
bounds = st.lists(_decimal(12, 10**15).filter(lambda d: d > 0), min_size=1, max_size=4, unique=True)


@st.composite
def usage_prices(draw, prices=prices, bounds=bounds, modes=tuple(TierMode)) -> UsagePrice:  # type: ignore[no-untyped-def]
    if draw(st.booleans()):
        return UsagePrice(unit="GB", price=draw(prices))
    ups = sorted(draw(bounds))
    tiers = [Tier(up_to=u, price=draw(prices)) for u in ups] + [Tier(price=draw(prices))]
    mode = draw(st.sampled_from(modes))
    return UsagePrice(unit="GB", tiers=tuple(tiers), tier_mode=mode)


discounts = st.one_of(
    st.none(),
    st.builds(
        lambda p: Discount(id="d", name="d", percent=p),
        _decimal(4, 100 * 10**4).filter(lambda d: 0 < d <= 100),
    ),
)
# Everyday hours, and quantities up to where int64 and the books give out.
quantities = st.one_of(st.integers(0, 10**14), st.integers(0, 2**63 - 1), st.integers(0, 10**25))


def _expected(billed: int, already: int, price: UsagePrice, discount: Discount | None):  # type: ignore[no-untyped-def]
    try:
        r = rate(billed, price, already, discount, "USD")
    except CloudbillError as exc:
        assert exc.code == ErrorCode.AMOUNT_OUT_OF_RANGE
        return None
    values = (r.official_units, r.discount_units, r.amount_units)
    return None if any(not INT64_MIN <= v <= INT64_MAX for v in values) else values


@settings(max_examples=300, deadline=None)
@given(
    price=usage_prices(),
    discount=discounts,
    lines=st.lists(st.tuples(quantities, quantities), min_size=1, max_size=12),
)
def test_columns_equal_rate_line_by_line(price, discount, lines) -> None:  # type: ignore[no-untyped-def]
    billed = [b for b, _ in lines]
    already = [a for _, a in lines]
    got = rate_columns(billed, already, price, discount)
    for i, (b, a) in enumerate(lines):
        want = _expected(b, a, price, discount)
        if want is None:  # rate() refuses it, or the books could not store it: flagged
            assert got.outside[i]
            continue
        assert not got.outside[i]
        row = (int(got.official_units[i]), int(got.discount_units[i]), int(got.amount_units[i]))
        assert row == want, (b, a)


@settings(max_examples=100, deadline=None)
@given(
    price=usage_prices(
        prices=st.builds(lambda n: Decimal(n).scaleb(-4), st.integers(0, 100 * 10**4)),
        bounds=st.lists(
            _decimal(4, 10**10).filter(lambda d: d > 0), min_size=1, max_size=4, unique=True
        ),
        modes=(TierMode.GRADUATED,),
    ),
    discount=discounts,
    lines=st.lists(st.tuples(st.integers(0, 10**16), st.integers(0, 10**16)), min_size=1),
)
def test_everyday_prices_stay_int64(price, discount, lines) -> None:  # type: ignore[no-untyped-def]
    """An hour's usage at an every-day price takes the int64 path, not the object one (that
    one is exact too, only slower)."""
    got = rate_columns([b for b, _ in lines], [a for _, a in lines], price, discount)
    assert got.official_units.dtype == np.int64, (price, discount, lines)
    assert got.amount_units.dtype == np.int64
    assert not got.outside.any()


def test_volume_cap_and_tier_edges() -> None:
    volume = UsagePrice(
        unit="GB",
        tiers=(
            Tier(up_to=Decimal(10), price=Decimal(5)),
            Tier(up_to=Decimal("100.00000000005"), price=Decimal(1)),
            Tier(price=Decimal("0.3")),
        ),
        tier_mode=TierMode.VOLUME,
    )
    e10 = 10**10
    lines = [(9 * e10, 0), (e10, 9 * e10), (e10, 10 * e10), (5 * e10, 98 * e10), (1, 100 * e10)]
    got = rate_columns([b for b, _ in lines], [a for _, a in lines], volume, None)
    want = [rate(b, volume, a, None, "USD").official_units for b, a in lines]
    assert got.official_units.tolist() == want


def test_no_lines() -> None:
    got = rate_columns([], [], UsagePrice(unit="GB", price=Decimal(1)), None)
    assert got.official_units.tolist() == [] and not got.outside.any()


def test_negative_quantities_are_refused() -> None:
    with pytest.raises(AssertionError):
        rate_columns([-1], [0], UsagePrice(unit="GB", price=Decimal(1)), None)
