"""Half-open hours, hour splits, month arithmetic from the anchor, months in a customer's zone."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cloudbill.kernel.clock import ManualClock
from cloudbill.kernel.errors import CloudbillError
from cloudbill.kernel.periods import (
    Period,
    add_months,
    hour_floor,
    month_of,
    month_period,
    parse_month,
    split_by_hour,
    utc,
)


def test_split_across_an_hour_boundary_by_seconds() -> None:
    pieces = list(split_by_hour(Period(utc(2026, 1, 1, 9, 59, 30), utc(2026, 1, 1, 11, 0, 10))))
    assert [(p.start, p.seconds) for p in pieces] == [
        (utc(2026, 1, 1, 9, 59, 30), 30),
        (utc(2026, 1, 1, 10), 3600),
        (utc(2026, 1, 1, 11), 10),
    ]


def test_a_period_ending_on_the_hour_does_not_touch_the_next() -> None:
    pieces = list(split_by_hour(Period(utc(2026, 1, 1, 9, 15), utc(2026, 1, 1, 10))))
    assert len(pieces) == 1 and pieces[0].end == utc(2026, 1, 1, 10)
    assert not Period(utc(2026, 1, 1, 9), utc(2026, 1, 1, 10)).contains(utc(2026, 1, 1, 10))


@given(
    st.datetimes(
        min_value=utc(2020, 1, 1).replace(tzinfo=None),
        max_value=utc(2030, 1, 1).replace(tzinfo=None),
    ),
    st.integers(min_value=0, max_value=3 * 86400),
)
def test_split_pieces_cover_the_period_exactly(start, seconds) -> None:  # type: ignore[no-untyped-def]
    period = Period(start, start + timedelta(seconds=seconds))
    pieces = list(split_by_hour(period))
    assert sum(p.microseconds for p in pieces) == period.microseconds
    for piece in pieces:
        assert hour_floor(piece.start) == hour_floor(piece.end - timedelta(microseconds=1))


@pytest.mark.parametrize(
    ("anchor", "months", "expected"),
    [
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2026, 1, 31), 2, date(2026, 3, 31)),  # from the anchor, not from Feb 28
        (date(2028, 1, 31), 1, date(2028, 2, 29)),  # leap year
        (date(2028, 2, 29), 12, date(2029, 2, 28)),
        (date(2028, 2, 29), 48, date(2032, 2, 29)),
        (date(2026, 8, 31), 1, date(2026, 9, 30)),
        (date(2026, 12, 15), 1, date(2027, 1, 15)),
        (date(2026, 3, 30), 11, date(2027, 2, 28)),
    ],
)
def test_add_months_clamps_to_the_last_day(anchor: date, months: int, expected: date) -> None:
    assert add_months(anchor, months) == expected


def test_month_boundaries_follow_the_customer_zone() -> None:
    march = month_period(2026, 3, "Asia/Shanghai")
    assert march.start == utc(2026, 2, 28, 16)
    assert march.end == utc(2026, 3, 31, 16)
    assert month_of(utc(2026, 3, 31, 16, 30), "Asia/Shanghai") == (2026, 4)
    assert month_of(utc(2026, 3, 31, 16, 30), "UTC") == (2026, 3)


def test_daylight_saving_month_has_its_true_length() -> None:
    march = month_period(2026, 3, "Europe/Berlin")
    assert march.end - march.start == timedelta(days=31) - timedelta(hours=1)


def test_bad_month_and_zone_are_refused() -> None:
    with pytest.raises(CloudbillError):
        parse_month("2026-13")
    with pytest.raises(CloudbillError):
        month_period(2026, 1, "Mars/Olympus")


def test_manual_clock_only_moves_forward() -> None:
    clock = ManualClock(utc(2026, 1, 1))
    clock.advance(days=16)
    assert clock.now() == utc(2026, 1, 17)
    with pytest.raises(ValueError):
        clock.advance(timedelta(seconds=-1))
