"""Pure cost rules: which records are spread, over which days, and each day's exact share.

A yearly/monthly purchase pays for the local days from its period's first day up to (not
including) the day it ends on, at least one: a year bought on 5 Jan at 14:00 pays for 5 Jan to
4 Jan, 365 or 366 days. Each day gets an equal share, and the shares are the differences of
floor(amount x k / days), so the remainder of the division is carried day to day and the
days of a period add up to the order exactly (a refund's negative amount too).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta

from ..expenditure.model import BillType
from ..kernel.errors import CloudbillError, ErrorCode
from ..kernel.limits import COSTS_DAYS_MAX, COSTS_GROUP_BY_MAX, COSTS_MONTHS_MAX
from ..kernel.periods import add_months, zone
from .model import CostQuery, Granularity

# What a purchase of a period pays for: spread in amortized costs. Refunds, the handling fee
# kept from them and adjustments stay on the day they happened; usage on the hour it was used.
SPREAD_BILL_TYPES = frozenset(
    {
        BillType.NEW_PURCHASE,
        BillType.CONVERSION,
        BillType.RENEWAL,
        BillType.AUTO_RENEWAL,
        BillType.UPGRADE,
    }
)


def validity_days(period_start: datetime, period_end: datetime, tz_name: str) -> tuple[date, int]:
    """The first local day a period pays for and how many days it pays for."""
    tz = zone(tz_name)
    first = period_start.astimezone(tz).date()
    last = period_end.astimezone(tz).date()
    return first, max(1, (last - first).days)


def day_share(units: int, days: int, index: int) -> int:
    """Day `index`'s share (0-based) of `units` spread over `days`; floor division carries the
    remainder so that the shares of all days sum to `units` exactly."""
    return (units * (index + 1)) // days - (units * index) // days


def spread(
    units: int, first: date, days: int, window_first: date, window_last: date
) -> Iterator[tuple[date, int]]:
    """Each day's share of `units` over the days from `first`, only those inside the window."""
    start = max(0, (window_first - first).days)
    stop = min(days, (window_last - first).days + 1)
    for index in range(start, stop):
        yield first + timedelta(days=index), day_share(units, days, index)


def label(day: date, granularity: Granularity) -> str:
    return day.isoformat() if granularity is Granularity.DAY else day.strftime("%Y-%m")


def labels(query: CostQuery) -> list[str]:
    """The query's buckets in order."""
    if query.granularity is Granularity.DAY:
        count = (query.last - query.first).days + 1
        return [(query.first + timedelta(days=i)).isoformat() for i in range(count)]
    result = []
    month = query.first.replace(day=1)
    while month <= query.last:
        result.append(month.strftime("%Y-%m"))
        month = add_months(month, 1)
    return result


def month_window(first_month: date, last_month: date) -> tuple[date, date]:
    """The first day of the first month and the last day of the last."""
    return first_month.replace(day=1), add_months(last_month.replace(day=1), 1) - timedelta(1)


def check(query: CostQuery) -> None:
    """Refuse what the Cost Center refuses: an empty or too long range, too many group-bys."""
    if query.last < query.first:
        raise CloudbillError(
            ErrorCode.INVALID_ARGUMENT, "the range ends before it begins", field="last"
        )
    if query.granularity is Granularity.DAY:
        if (query.last - query.first).days + 1 > COSTS_DAYS_MAX:
            raise CloudbillError(
                ErrorCode.LIMIT_EXCEEDED,
                f"costs by day cover at most {COSTS_DAYS_MAX} days",
                field="first",
            )
    elif len(labels(query)) > COSTS_MONTHS_MAX:
        raise CloudbillError(
            ErrorCode.LIMIT_EXCEEDED,
            f"costs by month cover at most {COSTS_MONTHS_MAX} months",
            field="first",
        )
    if len(query.group_by) > COSTS_GROUP_BY_MAX or len(set(query.group_by)) != len(query.group_by):
        raise CloudbillError(
            ErrorCode.INVALID_ARGUMENT,
            f"group by at most {COSTS_GROUP_BY_MAX} different dimensions",
            field="group_by",
        )
