"""Pure rules of post-paid bills.

A billing cycle is a calendar month in the customer's time zone. Its bill is issued on the
billing day of the following month (Huawei issues on the 3rd), so usage of the month's last
hours, settled after midnight, is still on it; it is due `repayment_days` days later, at the end
of that day. What is unpaid after the due date is overdue and puts the customer in arrears.

Repayments pay the oldest bill first. Bills are immutable: how much of each is still
outstanding is derived from the total repaid, walking the bills from the oldest.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum

from ..kernel.periods import add_months, month_of, month_period, zone


class BillStatus(StrEnum):
    UNPAID = "unpaid"  # issued, not yet due
    OVERDUE = "overdue"  # due date passed with something outstanding
    PAID = "paid"


@dataclass(frozen=True, slots=True)
class Cycle:
    year: int
    month: int
    start: datetime  # UTC, the month's first instant in the customer's zone
    end: datetime
    issue_at: datetime  # the billing day of the next month, 00:00 in the customer's zone
    due_at: datetime  # overdue from this instant: the end of the due date


def cycle(year: int, month: int, tz_name: str, *, billing_day: int, repayment_days: int) -> Cycle:
    period = month_period(year, month, tz_name)
    tz = zone(tz_name)
    issue_date = add_months(date(year, month, 1), 1).replace(day=billing_day)
    issue_at = datetime.combine(issue_date, time(0), tzinfo=tz)
    due_date = issue_date + timedelta(days=repayment_days)
    due_at = datetime.combine(due_date + timedelta(days=1), time(0), tzinfo=tz)
    return Cycle(
        year,
        month,
        period.start,
        period.end,
        issue_at.astimezone(period.start.tzinfo),
        due_at.astimezone(period.start.tzinfo),
    )


def cycle_containing(
    instant: datetime, tz_name: str, *, billing_day: int, repayment_days: int
) -> Cycle:
    year, month = month_of(instant, tz_name)
    return cycle(year, month, tz_name, billing_day=billing_day, repayment_days=repayment_days)


def next_cycle(c: Cycle, tz_name: str, *, billing_day: int, repayment_days: int) -> Cycle:
    following = add_months(date(c.year, c.month, 1), 1)
    return cycle(
        following.year,
        following.month,
        tz_name,
        billing_day=billing_day,
        repayment_days=repayment_days,
    )


def previous_cycle(c: Cycle, tz_name: str, *, billing_day: int, repayment_days: int) -> Cycle:
    before = add_months(date(c.year, c.month, 1), -1)
    return cycle(
        before.year, before.month, tz_name, billing_day=billing_day, repayment_days=repayment_days
    )


def outstanding(amounts_oldest_first: list[int], repaid_total: int) -> list[int]:
    """What is left of each bill when `repaid_total` paid the oldest bills first."""
    left = max(0, repaid_total)
    out = []
    for amount in amounts_oldest_first:
        paid = min(amount, left)
        left -= paid
        out.append(amount - paid)
    return out


def status(outstanding_units: int, due_at: datetime, now: datetime) -> BillStatus:
    if outstanding_units == 0:
        return BillStatus.PAID
    return BillStatus.OVERDUE if now >= due_at else BillStatus.UNPAID
