"""A post-paid customer on the simulated clock: usage accrues against the credit limit, the
month's bill is issued on the billing day (the 3rd, customer time zone Asia/Shanghai) with a due
date, a partial repayment leaves it unpaid, after the due date it is overdue and the arrears
lifecycle starts (grace from the due date), and repaying the oldest bill ends arrears at once
while the next month's charges stay unbilled. Late usage joins the next bill, never lost."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from cloudbill.bills import service as bill_service
from cloudbill.customers import service as customers
from cloudbill.kernel.errors import CloudbillError, ErrorCode
from cloudbill.kernel.money import SCALE
from cloudbill.postpaid import service as postpaid
from cloudbill.postpaid.rules import BillStatus
from cloudbill.resources import service as resources
from cloudbill.resources.model import ResourceInput
from cloudbill.store import clock_repo
from cloudbill.store.schema import outbox_event, resource
from cloudbill.worker.jobs import run_due

from ..conftest import T0
from ..helpers import assert_books_balance, new_customer, snapshot
from .test_orders import buy, pay
from .test_settlement import VM, meter, register, topup

HOURLY = Decimal("0.0781")
ZONE = "Asia/Shanghai"  # UTC+8, no daylight saving
MARCH_BILL_AT = datetime(2026, 4, 2, 16, tzinfo=UTC)  # 3 April 00:00 in Shanghai
MARCH_DUE_AT = datetime(2026, 4, 18, 16, tzinfo=UTC)  # end of 18 April (3 April + 15 days)


def units(value: Decimal | str) -> int:
    return int(Decimal(value) * SCALE)


def go_to(container, instant: datetime) -> None:  # type: ignore[no-untyped-def]
    container.write(lambda conn, now: clock_repo.advance(conn, instant - now))


def hourly_records(tag: str, start: datetime, hours: int) -> list[tuple]:
    return [
        (f"{tag}-{h}", "vm-1", "duration", "3600", (start + timedelta(hours=h)).isoformat(),
         (start + timedelta(hours=h + 1)).isoformat(), "s")
        for h in range(hours)
    ]  # fmt: skip


def bills(container, customer_id):  # type: ignore[no-untyped-def]
    return container.read(lambda conn, now: postpaid.views(conn, customer_id, now=now))


def figures(container, customer_id):  # type: ignore[no-untyped-def]
    return container.read(
        lambda conn, now: customers.overview(conn, customers.get(conn, customer_id), now)
    )


def topics(container, customer_id):  # type: ignore[no-untyped-def]
    with container.db.read() as conn:
        return conn.execute(
            select(outbox_event.c.topic, outbox_event.c.payload)
            .where(outbox_event.c.subject_id.in_([customer_id, "vm-1"]))
            .order_by(outbox_event.c.id)
        ).all()


def vm_status(container):  # type: ignore[no-untyped-def]
    with container.db.read() as conn:
        return conn.execute(
            select(resource.c.status, resource.c.status_since).where(resource.c.id == "vm-1")
        ).one()


@pytest.fixture
def beta(container):  # type: ignore[no-untyped-def]
    customer = new_customer(
        container, "beta", payment_mode="postpaid", credit_limit="100", timezone=ZONE
    )
    register(container, customer.id, "vm-1")
    return customer


def test_postpaid_customer_goes_overdue_then_repays(container, beta) -> None:  # type: ignore[no-untyped-def]
    # March: a day of usage, then the month's last hour (23:00 Shanghai) and the first hour of
    # April (00:00 Shanghai), both settled after midnight in Shanghai.
    go_to(container, T0 + timedelta(days=1))
    meter(container, *hourly_records("mar", T0, 24))
    last_hours = datetime(2026, 3, 31, 15, tzinfo=UTC)
    go_to(container, last_hours + timedelta(hours=2))
    meter(container, *hourly_records("edge", last_hours, 2))
    go_to(container, MARCH_BILL_AT - timedelta(minutes=1))
    run_due(container)
    assert bills(container, beta.id) == []  # not yet the billing day
    unpaid = figures(container, beta.id)
    assert unpaid.unpaid_units == units(26 * HOURLY) and not unpaid.in_arrears
    assert unpaid.available_credit_units == units(100 - 26 * HOURLY)

    go_to(container, MARCH_BILL_AT)
    report = run_due(container)
    [march] = bills(container, beta.id)
    assert report.bills_issued == [march.id]
    assert (march.amount_units, march.outstanding_units) == (units(25 * HOURLY),) * 2
    assert (march.issued_at, march.due_at, march.status) == (
        MARCH_BILL_AT, MARCH_DUE_AT, BillStatus.UNPAID
    )  # fmt: skip
    assert march.period_start == datetime(2026, 2, 28, 16, tzinfo=UTC)  # 1 March, Shanghai
    overview = figures(container, beta.id)
    assert overview.billed_outstanding_units == units(25 * HOURLY)
    assert overview.overdue_units == 0 and not overview.in_arrears

    # Late usage of a March hour, sent after the March bill: billed once, on April's bill.
    meter(container, *hourly_records("late", datetime(2026, 3, 20, 1, tzinfo=UTC), 1))
    go_to(container, MARCH_BILL_AT + timedelta(hours=2))
    run_due(container)
    assert [b.amount_units for b in bills(container, beta.id)] == [units(25 * HOURLY)]

    # A partial repayment: the bill stays unpaid, the rest is what is outstanding.
    go_to(container, datetime(2026, 4, 10, 3, tzinfo=UTC))
    topup(container, beta.id, "1.00", "part")
    [march] = bills(container, beta.id)
    assert march.outstanding_units == units(25 * HOURLY - 1)
    assert march.status is BillStatus.UNPAID

    # Due date passes unpaid: overdue, in arrears from the due date, resources in grace.
    go_to(container, MARCH_DUE_AT - timedelta(minutes=1))
    assert run_due(container).overdue_customers == []
    go_to(container, MARCH_DUE_AT + timedelta(hours=5))
    report = run_due(container)
    assert report.overdue_customers == [beta.id]
    overview = figures(container, beta.id)
    assert overview.in_arrears and overview.arrears_since == MARCH_DUE_AT
    assert overview.overdue_units == units(25 * HOURLY - 1)
    assert tuple(vm_status(container)) == ("grace", MARCH_DUE_AT)
    started = [p for t, p in topics(container, beta.id) if t == "customer.arrears_started"]
    assert len(started) == 1 and '"reason": "postpaid bill overdue"' in started[0]
    with pytest.raises(CloudbillError) as refused:
        container.write(lambda conn, now: resources.register(conn, ResourceInput(
            customer_id=beta.id, resource_type=VM[0], spec=VM[1], billing_mode="pay_per_use",
            region="ap-southeast-1", name="vm-2", id="vm-2"), now=now))  # fmt: skip
    assert refused.value.code is ErrorCode.CUSTOMER_IN_ARREARS
    assert "overdue" in refused.value.message

    # Rerunning the jobs changes nothing.
    before = snapshot(container)
    run_due(container)
    assert snapshot(container) == before

    # Repaying the rest of the oldest bill (rounded up to the cent: 0.9525 -> 0.96) ends
    # arrears at once, though April's charges (not yet billed) are still unpaid; the extra
    # 0.0075 repays part of them.
    topup(container, beta.id, "0.96", "rest")
    overview = figures(container, beta.id)
    assert not overview.in_arrears and overview.arrears_since is None
    assert overview.overdue_units == 0 and overview.billed_outstanding_units == 0
    assert overview.unpaid_units > 0
    assert vm_status(container)[0] == "normal"
    [march] = bills(container, beta.id)
    assert march.status is BillStatus.PAID

    # May: April's bill holds April's first hour, the late March hour and April's usage while
    # in grace (vm-1 kept running: no usage was metered for it, so nothing else).
    go_to(container, datetime(2026, 5, 2, 16, tzinfo=UTC))
    run_due(container)
    march, april = bills(container, beta.id)
    assert april.amount_units == units(2 * HOURLY)
    assert april.outstanding_units == units(2 * HOURLY - Decimal("0.0075"))
    assert april.period_start == datetime(2026, 3, 31, 16, tzinfo=UTC)
    assert april.status is BillStatus.UNPAID
    assert figures(container, beta.id).unpaid_units == april.outstanding_units
    issued = [t for t, _ in topics(container, beta.id) if t == "customer.postpaid_bill_issued"]
    assert len(issued) == 2
    assert_books_balance(container)


def test_a_month_without_charges_gets_no_bill(container, beta) -> None:  # type: ignore[no-untyped-def]
    go_to(container, T0 + timedelta(hours=3))
    meter(container, *hourly_records("mar", T0, 1))
    while container.now() < datetime(2026, 6, 2, 16, tzinfo=UTC):  # 3 June, Shanghai
        go_to(container, container.now() + timedelta(days=5))
        run_due(container)  # the worker runs throughout
    assert [(b.period_start.month, b.amount_units) for b in bills(container, beta.id)] == [
        (2, units(HOURLY))  # the March cycle starts on 28 Feb 16:00 UTC
    ]


def test_a_prepaid_customer_gets_no_postpaid_bills(container) -> None:  # type: ignore[no-untyped-def]
    customer = new_customer(container, "gamma")
    topup(container, customer.id, "10", "seed")
    register(container, customer.id, "vm-1")
    go_to(container, T0 + timedelta(hours=3))
    meter(container, *hourly_records("mar", T0, 1))
    go_to(container, datetime(2026, 4, 5, tzinfo=UTC))
    run_due(container)
    assert bills(container, customer.id) == []


def test_an_order_paid_on_credit_is_on_the_postpaid_bill(container, beta) -> None:  # type: ignore[no-untyped-def]
    """Yearly/monthly money is post-paid money too: an order paid from the credit limit is on
    the month's post-paid bill and in the month's bill as credit, beside the usage fees."""
    go_to(container, T0 + timedelta(days=1))
    meter(container, *hourly_records("mar", T0, 24))
    order = pay(container, beta.id, buy(container, beta.id).id)
    assert order.credit_units == units("11.60")
    go_to(container, MARCH_BILL_AT - timedelta(days=1))
    run_due(container)  # the usage is settled before the billing day
    go_to(container, MARCH_BILL_AT)
    run_due(container)
    (bill,) = bills(container, beta.id)
    assert bill.amount_units == units(24 * HOURLY) + units("11.60")
    summary = container.read(
        lambda conn, _now: bill_service.monthly_summary(
            conn, beta.id, "2026-03", rounding="half_up"
        )
    )
    assert summary.exact.credit_units == bill.amount_units
    modes = {line.key: line.exact.credit_units for line in summary.breakdowns[2].lines}
    assert modes == {"pay_per_use": units(24 * HOURLY), "yearly_monthly": units("11.60")}
    assert_books_balance(container)
