"""Reset periods of a resource package: when its quantity is cleared and restored.

Huawei ("Resource Package Usage Rules", https://support.huaweicloud.com/intl/en-us/
usermanual-billing/renewals_topic_30000003.html): a resettable package's capacity "is cleared at
the end of each reset period and restored at the beginning of the next". The BSS API names two
monthly modes: by calendar period (resets on the 1st) and by subscription cycle (bought on the
15th, resets on the 15th). A daily reset at a given hour is cloudbill's own (issue 15).

All boundaries are local times of the customer's zone, returned as UTC instants:
- none: one period, the whole validity;
- daily: every day at `reset_hour`:00;
- monthly_purchase_day: every month on the day and at the time of day the validity starts; a
  day the month lacks (the 31st in April, the 29th-31st in February) is that month's last day,
  always counted from the original day (Jan 31 -> Feb 28 -> Mar 31), like a subscription;
- monthly_calendar: the 1st of every month at 00:00.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum

from .clock import ensure_utc
from .periods import Period, add_months, month_of, month_period, zone


class ResetKind(StrEnum):
    NONE = "none"
    DAILY = "daily"
    MONTHLY_PURCHASE_DAY = "monthly_purchase_day"
    MONTHLY_CALENDAR = "monthly_calendar"


RESET_KINDS = tuple(str(kind) for kind in ResetKind)


def _local(day: date, at: time, tz_name: str) -> datetime:
    """A local wall time as UTC. zoneinfo resolves a time skipped by a DST change forward and a
    repeated one to its first occurrence (fold=0), so every day has exactly one boundary."""
    return datetime.combine(day, at, tzinfo=zone(tz_name)).astimezone(UTC)


def _daily(instant: datetime, hour: int, tz_name: str) -> Period:
    day = instant.astimezone(zone(tz_name)).date()
    start = _local(day, time(hour), tz_name)
    if start > instant:
        day -= timedelta(days=1)
        start = _local(day, time(hour), tz_name)
    return Period(start, _local(day + timedelta(days=1), time(hour), tz_name))


def _purchase_day(instant: datetime, anchor: datetime, tz_name: str) -> Period:
    local = anchor.astimezone(zone(tz_name))
    day, at = local.date(), local.time().replace(tzinfo=None)
    year, month = month_of(instant, tz_name)
    # The period containing `instant` starts in its local month or the one before.
    months = (year * 12 + month) - (day.year * 12 + day.month)
    start = _local(add_months(day, months), at, tz_name)
    if start > instant:
        months -= 1
        start = _local(add_months(day, months), at, tz_name)
    return Period(start, _local(add_months(day, months + 1), at, tz_name))


def reset_period(
    kind: ResetKind, *, reset_hour: int | None, valid_from: datetime, valid_to: datetime,
    tz_name: str, instant: datetime,
) -> Period:  # fmt: skip
    """The period containing `instant`: the validity when the package never resets, else the
    reset period, not clipped to the validity (it may start before `valid_from`; its start keys
    the period's used quantity)."""
    instant = ensure_utc(instant)
    if kind is ResetKind.NONE:
        return Period(valid_from, valid_to)
    if kind is ResetKind.DAILY:
        assert reset_hour is not None and 0 <= reset_hour <= 23, "a daily reset has an hour"
        return _daily(instant, reset_hour, tz_name)
    if kind is ResetKind.MONTHLY_PURCHASE_DAY:
        return _purchase_day(instant, ensure_utc(valid_from), tz_name)
    if kind is ResetKind.MONTHLY_CALENDAR:
        return month_period(*month_of(instant, tz_name), tz_name)
    raise AssertionError(f"unknown reset kind {kind!r}")
