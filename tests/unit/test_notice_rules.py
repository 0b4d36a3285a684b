"""Pure rules of customer notices: which reminder is due (only the nearest), how many days are
left, how amounts and instants read, and which channels a customer can be reached on."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cloudbill.kernel.periods import utc
from cloudbill.notify.notices.rules import (
    Route,
    amount,
    days_left,
    due_reminder,
    local_time,
    parse_days,
    routes,
)

DEADLINE = utc(2026, 4, 2, 2, 0, 0)
CADENCE = (1, 3, 7)


@pytest.mark.parametrize(
    ("before", "expected"),
    [
        (timedelta(days=8), None),  # too early
        (timedelta(days=7), 7),  # exactly on time
        (timedelta(days=6, hours=23), 7),
        (timedelta(days=3), 3),  # 7 and 3 have come: only the nearest
        (timedelta(days=2, hours=12), 3),  # the job was down since day 8: one, not a burst
        (timedelta(hours=1), 1),
        (timedelta(0), None),  # the deadline itself: the lifecycle acts, no reminder
        (-timedelta(days=1), None),
    ],
)
def test_due_reminder_is_the_nearest_whose_time_has_come(before, expected) -> None:  # type: ignore[no-untyped-def]
    assert due_reminder(DEADLINE, CADENCE, now=DEADLINE - before) == expected


@given(st.integers(min_value=1, max_value=60 * 24 * 10))
def test_due_reminder_never_says_more_days_than_are_left(minutes_before: int) -> None:
    now = DEADLINE - timedelta(minutes=minutes_before)
    n = due_reminder(DEADLINE, CADENCE, now=now)
    if n is not None:
        assert days_left(DEADLINE, now=now) <= n
        assert all(m >= n or DEADLINE - timedelta(days=m) > now for m in CADENCE)


def test_days_left_rounds_up() -> None:
    assert days_left(DEADLINE, now=DEADLINE - timedelta(days=3)) == 3
    assert days_left(DEADLINE, now=DEADLINE - timedelta(days=2, hours=1)) == 3
    assert days_left(DEADLINE, now=DEADLINE) == 0


def test_cadence_setting() -> None:
    assert parse_days("7,3,1") == (1, 3, 7)
    assert parse_days(" 14 , 7,7 ") == (7, 14)
    assert parse_days("") == ()
    assert due_reminder(DEADLINE, (), now=DEADLINE - timedelta(hours=1)) is None


def test_amounts_are_exact_with_their_currency() -> None:
    assert amount("12.5", "USD") == "12.50 USD"
    assert amount(12_345_678, "USD") == "0.12345678 USD"
    assert amount("1000", "JPY") == "1000 JPY"


def test_instants_in_the_customer_time_zone() -> None:
    assert local_time(DEADLINE, "Asia/Shanghai") == "2026-04-02 10:00 Asia/Shanghai"
    assert local_time(DEADLINE.isoformat(), "UTC") == "2026-04-02 02:00 UTC"


def test_routes_say_why_a_channel_is_skipped() -> None:
    assert routes(email="a@b.example", mobile=None, smtp=True, sms=True) == [
        Route("email", "a@b.example", None),
        Route("sms", None, "no mobile number"),
    ]
    assert routes(email="a@b.example", mobile="+1", smtp=False, sms=True) == [
        Route("email", "a@b.example", "SMTP not configured"),
        Route("sms", "+1", None),
    ]
