"""Half-open periods `[start, end)` in UTC, hours, and calendar months in a customer's zone."""

from __future__ import annotations

import calendar
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from .clock import ensure_utc
from .errors import CloudbillError, ErrorCode
from .limits import MONTH_YEAR_MAX, MONTH_YEAR_MIN

HOUR = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class Period:
    """`[start, end)`, both UTC-aware."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", ensure_utc(self.start))
        object.__setattr__(self, "end", ensure_utc(self.end))
        if self.end < self.start:
            raise CloudbillError(ErrorCode.INVALID_ARGUMENT, "a period cannot end before it starts")

    @property
    def seconds(self) -> int:
        """Whole seconds (metering is per second; sub-second parts are dropped)."""
        return self.microseconds // 1_000_000

    @property
    def microseconds(self) -> int:
        """The exact length, for proportional splits that must add up."""
        delta = self.end - self.start
        return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds

    def contains(self, instant: datetime) -> bool:
        return self.start <= ensure_utc(instant) < self.end

    def overlap(self, other: Period) -> Period | None:
        start, end = max(self.start, other.start), min(self.end, other.end)
        return Period(start, end) if start < end else None


def hour_floor(instant: datetime) -> datetime:
    return ensure_utc(instant).replace(minute=0, second=0, microsecond=0)


def hour_of(instant: datetime) -> Period:
    start = hour_floor(instant)
    return Period(start, start + HOUR)


def split_by_hour(period: Period) -> Iterator[Period]:
    """The pieces of `period` inside each UTC clock hour it touches, in order."""
    cursor = period.start
    while cursor < period.end:
        boundary = hour_floor(cursor) + HOUR
        piece_end = min(boundary, period.end)
        yield Period(cursor, piece_end)
        cursor = piece_end


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise CloudbillError(
            ErrorCode.INVALID_ARGUMENT,
            f"unknown time zone {name!r}: use an IANA name such as Asia/Shanghai or UTC",
        ) from None


def is_known_zone(name: str) -> bool:
    return name in available_timezones() or name == "UTC"


def add_months(anchor: date, months: int) -> date:
    """The same day of the month `months` later, clamped to the last day of a shorter month.

    Always computed from the original anchor, so Jan 31 + 1 = Feb 28/29 and Jan 31 + 2 = Mar 31.
    """
    index = anchor.year * 12 + (anchor.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    last = calendar.monthrange(year, month)[1]
    return date(year, month, min(anchor.day, last))


def month_period(year: int, month: int, tz_name: str = "UTC") -> Period:
    """The calendar month in the customer's time zone, as a UTC period."""
    tz = zone(tz_name)
    start_local = datetime.combine(date(year, month, 1), time(0), tzinfo=tz)
    nxt = add_months(date(year, month, 1), 1)
    end_local = datetime.combine(nxt, time(0), tzinfo=tz)
    return Period(start_local.astimezone(UTC), end_local.astimezone(UTC))


def month_of(instant: datetime, tz_name: str = "UTC") -> tuple[int, int]:
    local = ensure_utc(instant).astimezone(zone(tz_name))
    return local.year, local.month


def parse_month(text: str) -> tuple[int, int]:
    """`YYYY-MM` -> (year, month)."""
    try:
        year_s, month_s = text.strip().split("-")
        year, month = int(year_s), int(month_s)
        # Years far from datetime's year-1 and year-9999 edges keep zone arithmetic safe.
        if len(year_s) != 4 or not 1 <= month <= 12 or not MONTH_YEAR_MIN <= year <= MONTH_YEAR_MAX:
            raise ValueError
    except (ValueError, AttributeError):
        raise CloudbillError(
            ErrorCode.INVALID_ARGUMENT,
            f"month must be YYYY-MM between {MONTH_YEAR_MIN} and {MONTH_YEAR_MAX}, got {text!r}",
        ) from None
    return year, month


def parse_instant(text: str) -> datetime:
    """ISO 8601 from outside; a naive value is taken as UTC."""
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        raise CloudbillError(
            ErrorCode.INVALID_ARGUMENT, f"not an ISO 8601 instant: {text!r}"
        ) from None
    return ensure_utc(value)


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
