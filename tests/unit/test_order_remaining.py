"""The remaining share of a paid period at a spec change, by Huawei's calendar rule
(orders/remaining.py). Each worked example names the Huawei page it comes from."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from cloudbill.kernel.money import Rounding
from cloudbill.kernel.periods import add_months, utc
from cloudbill.orders.remaining import calendar_months, days_without_leap_day, remaining_share
from cloudbill.orders.rules import scale
from cloudbill.subscriptions.rules import end_of_day

SHANGHAI = "Asia/Shanghai"


def local(day: date, hour: int, tz: str = SHANGHAI) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=ZoneInfo(tz)).astimezone(UTC)


def share(start: datetime, end: datetime, unit: str, count: int, now: datetime, tz: str = SHANGHAI):  # type: ignore[no-untyped-def]
    return remaining_share(
        period_start=start,
        period_end=end,
        period_unit=unit,
        period_count=count,
        now=now,
        tz_name=tz,
    )


def test_huaweis_three_month_ecs_example() -> None:
    """https://support.huaweicloud.com/en-us/usermanual-billing/renewals_topic_60000001.html:
    a 3-month ECS from Aug 15 to Nov 15, 2021, changed on Aug 24: 7/31 + 2 + 15/30 months
    remain (the page prints 2.75; the terms add up to 2.7258...)."""
    start, end = local(date(2021, 8, 15), 10), end_of_day(date(2021, 11, 15), SHANGHAI)
    got = share(start, end, "month", 3, local(date(2021, 8, 24), 16))
    assert got == (Fraction(7, 31) + 2 + Fraction(15, 30)) / 3
    assert f"{float(got * 3):.4f}" == "2.7258"


def test_huaweis_three_year_astro_zero_example() -> None:
    """https://support.huaweicloud.com/intl/tr-tr/price-astrozero/astrozero_price_0003.html:
    3 years from Nov 1, 2023 to Nov 1, 2026, changed on May 1, 2024:
    244/365 + 1 + 305/365 = 2.50 years remain."""
    start, end = local(date(2023, 11, 1), 9), end_of_day(date(2026, 11, 1), SHANGHAI)
    got = share(start, end, "year", 3, local(date(2024, 5, 1), 9))
    assert got * 3 == Fraction(244, 365) + 1 + Fraction(305, 365)
    assert f"{float(got * 3):.2f}" == "2.50"


def test_huaweis_china_site_examples() -> None:
    """https://support.huaweicloud.com/topic/1167971-3-A (China site, "包年/包月概述" and
    "单机转主备实例"): remaining = 12 days left in April / 30 + 8 days in May / 31 = 0.6581;
    and 15 days left in June / 30 = 0.5, so an upgrade from 230 to 400 a month costs
    400 x 0.5 - 230 x 0.5 = 85."""
    april = share(
        local(date(2024, 4, 8), 11),
        end_of_day(date(2024, 5, 8), SHANGHAI),
        "month",
        1,
        local(date(2024, 4, 18), 15),
    )
    assert april == Fraction(12, 30) + Fraction(8, 31)
    assert f"{float(april):.4f}" == "0.6581"
    june = share(
        local(date(2024, 5, 30), 11),
        end_of_day(date(2024, 6, 30), SHANGHAI),
        "month",
        1,
        local(date(2024, 6, 15), 15),
    )
    assert june == Fraction(1, 2)
    yuan = 10**8
    fee = scale(
        400 * yuan - 230 * yuan,
        june.numerator,
        june.denominator,
        digits=2,
        rounding=Rounding.HALF_UP,
    )
    assert fee == 85 * yuan


def test_a_yearly_term_never_counts_february_29() -> None:
    start, end = local(date(2024, 1, 10), 9), end_of_day(date(2025, 1, 10), SHANGHAI)
    # Feb 2, 2024 to Jan 10, 2025: 344 days, less Feb 29
    assert share(start, end, "year", 1, local(date(2024, 2, 1), 9)) == Fraction(343, 365)
    assert days_without_leap_day(date(2024, 2, 28), date(2024, 3, 1)) == 2


def test_days_are_the_customers_calendar_days() -> None:
    start, end = utc(2026, 3, 16, 9, 0, 0), end_of_day(date(2026, 4, 16), "UTC")
    # 31 March 17:00 UTC is still 31 March in UTC, already 1 April in Shanghai
    now = utc(2026, 3, 31, 17, 0, 0)
    assert share(start, end, "month", 1, now, "UTC") == Fraction(16, 30)
    shanghai_end = end_of_day(date(2026, 4, 16), SHANGHAI)
    assert share(start, shanghai_end, "month", 1, now) == Fraction(15, 30)


def test_not_begun_whole_ended_nothing_and_never_more_than_the_period() -> None:
    start, end = local(date(2026, 3, 16), 9), end_of_day(date(2026, 4, 16), SHANGHAI)
    assert share(start, end, "month", 1, start - timedelta(hours=1)) == 1
    assert share(start, end, "month", 1, end) == 0
    assert share(start, end, "month", 1, local(date(2026, 4, 16), 20)) == 0  # its last day
    # changed on its first day: 15/31 + 16/30 months > 1 calendar remainder, capped at the term
    assert share(start, end, "month", 1, local(date(2026, 3, 16), 10)) == 1
    # a unified-expiry renewal of 10 days: days over days
    days_end = end_of_day(date(2026, 4, 26), SHANGHAI)
    assert share(end, days_end, "day", 10, local(date(2026, 4, 20), 9)) == Fraction(6, 10)


def test_calendar_months_across_a_year_end() -> None:
    assert calendar_months(date(2025, 12, 17), date(2026, 2, 14)) == (
        Fraction(15, 31) + 1 + Fraction(14, 28)
    )


@given(
    start_day=st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31)),
    unit_count=st.sampled_from(
        [("month", 1), ("month", 3), ("month", 9), ("year", 1), ("year", 3)]
    ),
    offset_h=st.integers(min_value=0, max_value=3 * 366 * 24),
    step_h=st.integers(min_value=1, max_value=2000),
    tz=st.sampled_from(["UTC", SHANGHAI, "America/New_York"]),
)
def test_the_share_is_between_0_and_1_and_never_grows(  # type: ignore[no-untyped-def]
    start_day, unit_count, offset_h, step_h, tz
) -> None:
    unit, count = unit_count
    months = count * (12 if unit == "year" else 1)
    start = local(start_day, 10, tz)
    end = end_of_day(add_months(start_day, months), tz)
    now = start + timedelta(hours=offset_h)
    a, b = (
        share(start, end, unit, count, now, tz),
        share(start, end, unit, count, now + timedelta(hours=step_h), tz),
    )
    assert 0 <= b <= a <= 1
