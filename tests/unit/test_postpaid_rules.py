"""Pure post-paid rules: cycles in the customer's zone, billing day, due date, oldest first."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from cloudbill.postpaid.rules import BillStatus, cycle, cycle_containing, outstanding, status


def test_a_cycle_is_the_calendar_month_in_the_customer_zone() -> None:
    c = cycle(2026, 3, "Asia/Shanghai", billing_day=3, repayment_days=15)
    assert c.start == datetime(2026, 2, 28, 16, tzinfo=UTC)
    assert c.end == datetime(2026, 3, 31, 16, tzinfo=UTC)
    assert c.issue_at == datetime(2026, 4, 2, 16, tzinfo=UTC)  # 3 April 00:00 in Shanghai
    assert c.due_at == datetime(2026, 4, 18, 16, tzinfo=UTC)  # after the whole of 18 April


def test_daylight_saving_and_year_end() -> None:
    c = cycle(2026, 12, "Europe/Berlin", billing_day=1, repayment_days=0)
    assert c.issue_at == datetime(2026, 12, 31, 23, tzinfo=UTC)  # 1 January, CET
    assert c.due_at == datetime(2027, 1, 1, 23, tzinfo=UTC)  # due by the end of that day
    march = cycle(2026, 3, "Europe/Berlin", billing_day=3, repayment_days=15)
    assert march.issue_at == datetime(2026, 4, 2, 22, tzinfo=UTC)  # CEST by then


def test_the_instant_at_a_month_boundary_belongs_to_the_new_month() -> None:
    at = datetime(2026, 3, 31, 16, tzinfo=UTC)  # 1 April 00:00 in Shanghai
    assert cycle_containing(at, "Asia/Shanghai", billing_day=3, repayment_days=15).month == 4


def test_repayments_pay_the_oldest_bill_first() -> None:
    assert outstanding([100, 50, 70], 0) == [100, 50, 70]
    assert outstanding([100, 50, 70], 120) == [0, 30, 70]
    assert outstanding([100, 50, 70], 500) == [0, 0, 0]


@given(st.lists(st.integers(0, 10**12), max_size=8), st.integers(0, 10**13))
def test_outstanding_is_what_was_billed_minus_what_was_repaid(amounts, repaid) -> None:  # type: ignore[no-untyped-def]
    left = outstanding(amounts, repaid)
    assert sum(left) == max(0, sum(amounts) - repaid)
    assert all(0 <= rest <= amount for rest, amount in zip(left, amounts, strict=True))
    # once a bill has something outstanding, every newer bill is untouched
    first_open = next((i for i, rest in enumerate(left) if rest), len(left))
    assert left[first_open + 1 :] == amounts[first_open + 1 :]


def test_status() -> None:
    due = datetime(2026, 4, 18, 16, tzinfo=UTC)
    assert status(0, due, due) is BillStatus.PAID
    assert status(1, due, datetime(2026, 4, 18, 15, 59, tzinfo=UTC)) is BillStatus.UNPAID
    assert status(1, due, due) is BillStatus.OVERDUE
