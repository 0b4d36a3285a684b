"""Packages and coupons in the hourly settlement: packages first (expiring first), then
coupons (soonest-expiring first, in scope, minimum spend), cash, credit, debt."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select

from cloudbill.benefits import service as benefits
from cloudbill.kernel.periods import parse_instant
from cloudbill.store.schema import cash_coupon, package_period, package_usage
from cloudbill.worker.jobs import settle_due

from ..helpers import assert_books_balance, new_customer
from .test_settlement import TRAFFIC, advance, fees, figures, hour, meter, register, topup, units


def grant(
    container, customer_id, ref, quantity, *, days=30, monthly=None, start=None, end=None, **scope
):  # type: ignore[no-untyped-def]
    return container.write(
        lambda conn, now: benefits.grant_package(
            conn,
            customer_id=customer_id,
            name=ref,
            usage_type="duration",
            quantity=quantity,
            unit="h",
            resets_monthly=monthly,
            valid_from=parse_instant(start) if start else now - timedelta(days=1),
            valid_to=parse_instant(end) if end else now + timedelta(days=days),
            reference=ref,
            now=now,
            **scope,
        )
    )[0]


def coupon(container, customer_id, ref, value, *, days=30, **scope):  # type: ignore[no-untyped-def]
    return container.write(
        lambda conn, now: benefits.issue_coupon(
            conn,
            customer_id=customer_id,
            name=ref,
            value=value,
            valid_from=now - timedelta(days=1),
            valid_to=now + timedelta(days=days),
            reference=ref,
            now=now,
            **scope,
        )
    )[0]


def run_vms(container, customer_id, count):  # type: ignore[no-untyped-def]
    """Register vm-1 ... vm-<count>: n hours of use in one hour are n VMs running (a
    duration never exceeds its interval)."""
    for n in range(1, count + 1):
        register(container, customer_id, f"vm-{n}")


def running(tag, count, start, end):  # type: ignore[no-untyped-def]
    """One record per VM for vm-1 ... vm-<count>, each running from start to end."""
    return [
        (f"{tag}-{n}", f"vm-{n}", "duration", "1", start, end, "h") for n in range(1, count + 1)
    ]


@dataclass
class Hour:
    usage: int = 0
    package: int = 0
    amount: int = 0
    coupon: int = 0
    cash: int = 0
    debt: int = 0


def per_hour(rows) -> list[Hour]:  # type: ignore[no-untyped-def]
    """Each hour's fee records summed over its resources, in hour order."""
    hours: dict[object, Hour] = {}
    for r in rows:
        h = hours.setdefault(r.hour_start, Hour())
        h.usage += r.usage_e10
        h.package += r.package_usage_e10
        h.amount += r.amount_units
        h.coupon += r.coupon_units
        h.cash += r.cash_units
        h.debt += r.debt_units
    return [hours[k] for k in sorted(hours)]


def test_packages_cover_usage_first_expiring_first(container) -> None:  # type: ignore[no-untyped-def]
    customer = new_customer(container)
    topup(container, customer.id, "10.00", "seed")
    run_vms(container, customer.id, 6)
    later = grant(container, customer.id, "p-later", "5", days=60)
    sooner = grant(container, customer.id, "p-sooner", "2", days=10, service="ecs")
    grant(container, customer.id, "p-other", "100", service="css")  # another service: unused
    meter(container, *running("r1", 3, hour(6), hour(7)), *running("r2", 6, hour(7), hour(8)))
    advance(container, hours=1)
    settle_due(container)
    first, second = per_hour(fees(container))
    assert (first.usage, first.package, first.amount) == (3 * 10**10, 3 * 10**10, 0)
    assert (second.package, second.amount) == (4 * 10**10, units("0.1562"))
    with container.db.read() as conn:
        used = dict(
            conn.execute(select(package_period.c.package_id, package_period.c.used_e10)).all()
        )
        uses = conn.execute(
            select(package_usage.c.package_id, package_usage.c.quantity_e10).order_by(
                package_usage.c.id
            )
        ).all()
    assert used == {sooner.id: 2 * 10**10, later.id: 5 * 10**10}
    # the package expiring first is used up first, then the other
    assert [package for package, _ in uses] == sorted(
        (package for package, _ in uses), key=lambda p: p != sooner.id
    )
    assert sum(q for p, q in uses if p == sooner.id) == 2 * 10**10
    assert sum(q for p, q in uses if p == later.id) == 5 * 10**10
    assert figures(container, customer.id).cash_balance_units == units("10") - units("0.1562")
    assert_books_balance(container)


def test_a_monthly_package_starts_fresh_each_month(container) -> None:  # type: ignore[no-untyped-def]
    customer = new_customer(container)
    run_vms(container, customer.id, 12)
    grant(container, customer.id, "p-month", "10", days=90, monthly=True)
    advance(container, days=16)  # from 2026-03-16 09:00 to 2026-04-01 09:00
    meter(
        container,
        *running("m", 12, "2026-03-31T22:00:00Z", "2026-03-31T23:00:00Z"),
        *running("a", 12, "2026-04-01T05:00:00Z", "2026-04-01T06:00:00Z"),
    )
    settle_due(container)
    march, april = (h for h in per_hour(fees(container)) if h.usage)
    assert (march.package, april.package) == (10 * 10**10, 10 * 10**10)
    assert march.debt == april.debt == units("0.1562")  # 2 h each, no money


E10 = 10**10


def package_hours(container):  # type: ignore[no-untyped-def]
    """{(hour, package id, period start): quantity} of every package use."""
    with container.db.read() as conn:
        rows = conn.execute(
            select(
                package_usage.c.hour_start,
                package_usage.c.package_id,
                package_usage.c.period_start,
                package_usage.c.quantity_e10,
            )
        ).all()
    found: dict[tuple, int] = {}
    for hour_start, package_id, period_start, quantity in rows:
        key = (hour_start.isoformat(), package_id, period_start.isoformat())
        found[key] = found.get(key, 0) + quantity
    return found


def test_a_package_starting_mid_hour_covers_only_usage_after_its_start(container) -> None:  # type: ignore[no-untyped-def]
    """Issue 15's example, generalised to a start at 07:20: a record of 06:30-07:30 is covered
    for its 07:20-07:30 part only, at second precision, and a record of 07:10-07:40 inside the
    hour for its 07:20-07:40 part; usage before the start is paid."""
    customer = new_customer(container)
    run_vms(container, customer.id, 2)
    package = grant(container, customer.id, "p-mid", "10", start=hour(7, 20))
    meter(container, ("a", "vm-1", "duration", "1", hour(6, 30), hour(7, 30), "h"),
          ("b", "vm-2", "duration", "0.5", hour(7, 10), hour(7, 40), "h"))  # fmt: skip
    settle_due(container)
    six, seven = per_hour(fees(container))
    assert (six.usage, six.package) == (E10 // 2, 0)
    # vm-1: 10 of its 30 minutes in hour 7; vm-2: 20 of its 30 minutes (each split exactly)
    assert seven.usage == E10 and seven.package == 1666666667 + 3333333333
    assert package_hours(container) == {
        (hour(7), package.id, hour(7, 20)): E10 // 2,
    }
    assert seven.debt == units("0.03905")  # the 0.5 h not covered, at 0.0781 an hour
    assert_books_balance(container)


def test_a_package_ending_mid_hour_covers_only_usage_before_its_end(container) -> None:  # type: ignore[no-untyped-def]
    customer = new_customer(container)
    run_vms(container, customer.id, 1)
    grant(container, customer.id, "p-end", "10", start=hour(5), end=hour(9, 30))
    advance(container, hours=2)
    meter(container, ("a", "vm-1", "duration", "0.75", hour(9, 15), hour(10), "h"))
    settle_due(container)
    (nine,) = per_hour(fees(container))
    assert (nine.usage, nine.package) == (E10 * 3 // 4, E10 // 4)  # 09:15-09:30 covered


def test_a_daily_reset_inside_an_hour_splits_its_usage_between_the_days(container) -> None:  # type: ignore[no-untyped-def]
    """Daily at 14:00 in Kolkata (UTC+5:30) is 08:30 UTC: 1 h a day, 3 VMs running 08:00-09:00
    draw 1 h from the day ending at 08:30 and 1 h from the day beginning then."""
    customer = new_customer(container, timezone="Asia/Kolkata")
    run_vms(container, customer.id, 3)
    package = grant(container, customer.id, "p-day", "1", reset_kind="daily", reset_hour=14)
    meter(container, *running("r", 3, hour(8), hour(9)))
    advance(container, hours=2)
    settle_due(container)
    (eight,) = (h for h in per_hour(fees(container)) if h.usage)
    assert (eight.usage, eight.package) == (3 * E10, 2 * E10)
    day_before, day = "2026-03-15T08:30:00+00:00", hour(8, 30)
    assert package_hours(container) == {
        (hour(8), package.id, day_before): E10,
        (hour(8), package.id, day): E10,
    }


def test_a_purchase_day_reset_on_a_shorter_month_falls_on_its_last_day(container) -> None:  # type: ignore[no-untyped-def]
    """Bought on January 31st at 09:20: the period resets on February 28th, then on March 31st
    at 09:20 (Huawei's subscription cycle: bought on the 15th, resets on the 15th)."""
    customer = new_customer(container)
    run_vms(container, customer.id, 2)
    package = grant(container, customer.id, "p-cycle", "1", days=90,
                    start="2026-01-31T09:20:00Z", reset_kind="monthly_purchase_day")  # fmt: skip
    advance(container, days=15, hours=2)  # to 2026-03-31 11:00
    meter(container, *running("r", 2, "2026-03-31T09:00:00Z", "2026-03-31T10:00:00Z"))
    settle_due(container)
    (row,) = (h for h in per_hour(fees(container)) if h.usage)
    # before 09:20: 2 x 20 min of the February period; after: 2 x 40 min, 1 h of March's
    assert (row.usage, row.package) == (2 * E10, 6666666666 + E10)
    assert package_hours(container) == {
        ("2026-03-31T09:00:00+00:00", package.id, "2026-02-28T09:20:00+00:00"): 6666666666,
        ("2026-03-31T09:00:00+00:00", package.id, "2026-03-31T09:20:00+00:00"): E10,
    }


def test_a_calendar_month_starting_mid_hour_splits_the_hour(container) -> None:  # type: ignore[no-untyped-def]
    """April begins at 18:30 UTC in Kolkata: 2 VMs running 18:00-19:00 draw 1 h from March's
    quantity and 1 h from April's."""
    customer = new_customer(container, timezone="Asia/Kolkata")
    run_vms(container, customer.id, 2)
    grant(container, customer.id, "p-cal", "1", days=90, reset_kind="monthly_calendar")
    advance(container, days=16)
    meter(container, *running("r", 2, "2026-03-31T18:00:00Z", "2026-03-31T19:00:00Z"))
    settle_due(container)
    (row,) = (h for h in per_hour(fees(container)) if h.usage)
    assert (row.usage, row.package) == (2 * E10, 2 * E10)


def test_coupons_then_cash_then_debt_soonest_expiring_coupon_first(container) -> None:  # type: ignore[no-untyped-def]
    customer = new_customer(container)
    topup(container, customer.id, "0.05", "seed")
    run_vms(container, customer.id, 3)
    late = coupon(container, customer.id, "c-late", "0.10", days=20)
    soon = coupon(container, customer.id, "c-soon", "0.02", days=5)
    scoped = coupon(container, customer.id, "c-css", "5.00", services=["css"])  # not for ECS
    meter(container, *running("r1", 3, hour(7), hour(8)))  # 3 x 0.0781 = 0.2343
    settle_due(container)
    (row,) = per_hour(fees(container))
    assert (row.coupon, row.cash, row.debt) == (
        units("0.12"),
        units("0.05"),
        units("0.0643"),
    )
    with container.db.read() as conn:
        balances = dict(conn.execute(select(cash_coupon.c.id, cash_coupon.c.balance_units)).all())
        statuses = dict(conn.execute(select(cash_coupon.c.id, cash_coupon.c.status)).all())
    assert balances == {late.id: 0, soon.id: 0, scoped.id: units("5.00")}
    assert statuses[late.id] == statuses[soon.id] == "used_up"
    after = figures(container, customer.id)
    assert (after.coupon_units, after.cash_balance_units, after.debt_units) == (
        units("5.00"),
        0,
        units("0.0643"),
    )
    assert after.in_arrears
    assert_books_balance(container)


def test_a_coupon_waits_for_its_minimum_spend(container) -> None:  # type: ignore[no-untyped-def]
    customer = new_customer(container)
    topup(container, customer.id, "100.00", "seed")
    run_vms(container, customer.id, 10)
    coupon(container, customer.id, "c-min", "1.00", min_spend="0.50")
    meter(container, *running("r1", 1, hour(6), hour(7)),  # 0.0781
          *running("r2", 10, hour(7), hour(8)))  # 0.781  # fmt: skip
    advance(container, hours=1)
    settle_due(container)
    small, large = per_hour(fees(container))
    assert (small.coupon, small.cash) == (0, units("0.0781"))
    assert (large.coupon, large.cash) == (units("0.781"), 0)


def test_postpaid_credit_after_coupons_and_cash(container) -> None:  # type: ignore[no-untyped-def]
    customer = new_customer(container, payment_mode="postpaid", credit_limit="0.10")
    topup(container, customer.id, "0.05", "seed")
    register(container, customer.id, "eip-1", TRAFFIC)
    coupon(container, customer.id, "c1", "0.03")
    meter(container, ("t1", "eip-1", "upflow", "2", hour(7), hour(8), "GB"))  # 2 x 0.12 = 0.24
    settle_due(container)
    (row,) = fees(container)
    assert (row.coupon_units, row.cash_units, row.credit_units, row.debt_units) == (
        units("0.03"),
        units("0.05"),
        units("0.10"),
        units("0.06"),
    )
    assert_books_balance(container)


def test_the_worker_expires_coupons_by_themselves(container) -> None:  # type: ignore[no-untyped-def]
    from cloudbill.worker.jobs import run_due

    customer = new_customer(container)
    coupon(container, customer.id, "short", "5.00", days=2)
    coupon(container, customer.id, "long", "7.00", days=30)
    assert figures(container, customer.id).coupon_units == units("12.00")
    advance(container, days=3)
    report = run_due(container)
    assert report.coupons_expired == 1
    assert figures(container, customer.id).coupon_units == units("7.00")
    with container.db.read() as conn:
        statuses = dict(conn.execute(select(cash_coupon.c.name, cash_coupon.c.status)).all())
    assert statuses == {"short": "expired", "long": "active"}
    assert run_due(container).coupons_expired == 0  # once
    assert_books_balance(container)
