"""Regressions a review of issue 15's order rules found, on the simulated clock: an
auto-renewal to a unified expiry day the balance cannot pay fails alone (it stopped every
worker job); the handling fee is taken on the period in use only, never on periods that ended
(Huawei: "Paid amount" of the order in use); a term that ended in a change to pay-per-use at
expiry is settled, never refunded again after the resource is bought back; renewals given back
are not bought again by auto-renew."""

from __future__ import annotations

from cloudbill.kernel.periods import utc
from cloudbill.orders import service as orders
from cloudbill.subscriptions import service as subscriptions
from cloudbill.worker.jobs import run_due

from ..helpers import new_customer
from .test_orders import buy, pay, terms
from .test_orders_changes import unsubscribe
from .test_orders_renewals import (
    auto_renew,
    bought,
    checked,
    order_count,
    renew,
    resource,
    set_clock,
)
from .test_settlement import topup, units


def test_auto_renew_to_a_unified_expiry_day_short_of_money_fails_cleanly(container) -> None:  # type: ignore[no-untyped-def]
    customer = new_customer(container)  # UTC
    topup(container, customer.id, "23.20", "seed")  # the purchase and one month more
    _first, rid = bought(container, customer.id)
    assert resource(container, rid).expire_at == utc(2026, 4, 17, 0, 0, 0)
    container.write(
        lambda conn, now: subscriptions.set_unified_expiry_day(conn, customer.id, 20, now=now)
    )
    auto_renew(container, customer.id, rid)
    set_clock(container, utc(2026, 4, 10, 3, 0, 0))
    # the period (11.60) is affordable, the period plus 4 days to the 20th is not
    report = run_due(container).subscriptions  # raises INSUFFICIENT_BALANCE today
    assert report.renew_failed == [rid]
    assert order_count(container, customer.id) == 1


def test_the_fee_is_not_taken_on_periods_that_have_ended(container) -> None:  # type: ignore[no-untyped-def]
    customer = new_customer(container)  # UTC
    topup(container, customer.id, "40.00", "seed")
    first = pay(container, customer.id, buy(container, customer.id).id)
    rid = first.lines[0].resource_id
    second = pay(container, customer.id, renew(container, customer.id, [rid]).id)
    # one hour into the renewal month (17 April 00:00 - 17 May 00:00, 720 h); the first has ended
    set_clock(container, utc(2026, 4, 17, 1, 30, 0))
    order = unsubscribe(container, customer.id, [rid])
    checked(container, first.id, second.id, order.id)
    (line,) = order.lines
    # the period in use: 11.60 paid, 1 h of 720 used (0.02), fee 10% of 11.60 = 1.16: 10.42 back
    assert line.fee_units == units("1.16"), (line.used_units, line.fee_units, order.amount_units)
    assert order.amount_units == units("-10.42")


def test_a_term_that_ended_in_a_conversion_at_expiry_is_not_refunded_again(container) -> None:  # type: ignore[no-untyped-def]
    customer = new_customer(container)  # UTC
    topup(container, customer.id, "40.00", "seed")
    first = pay(
        container, customer.id, buy(container, customer.id, expire_policy="to_pay_per_use").id
    )
    rid = first.lines[0].resource_id
    set_clock(container, utc(2026, 4, 17, 0, 0, 0))
    run_due(container)  # expired: converted to pay-per-use at expiry
    assert resource(container, rid).billing_mode.value == "pay_per_use"
    set_clock(container, utc(2026, 4, 18, 0, 0, 0))
    again = container.write(
        lambda conn, now: orders.create_conversion(
            conn, customer.id, rid, period_unit="month", period_count=1,
            terms=terms(container), now=now,
        )
    )  # fmt: skip
    again = pay(container, customer.id, again.id)
    # within the operator's full-refund window of the new purchase: the new month comes back
    last = unsubscribe(container, customer.id, [rid], full_refund_days=5)
    checked(container, first.id, again.id, last.id)
    assert last.amount_units == units("-11.60"), last.amount_units  # not 23.20


def test_renewals_given_back_are_not_bought_again_by_auto_renew(container) -> None:  # type: ignore[no-untyped-def]
    customer = new_customer(container)  # UTC
    topup(container, customer.id, "40.00", "seed")
    _first, rid = bought(container, customer.id)
    auto_renew(container, customer.id, rid)
    set_clock(container, utc(2026, 4, 10, 3, 0, 0))
    assert len(run_due(container).subscriptions.renewed) == 1
    set_clock(container, utc(2026, 4, 10, 9, 0, 0))
    container.write(
        lambda conn, now: orders.unsubscribe_renewals(
            conn, customer.id, [rid], terms=terms(container), now=now
        )
    )
    assert resource(container, rid).expire_at == utc(2026, 4, 17, 0, 0, 0)
    set_clock(container, utc(2026, 4, 11, 3, 0, 0))
    assert run_due(container).subscriptions.renewed == []  # renewed again today
