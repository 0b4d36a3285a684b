"""Usage is metered by the billing mode and spec in force during its interval, not at its
arrival (issue 15, item 8, and the pay-per-use spec change of item 3):

- a switch from yearly/monthly to pay-per-use at expiry: usage of the prepaid month that comes
  after the switch is refused, the fee records and the books unchanged (it was billed twice);
- a conversion from pay-per-use to yearly/monthly: pay-per-use usage of the hours before it,
  sent late, is still billed; usage after it is prepaid and refused;
- a pay-per-use spec change: usage before the instant is priced at the old spec, after it at
  the new one, within the same hour; a record spanning the instant is refused.

Huawei: a pay-per-use resource "is billed by the new specifications from the time the change
takes effect" and a change from yearly/monthly to pay-per-use "takes effect after the
yearly/monthly subscription expires" (ECS "Changing Pay-per-Use to Yearly/Monthly" and
"Changing Yearly/Monthly to Pay-per-Use", https://support.huaweicloud.com/intl/en-us/
usermanual-ecs/ecs_03_0301.html).
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from cloudbill.kernel.errors import CloudbillError, ErrorCode
from cloudbill.orders import service as orders
from cloudbill.resources import service as resources
from cloudbill.worker.jobs import run_due

from ..conftest import T0
from ..helpers import assert_books_balance, new_customer, snapshot
from .test_orders import buy, pay, set_clock, terms
from .test_settlement import advance, fees, figures, meter, register, topup, units


def refused(container, *record) -> str:  # type: ignore[no-untyped-def]
    """The reason code a lone record is refused with; nothing may change."""
    before = snapshot(container)
    with pytest.raises(CloudbillError) as info:
        meter(container, record)
    assert info.value.code is ErrorCode.USAGE_REJECTED
    assert snapshot(container) == before
    return info.value.details["rejected"][0]["code"]


def at(hours: float) -> str:
    """An instant `hours` after T0 (09:00 on 2026-03-16)."""
    return (T0 + timedelta(hours=hours)).isoformat()


def test_a_spec_change_switches_the_price_at_its_instant(container) -> None:  # type: ignore[no-untyped-def]
    acme = new_customer(container)
    topup(container, acme.id, "10.00", "seed")
    register(container, acme.id, "vm-1")  # s6.large.2: 0.0781 USD an hour
    advance(container, minutes=20)  # 09:20
    changed = container.write(
        lambda conn, now: resources.change_spec(conn, "vm-1", "s6.small.1", now=now)
    )
    assert changed.spec == "s6.small.1" and changed.terms_since == T0.replace(minute=20)
    advance(container, hours=1, minutes=20)  # 10:40: hour 09 is due
    # an hour of the old spec, sent late; the hour of the change in two records
    meter(
        container,
        ("before", "vm-1", "duration", "3600", at(-1), at(0), "s"),
        ("old", "vm-1", "duration", "1200", at(0), at(1 / 3), "s"),
        ("new", "vm-1", "duration", "2400", at(1 / 3), at(1), "s"),
    )
    assert refused(container, "across", "vm-1", "duration", "1", at(0), at(1), "h") == (
        "USAGE_SPANS_CHANGE"
    )
    run_due(container)
    rows = [(r.hour_start.hour, r.spec, r.usage_e10, r.amount_units) for r in fees(container)]
    assert sorted(rows) == [
        (8, "s6.large.2", 10**10, units("0.0781")),
        (9, "s6.large.2", 3333333333, units("0.02603333")),  # 1/3 h x 0.0781
        (9, "s6.small.1", 6666666666, units("0.01366667")),  # 2/3 h x 0.0205
    ]
    assert figures(container, acme.id).cash_balance_units == units("10") - units("0.1178")
    assert_books_balance(container)


def test_a_spec_change_is_refused_where_it_cannot_apply(container) -> None:  # type: ignore[no-untyped-def]
    acme = new_customer(container)
    topup(container, acme.id, "100.00", "seed")
    register(container, acme.id, "vm-1")
    paid = pay(container, acme.id, buy(container, acme.id).id)
    ym = paid.lines[0].resource_id
    before = snapshot(container)
    for rid, spec, code in (
        ("vm-1", "s6.large.2", ErrorCode.INVALID_ARGUMENT),  # already that spec
        ("vm-1", "no-such-spec", ErrorCode.CATALOG_ITEM_NOT_FOUND),
        ("vm-1", "", ErrorCode.INVALID_ARGUMENT),
        ("vm-404", "s6.small.1", ErrorCode.RESOURCE_NOT_FOUND),
        (ym, "s6.large.2", ErrorCode.INVALID_STATE),  # yearly/monthly: by a change order
    ):
        with pytest.raises(CloudbillError) as info:
            container.write(lambda conn, now: resources.change_spec(conn, rid, spec, now=now))  # noqa: B023
        assert info.value.code is code, (rid, spec)
    assert snapshot(container) == before


def test_late_pay_per_use_usage_before_a_conversion_is_billed(container) -> None:  # type: ignore[no-untyped-def]
    acme = new_customer(container)
    topup(container, acme.id, "100.00", "seed")
    register(container, acme.id, "vm-1")  # s6.large.2, pay-per-use until 09:00
    order = container.write(
        lambda conn, now: orders.create_conversion(
            conn, acme.id, "vm-1", period_unit="month", period_count=1,
            terms=terms(container), now=now,
        )
    )  # fmt: skip
    pay(container, acme.id, order.id)  # at 09:00: yearly/monthly from now on
    advance(container, hours=2)
    meter(container, ("late", "vm-1", "duration", "3600", at(-1), at(0), "s"))
    assert refused(container, "prepaid", "vm-1", "duration", "1", at(0), at(1), "h") == (
        "INVALID_STATE"
    )
    assert refused(container, "across", "vm-1", "duration", "1", at(-0.5), at(0.5), "h") == (
        "USAGE_SPANS_CHANGE"
    )
    run_due(container)
    (row,) = fees(container, billing_mode="pay_per_use")  # besides the order's own record
    assert (row.hour_start, row.billing_mode, row.amount_units) == (
        T0.replace(hour=8),
        "pay_per_use",
        units("0.0781"),
    )
    assert_books_balance(container)


def test_usage_of_a_prepaid_month_sent_after_the_switch_to_pay_per_use_is_not_billed(
    container,
) -> None:  # type: ignore[no-untyped-def]
    """The double charge of issue 15, item 8: the month was paid by the order; its usage,
    arriving after the resource changed to pay-per-use at expiry, used to be billed again."""
    acme = new_customer(container)
    topup(container, acme.id, "40.00", "seed")
    paid = pay(container, acme.id, buy(container, acme.id, expire_policy="to_pay_per_use").id)
    rid = paid.lines[0].resource_id
    expire_at = container.read(lambda conn, _now: resources.get(conn, rid)).expire_at
    set_clock(container, expire_at + timedelta(hours=2))
    run_due(container)  # expired: pay-per-use from its expiry on
    r = container.read(lambda conn, _now: resources.get(conn, rid))
    assert (r.billing_mode.value, r.terms_since) == ("pay_per_use", expire_at)
    hour = 3600

    def iso(delta: timedelta) -> str:
        return (expire_at + delta).isoformat()

    fees_before = fees(container)
    # the last prepaid hour, sent now: refused, nothing billed, nothing changed
    assert refused(
        container, "prepaid", rid, "duration", str(hour), iso(-timedelta(hours=1)),
        iso(timedelta()), "s",
    ) == "INVALID_STATE"  # fmt: skip
    assert refused(
        container, "across", rid, "duration", str(hour), iso(-timedelta(minutes=30)),
        iso(timedelta(minutes=30)), "s",
    ) == "USAGE_SPANS_CHANGE"  # fmt: skip
    assert fees(container) == fees_before
    # the first pay-per-use hour is billed at s6.small.1's hourly price
    meter(
        container,
        ("ppu", rid, "duration", str(hour), iso(timedelta()), iso(timedelta(hours=1)), "s"),
    )
    advance(container, hours=1)
    run_due(container)
    (row,) = [r for r in fees(container) if r not in fees_before]
    assert (row.billing_mode, row.spec, row.amount_units) == (
        "pay_per_use",
        "s6.small.1",
        units("0.0205"),
    )
    assert_books_balance(container)
