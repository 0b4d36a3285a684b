"""Hourly settlement on the billing calendar, on both databases.

Each test reads like the calendar: register, meter, advance the clock, run the worker, then
look at fee records, balances, events and the books. Figures are computed by hand from the
default catalog's prices (s6.large.2: 0.0781 USD/h; EIP traffic: 0.12/GB to 10 TB, then 0.10).
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from cloudbill.customers import service as customers
from cloudbill.ingest import service as ingest
from cloudbill.ingest.model import UsageInput
from cloudbill.kernel.money import SCALE
from cloudbill.resources import service as resources
from cloudbill.resources.model import ResourceInput
from cloudbill.store import clock_repo
from cloudbill.store.schema import fee_record, outbox_event, settlement_run, usage_record
from cloudbill.worker.jobs import settle_due

from ..conftest import T0
from ..helpers import assert_books_balance, created_before, new_customer, snapshot

VM = ("hws.resource.type.vm", "s6.large.2")
TRAFFIC = ("hws.resource.type.ip", "traffic_bgp")
VM_HOURLY = Decimal("0.0781")


def units(text: str) -> int:
    return int(Decimal(text) * SCALE)


def register(container, customer_id, rid, kind=VM):  # type: ignore[no-untyped-def]
    data = ResourceInput(
        customer_id=customer_id, resource_type=kind[0], spec=kind[1],
        billing_mode="pay_per_use", region="ap-southeast-1", name=rid, id=rid,
    )  # fmt: skip
    container.write(lambda conn, now: resources.register(conn, created_before(data, now), now=now))


def meter(container, *records):  # type: ignore[no-untyped-def]
    batch = [UsageInput(*r) for r in records]
    return container.write(lambda conn, now: ingest.ingest_batch(conn, batch, now=now))


def advance(container, **delta):  # type: ignore[no-untyped-def]
    container.write(lambda conn, _now: clock_repo.advance(conn, timedelta(**delta)))


def topup(container, customer_id, amount, ref):  # type: ignore[no-untyped-def]
    container.write(
        lambda conn, now: customers.topup(conn, customer_id, amount, reference=ref, now=now)
    )


def figures(container, customer_id):  # type: ignore[no-untyped-def]
    return container.read(
        lambda conn, _now: customers.overview(conn, customers.get(conn, customer_id))
    )


def fees(container, **where):  # type: ignore[no-untyped-def]
    with container.db.read() as conn:
        query = select(fee_record).order_by(fee_record.c.hour_start, fee_record.c.id)
        for column, value in where.items():
            query = query.where(fee_record.c[column] == value)
        return conn.execute(query).all()


def hour(h: int, minute: int = 0) -> str:
    return T0.replace(hour=h, minute=minute).isoformat()


@pytest.fixture
def acme(container):  # type: ignore[no-untyped-def]
    customer = new_customer(container)
    topup(container, customer.id, "10.00", "seed")
    register(container, customer.id, "vm-1")
    return customer


def test_usage_across_an_hour_boundary_is_split_by_seconds(container, acme) -> None:  # type: ignore[no-untyped-def]
    meter(container, ("r1", "vm-1", "duration", "5400", hour(7, 30), hour(9), "s"))
    advance(container, hours=1)
    settled = settle_due(container)
    assert [r.hour.hour for r in settled] == [7, 8]
    rows = fees(container)
    assert [(r.hour_start.hour, r.usage_e10) for r in rows] == [(7, 5 * 10**9), (8, 10**10)]
    assert [r.amount_units for r in rows] == [units("0.03905"), units("0.0781")]
    assert figures(container, acme.id).cash_balance_units == units("10") - units("0.11715")
    assert_books_balance(container)


def test_an_hour_is_settled_only_after_it_ended_plus_the_lateness_window(container, acme) -> None:  # type: ignore[no-untyped-def]
    meter(container, ("r1", "vm-1", "duration", "1800", hour(8), hour(8, 30), "s"))
    assert settle_due(container) == []  # 08:00 ends 09:00; due at 09:15; now is 09:00
    advance(container, minutes=14)
    assert settle_due(container) == []
    advance(container, minutes=1)
    assert [r.hour.hour for r in settle_due(container)] == [8]


def test_running_the_worker_twice_changes_nothing(container, acme) -> None:  # type: ignore[no-untyped-def]
    meter(container, ("r1", "vm-1", "duration", "3600", hour(7), hour(8), "s"))
    assert len(settle_due(container)) == 1
    before = snapshot(container)
    assert settle_due(container) == []
    assert snapshot(container) == before


def test_a_late_record_is_billed_once_as_a_late_adjustment(container, acme) -> None:  # type: ignore[no-untyped-def]
    meter(container, ("r1", "vm-1", "duration", "1800", hour(7), hour(7, 30), "s"))
    settle_due(container)  # settles 07:00
    meter(
        container,
        ("r2", "vm-1", "duration", "1800", hour(7, 30), hour(8), "s"),  # late
        ("r1", "vm-1", "duration", "1800", hour(7), hour(7, 30), "s"),  # a replay: not billed again
    )
    advance(container, hours=1)
    settle_due(container)  # settles 08:00, and the late half hour of 07:00
    rows = fees(container)
    assert [(r.hour_start.hour, r.usage_e10, r.is_late) for r in rows] == [
        (7, 5 * 10**9, False), (7, 5 * 10**9, True),
    ]  # fmt: skip
    with container.db.read() as conn:
        runs = conn.execute(select(settlement_run.c.late_records)).scalars().all()
        billed = conn.execute(select(func.sum(fee_record.c.usage_e10))).scalar_one()
        metered = conn.execute(select(func.sum(usage_record.c.quantity_e10))).scalar_one()
    assert runs == [0, 1] and billed == metered
    assert_books_balance(container)


def test_usage_stored_before_the_previous_run_is_billed_in_its_hour_once(container, acme) -> None:  # type: ignore[no-untyped-def]
    # 08:00's first record is stored before 07:00 is settled (the run's watermark covers it);
    # its second comes after: both in one fee line of 08:00, neither billed by 07:00's run.
    meter(
        container,
        ("r1", "vm-1", "duration", "1800", hour(7), hour(7, 30), "s"),
        ("r2", "vm-1", "duration", "900", hour(8), hour(8, 15), "s"),
    )
    assert [r.hour.hour for r in settle_due(container)] == [7]
    meter(container, ("r3", "vm-1", "duration", "900", hour(8, 15), hour(8, 30), "s"))
    advance(container, minutes=15)
    assert [r.hour.hour for r in settle_due(container)] == [8]
    assert settle_due(container) == []
    rows = fees(container)
    assert [(r.hour_start.hour, r.usage_e10, r.is_late) for r in rows] == [
        (7, 5 * 10**9, False), (8, 5 * 10**9, False),
    ]  # fmt: skip
    assert_books_balance(container)


def test_the_worker_catches_up_hour_by_hour_after_downtime(container, acme) -> None:  # type: ignore[no-untyped-def]
    meter(container, ("r1", "vm-1", "duration", "1800", hour(7), hour(7, 30), "s"))
    advance(container, days=2)
    # metered during the downtime, before anything was settled: billed with r1, not late
    meter(container, ("r2", "vm-1", "duration", "1800", hour(7, 30), hour(8), "s"))
    settled = settle_due(container)
    # now is 09:00 on day three: every hour from 07:00 on day one to 07:00 on day three is due
    assert len(settled) == 49
    assert [r.hour for r in settled] == [T0.replace(hour=7) + timedelta(hours=i) for i in range(49)]
    assert sum(r.fees for r in settled) == 1  # both records are in hour 07:00, billed together
    assert fees(container)[0].usage_e10 == 10**10


def test_level_discount_applies_to_pay_per_use(container) -> None:  # type: ignore[no-untyped-def]
    customer = new_customer(container, level=2)  # the default catalog: level 2 -> 5% off
    topup(container, customer.id, "10.00", "seed")
    register(container, customer.id, "vm-2")
    meter(container, ("r1", "vm-2", "duration", "1", hour(7), hour(8), "h"))
    settle_due(container)
    (row,) = fees(container)
    assert row.official_units == units("0.0781")
    assert row.discount_units == units("0.003905")
    assert row.amount_units == row.official_units - row.discount_units


def test_tiers_follow_the_monthly_cumulative_quantity(container) -> None:  # type: ignore[no-untyped-def]
    customer = new_customer(container)
    topup(container, customer.id, "5000.00", "seed")
    register(container, customer.id, "eip-1", TRAFFIC)
    meter(container, ("t1", "eip-1", "upflow", "10000", hour(6), hour(7), "GB"),
          ("t2", "eip-1", "upflow", "1000", hour(7), hour(8), "GB"))  # fmt: skip
    advance(container, hours=1)
    settle_due(container)
    first, second = fees(container)
    assert first.amount_units == units("1200.00")  # 10000 GB x 0.12
    # 240 GB at 0.12 fill the first tier (10240 GB); the other 760 GB cost 0.10
    assert second.amount_units == units("28.80") + units("76.00")
    assert second.unit_price is None  # tiered


def test_postpaid_customer_reaching_its_credit_limit_goes_into_arrears(container) -> None:  # type: ignore[no-untyped-def]
    customer = new_customer(container, payment_mode="postpaid", credit_limit="0.10")
    register(container, customer.id, "vm-3")
    meter(container, ("r1", "vm-3", "duration", "1", hour(6), hour(7), "h"),
          ("r2", "vm-3", "duration", "1", hour(7), hour(8), "h"))  # fmt: skip
    advance(container, hours=1)
    settle_due(container)
    first, second = fees(container)
    assert (first.credit_units, first.debt_units) == (units("0.0781"), 0)
    assert (second.credit_units, second.debt_units) == (units("0.0219"), units("0.0562"))
    after = figures(container, customer.id)
    assert (after.unpaid_units, after.debt_units, after.available_credit_units) == (
        units("0.10"), units("0.0562"), 0,
    )  # fmt: skip
    # In arrears from when the unpaid hour fell due, not from when a worker got to it; here
    # that is when its usage arrived (T0), later than the hour's due time (08:15).
    assert after.in_arrears and after.arrears_since == T0
    with container.db.read() as conn:
        events = conn.execute(
            select(outbox_event.c.topic, outbox_event.c.subject_id).where(
                outbox_event.c.topic != "customer.topup_received"
            )
        ).all()
    assert events == [("customer.arrears_started", customer.id)]
    assert_books_balance(container)


def test_prepaid_runs_out_then_charges_become_debt_and_one_event(container) -> None:  # type: ignore[no-untyped-def]
    customer = new_customer(container)
    topup(container, customer.id, "0.10", "seed")
    register(container, customer.id, "vm-4")
    for h in (5, 6, 7):
        meter(container, (f"r{h}", "vm-4", "duration", "1", hour(h), hour(h + 1), "h"))
    advance(container, hours=1)
    settle_due(container)
    rows = fees(container)
    assert [(r.cash_units, r.debt_units) for r in rows] == [
        (units("0.0781"), 0), (units("0.0219"), units("0.0562")), (0, units("0.0781")),
    ]  # fmt: skip
    assert figures(container, customer.id).debt_units == units("0.1343")
    with container.db.read() as conn:
        not_topups = outbox_event.c.topic != "customer.topup_received"
        assert conn.execute(select(func.count()).where(not_topups)).scalar_one() == 1
    # a top-up writes the debt off and the customer is out of arrears
    topup(container, customer.id, "1.00", "repay")
    after = figures(container, customer.id)
    assert (after.debt_units, after.cash_balance_units, after.in_arrears) == (
        0, units("1.00") - units("0.1343"), False,
    )  # fmt: skip
    assert_books_balance(container)


@pytest.mark.parametrize("table", ["usage_record", "fee_record", "settlement_run", "outbox_event"])
def test_what_settlement_wrote_cannot_be_rewritten(container, table) -> None:  # type: ignore[no-untyped-def]
    customer = new_customer(container)
    register(container, customer.id, "vm-5")
    meter(container, ("r1", "vm-5", "duration", "1", hour(7), hour(8), "h"))  # no money: arrears
    settle_due(container)
    column = {"usage_record": "received_at", "settlement_run": "finished_at"}.get(
        table, "created_at"
    )
    for statement in (f"UPDATE {table} SET {column} = {column}", f"DELETE FROM {table}"):
        with pytest.raises(DBAPIError, match="append-only"), container.db.write() as conn:
            conn.execute(text(statement))
