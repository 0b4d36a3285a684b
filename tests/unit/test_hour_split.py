"""A usage record spanning clock hours: each hour's piece in the pricing unit, truncated to 10
decimals on its own (rate/rules.py split_record)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from cloudbill.kernel.quantity import exact_e10, to_e10, truncated_parts
from cloudbill.rate.rules import split_record


def test_each_hour_piece_is_truncated_on_its_own_as_huawei_shows_it() -> None:
    """Huawei: "The Total Usage (Pricing Unit) value is equal to Total Usage divided by
    Conversion Factor and will be truncated to a maximum of 10 decimal places ... usage
    displayed in second but priced in hour ... 0.0002777777 (1/3600)".
    https://support.huaweicloud.com/intl/en-us/faq-billing/billing_faq_5100049.html

    3 s metered over 10:59:59-11:00:02: 1 s in the first hour, 2 s in the second. Each hour's
    usage is its seconds / 3600 truncated; together they are 1e-10 h under the record's
    3 / 3600 truncated once (a largest-remainder split put 0.0002777778 in the first hour)."""
    start = datetime(2026, 3, 1, 10, 59, 59, tzinfo=UTC)
    end = datetime(2026, 3, 1, 11, 0, 2, tzinfo=UTC)
    whole = to_e10(Decimal(3) / Decimal(3600))
    pieces = split_record(
        start, end, start.replace(minute=0, second=0), end.replace(second=0), whole,
        exact_e10(Decimal(3), Decimal(1), Decimal(3600)),
    )  # fmt: skip
    assert [part for _hour, part in pieces] == [
        to_e10(Decimal("0.0002777777")),
        to_e10(Decimal("0.0005555555")),
    ]
    assert sum(part for _hour, part in pieces) == whole - 1


@given(
    st.decimals(min_value=0, max_value=10**9, places=6),
    st.lists(st.integers(min_value=1, max_value=3_600_000_000), min_size=1, max_size=30),
)
def test_pieces_never_add_up_to_more_than_the_record(quantity: Decimal, weights: list[int]) -> None:
    exact = exact_e10(quantity, Decimal(1), Decimal(3600))
    parts = truncated_parts(exact, weights)
    assert to_e10(quantity / 3600) == exact[0] // exact[1]
    assert 0 <= exact[0] // exact[1] - sum(parts) < len(weights)
    whole = sum(weights)  # each piece is its own share truncated, whatever the others are
    assert all(p == exact[0] * w // (exact[1] * whole) for p, w in zip(parts, weights, strict=True))
