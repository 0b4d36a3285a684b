"""Pure: how much of a paid yearly/monthly period is still to run when its spec changes, by
Huawei's calendar rule ("Pricing of a Changed Specification", Billing Center user guide).

A monthly term's remaining duration is the days left in the current calendar month (the day of
the change excluded) over that month's days, plus the whole calendar months, plus the days of
the last month over its days; a yearly term's is the days left (the day of the change excluded,
February 29 never counted) over 365. Days are the customer's calendar days, and the expiry day
counts (a term ends at the end of its expiry day). The share is an exact fraction, so it keeps
far more than the eight decimals Huawei asks for; the money is rounded once, where it is made.
"""

from __future__ import annotations

import calendar
from datetime import date, datetime, timedelta
from fractions import Fraction

from ..kernel.clock import ensure_utc
from ..kernel.periods import zone

DAY = timedelta(days=1)
INSTANT = timedelta(microseconds=1)
YEAR_DAYS = 365


def calendar_months(first: date, last: date) -> Fraction:
    """Months from `first` to `last`, both days included: each calendar month touched counts
    its covered days over its own number of days (a whole month counts 1)."""
    months = Fraction(0)
    year, month = first.year, first.month
    while (year, month) <= (last.year, last.month):
        days_in = calendar.monthrange(year, month)[1]
        start = first.day if (year, month) == (first.year, first.month) else 1
        end = last.day if (year, month) == (last.year, last.month) else days_in
        months += Fraction(end - start + 1, days_in)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def days_without_leap_day(first: date, last: date) -> int:
    """Days from `first` to `last`, both included, February 29 not counted."""
    days = (last - first).days + 1
    for year in range(first.year, last.year + 1):
        if calendar.isleap(year) and first <= date(year, 2, 29) <= last:
            days -= 1
    return days


def remaining_share(
    *,
    period_start: datetime,
    period_end: datetime,
    period_unit: str,
    period_count: int,
    now: datetime,
    tz_name: str,
) -> Fraction:
    """The share of a period's price still to run at `now` (0 to 1): the remaining duration in
    the period's unit (months, years, or days for a unified-expiry renewal) over the period's
    count of that unit. A period not begun is all remaining; the share never exceeds 1 (a change
    on a period's first day leaves a calendar remainder that can pass its count)."""
    now, period_start, period_end = (
        ensure_utc(now),
        ensure_utc(period_start),
        ensure_utc(period_end),
    )
    if now < period_start:
        return Fraction(1)
    if now >= period_end or period_count <= 0:
        return Fraction(0)
    tz = zone(tz_name)
    first = now.astimezone(tz).date() + DAY  # the day of the change is excluded
    last = (period_end - INSTANT).astimezone(tz).date()  # the expiry day is included
    if first > last:
        return Fraction(0)
    if period_unit == "year":
        remaining = Fraction(days_without_leap_day(first, last), YEAR_DAYS)
    elif period_unit == "month":
        remaining = calendar_months(first, last)
    else:  # "day": the days a unified-expiry renewal bought
        remaining = Fraction((last - first).days + 1)
    return min(remaining, Fraction(period_count)) / period_count
