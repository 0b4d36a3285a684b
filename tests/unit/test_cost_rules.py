"""The pure amortization: an order spread over the days of its validity adds up exactly, per
day and per month, whatever the amount and the number of days (the remainder is carried)."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cloudbill.costs import rules
from cloudbill.costs.model import CostQuery, Dimension, Granularity
from cloudbill.kernel.errors import CloudbillError, ErrorCode


def test_an_annual_order_adds_up_per_day_and_per_month() -> None:
    # 1,000.01 for a year bought 2026-03-05 14:00 in Shanghai (06:00 UTC), ending a year later
    units = 1_000_01 * 10**6
    first, days = rules.validity_days(
        datetime(2026, 3, 5, 6, tzinfo=UTC), datetime(2027, 3, 5, 6, tzinfo=UTC), "Asia/Shanghai"
    )
    assert (first, days) == (date(2026, 3, 5), 365)
    shares = list(rules.spread(units, first, days, date(2026, 1, 1), date(2027, 12, 31)))
    assert len(shares) == 365 and shares[-1][0] == date(2027, 3, 4)
    assert sum(s for _, s in shares) == units
    # even: no two days differ by more than one unit of 10**-8
    assert max(s for _, s in shares) - min(s for _, s in shares) <= 1
    months: dict[str, int] = defaultdict(int)
    for day, share in shares:
        months[rules.label(day, Granularity.MONTH)] += share
    assert len(months) == 13 and sum(months.values()) == units
    # March 2026 holds 27 days (5th to 31st) of the 365
    assert months["2026-03"] == (units * 27) // 365


def test_a_window_sees_only_its_days_and_the_shares_it_sees_are_the_whole_ones() -> None:
    units, first, days = 100 * 10**8, date(2026, 1, 1), 3
    whole = dict(rules.spread(units, first, days, first, date(2026, 1, 3)))
    assert sum(whole.values()) == units
    assert whole == {date(2026, 1, 1): 3333333333, date(2026, 1, 2): 3333333333,
                     date(2026, 1, 3): 3333333334}  # fmt: skip
    assert dict(rules.spread(units, first, days, date(2026, 1, 2), date(2026, 1, 2))) == {
        date(2026, 1, 2): whole[date(2026, 1, 2)]
    }
    assert list(rules.spread(units, first, days, date(2026, 2, 1), date(2026, 2, 2))) == []


@given(
    units=st.integers(min_value=-(10**15), max_value=10**15),
    days=st.integers(min_value=1, max_value=3 * 366),
)
def test_shares_always_add_up(units: int, days: int) -> None:
    first = date(2026, 1, 1)
    shares = [s for _, s in rules.spread(units, first, days, first, date(2030, 1, 1))]
    assert len(shares) == days and sum(shares) == units
    assert max(shares) - min(shares) <= 1


def test_a_period_within_one_day_is_one_day() -> None:
    start = datetime(2026, 5, 1, 1, tzinfo=UTC)
    assert rules.validity_days(start, start, "UTC") == (date(2026, 5, 1), 1)


def test_labels_and_bounds() -> None:
    by_month = CostQuery(date(2025, 11, 1), date(2026, 2, 28), Granularity.MONTH)
    assert rules.labels(by_month) == ["2025-11", "2025-12", "2026-01", "2026-02"]
    by_day = CostQuery(date(2026, 2, 27), date(2026, 3, 1), Granularity.DAY)
    assert rules.labels(by_day) == ["2026-02-27", "2026-02-28", "2026-03-01"]
    for bad, code in (
        (CostQuery(date(2026, 1, 1), date(2026, 4, 1), Granularity.DAY), ErrorCode.LIMIT_EXCEEDED),
        (CostQuery(date(2024, 1, 1), date(2026, 1, 1)), ErrorCode.LIMIT_EXCEEDED),
        (CostQuery(date(2026, 2, 1), date(2026, 1, 1)), ErrorCode.INVALID_ARGUMENT),
        (
            CostQuery(date(2026, 1, 1), date(2026, 1, 1), group_by=tuple(Dimension)[:3]),
            ErrorCode.INVALID_ARGUMENT,
        ),
    ):
        with pytest.raises(CloudbillError) as caught:
            rules.check(bad)
        assert caught.value.code == code
    rules.check(CostQuery(date(2026, 1, 1), date(2026, 3, 31), Granularity.DAY))  # 90 days
