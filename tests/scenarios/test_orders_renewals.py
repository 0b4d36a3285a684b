"""Renewals on the simulated clock: auto-renew (succeeding; failing for lack of money, retried
daily, then succeeding after a top-up), expiry -> grace -> frozen -> renewal in retention, the
other expire policies, month-end renewals (Jan 31, Feb 29, Asia/Shanghai), manual renewal of
several resources and a unified expiry day, and the renewal views. Expected figures are worked
out by hand from the default catalog (s6.small.1 11.60 USD/month, s6.large.2 39.10; a year is
12 months less the 16.67% yearly discount; a day is 1/30 of a month). The books balance and
every order adds up after every step."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from cloudbill.benefits import coupons as benefits
from cloudbill.kernel.errors import CloudbillError, ErrorCode
from cloudbill.kernel.periods import utc
from cloudbill.orders import service as orders
from cloudbill.orders.service import NewItem
from cloudbill.resources import service as resources
from cloudbill.store.schema import outbox_event
from cloudbill.subscriptions import service as subscriptions
from cloudbill.worker.jobs import run_due

from ..helpers import assert_books_balance, new_customer, snapshot
from .test_orders import LARGE, SMALL, VM_TYPE, buy, check_order_adds_up, pay, set_clock, terms
from .test_settlement import advance, figures, topup, units
from .test_settlement_benefits import coupon


def order_of(container, order_id):  # type: ignore[no-untyped-def]
    return container.read(lambda conn, _now: orders.get(conn, order_id))


def checked(container, *order_ids) -> None:  # type: ignore[no-untyped-def]
    """The books balance and every order touched adds up (re-read from the database)."""
    assert_books_balance(container)
    for order_id in order_ids:
        check_order_adds_up(order_of(container, order_id))


def bought(container, customer_id, **kw):  # type: ignore[no-untyped-def]
    """A paid new purchase: (order, resource id)."""
    order = buy(container, customer_id, **kw)
    paid = pay(container, customer_id, order.id)
    checked(container, paid.id)
    return paid, paid.lines[0].resource_id


def renew(container, customer_id, rids, unit="month", count=1, **kw):  # type: ignore[no-untyped-def]
    if "unified_day" in kw:
        unit = count = None
    return container.write(
        lambda conn, now: orders.create_renewal(
            conn,
            customer_id,
            list(rids),
            period_unit=unit,
            period_count=count,
            terms=terms(container),
            now=now,
            **kw,
        )
    )


def resource(container, rid):  # type: ignore[no-untyped-def]
    return container.read(lambda conn, _now: resources.get(conn, rid))


def auto_renew(container, customer_id, rid, enabled=True) -> None:  # type: ignore[no-untyped-def]
    container.write(
        lambda conn, now: subscriptions.set_auto_renew(
            conn, customer_id, rid, enabled=enabled, now=now
        )
    )


def events(container, topic, subject=None):  # type: ignore[no-untyped-def]
    with container.db.read() as conn:
        query = select(outbox_event).where(outbox_event.c.topic == topic)
        if subject is not None:
            query = query.where(outbox_event.c.subject_id == subject)
        rows = conn.execute(query.order_by(outbox_event.c.id)).all()
    return [json.loads(row.payload) for row in rows]


def order_count(container, customer_id) -> int:  # type: ignore[no-untyped-def]
    return container.read(lambda conn, _now: orders.list_orders(conn, customer_id))[1]


def renewal_page(container, customer_id, view):  # type: ignore[no-untyped-def]
    return container.read(
        lambda conn, now: subscriptions.renewals(conn, customer_id, view=view, now=now)
    )


# -- auto-renew ----------------------------------------------------------------------------------


def test_auto_renew_charges_at_three_local_seven_days_before_expiry(container) -> None:  # type: ignore[no-untyped-def]
    customer = new_customer(container, timezone="Asia/Shanghai")
    topup(container, customer.id, "30.00", "seed")
    first, rid = bought(container, customer.id)
    # bought 16 March 17:00 Shanghai: expires at the end of 16 April Shanghai = 16:00 UTC
    assert resource(container, rid).expire_at == utc(2026, 4, 16, 16, 0, 0)
    auto_renew(container, customer.id, rid)
    checked(container, first.id)
    # 9 April 03:00 Shanghai = 8 April 19:00 UTC; an hour before, nothing happens
    set_clock(container, utc(2026, 4, 8, 18, 0, 0))
    assert run_due(container).subscriptions.renewed == []
    assert order_count(container, customer.id) == 1
    set_clock(container, utc(2026, 4, 8, 19, 0, 0))
    report = run_due(container).subscriptions
    assert len(report.renewed) == 1 and report.renew_failed == []
    renewal = order_of(container, report.renewed[0])
    checked(container, first.id, renewal.id)
    assert (renewal.order_type.value, renewal.source.value, renewal.status.value) == (
        "renewal",
        "auto_renew",
        "paid",
    )
    assert renewal.amount_units == renewal.cash_units == units("11.60")
    assert renewal.paid_at == utc(2026, 4, 8, 19, 0, 0)
    # one month more from the anchor (16 March): the end of 16 May Shanghai
    assert resource(container, rid).expire_at == utc(2026, 5, 16, 16, 0, 0)
    (line,) = renewal.lines
    assert (line.period_start, line.period_end) == (
        utc(2026, 4, 16, 16, 0, 0),
        utc(2026, 5, 16, 16, 0, 0),
    )
    assert figures(container, customer.id).cash_balance_units == units("6.80")  # 30 - 2 x 11.60
    # the next day: nothing more (the expiry moved on; the next attempt is in May)
    advance(container, days=1)
    assert run_due(container).subscriptions.renewed == []
    assert order_count(container, customer.id) == 2
    assert events(container, "customer.auto_renew_failed") == []
    checked(container, first.id, renewal.id)


def test_auto_renew_pays_with_the_soonest_expiring_coupon_first(container) -> None:  # type: ignore[no-untyped-def]
    """Huawei, "Cash coupons and discount coupons can both be used for an automatic renewal"
    (https://support.huaweicloud.com/intl/tr-tr/faq-billing/en-us_topic_000039.html); auto
    payment takes "Cash coupon (only one at a time)" before the balance
    (https://support.huaweicloud.com/intl/ar-mena/usermanual-billing/isautopay_topic_1000001.html)."""
    customer = new_customer(container, timezone="Asia/Shanghai")
    topup(container, customer.id, "25.00", "seed")
    first, rid = bought(container, customer.id)
    auto_renew(container, customer.id, rid)
    modes = {"billing_modes": ["yearly_monthly"]}
    later = coupon(container, customer.id, "later", "5.00", days=60, **modes)
    soon = coupon(container, customer.id, "soon", "3.00", days=40)  # any service or mode
    coupon(container, customer.id, "obs-only", "9.00", days=30, services=["obs"])
    # 9 April 03:00 Shanghai: the renewal takes the 3.00 coupon (it expires first of those
    # that apply), then 8.60 of the cash; the 5.00 coupon stays, one coupon a payment
    set_clock(container, utc(2026, 4, 8, 19, 0, 0))
    report = run_due(container).subscriptions
    assert len(report.renewed) == 1 and report.renew_failed == []
    renewal = order_of(container, report.renewed[0])
    checked(container, first.id, renewal.id)
    assert (renewal.coupon_units, renewal.cash_units) == (units("3.00"), units("8.60"))
    assert [coupon_id for _, coupon_id, _ in renewal.coupons] == [soon.id]
    assert figures(container, customer.id).cash_balance_units == units("4.80")  # 25 - 11.60 - 8.60
    left = container.read(lambda conn, _now: benefits.get_coupon(conn, later.id))
    assert left.balance_units == units("5.00")


def test_auto_renew_on_the_chosen_deduction_day_and_when_enabled_inside_it(container) -> None:  # type: ignore[no-untyped-def]
    """Huawei: at 03:00 on the chosen deduction day (renewals_topic_20000006.html); enabled
    inside the window, cloudbill charges at the next 03:00 (renewals_faq_0000004.html says
    "immediately" only when the resource expires before that 03:00)."""
    customer = new_customer(container, timezone="Asia/Shanghai")
    topup(container, customer.id, "60.00", "seed")
    _, early = bought(container, customer.id)
    _, late = bought(container, customer.id)  # both expire at the end of 16 April Shanghai
    container.write(
        lambda conn, now: subscriptions.set_deduction_days(conn, customer.id, 3, now=now)
    )
    auto_renew(container, customer.id, early)
    set_clock(container, utc(2026, 4, 8, 19, 0, 0))  # seven days before: not this customer's day
    assert run_due(container).subscriptions.renewed == []
    set_clock(container, utc(2026, 4, 12, 19, 0, 0))  # 13 April 03:00 Shanghai, three days before
    assert len(run_due(container).subscriptions.renewed) == 1
    assert resource(container, early).expire_at == utc(2026, 5, 16, 16, 0, 0)
    set_clock(container, utc(2026, 4, 13, 4, 0, 0))  # 13 April 12:00: inside the window
    auto_renew(container, customer.id, late)
    assert run_due(container).subscriptions.renewed == []  # not at once
    set_clock(container, utc(2026, 4, 13, 19, 0, 0))  # the next 03:00
    assert len(run_due(container).subscriptions.renewed) == 1
    assert resource(container, late).expire_at == utc(2026, 5, 16, 16, 0, 0)
    assert_books_balance(container)


def test_auto_renew_fails_for_lack_of_money_then_succeeds_after_a_top_up(container) -> None:  # type: ignore[no-untyped-def]
    customer = new_customer(container)  # UTC
    topup(container, customer.id, "11.60", "seed")
    first, rid = bought(container, customer.id)
    assert resource(container, rid).expire_at == utc(2026, 4, 17, 0, 0, 0)
    auto_renew(container, customer.id, rid)
    # first attempt: 10 April 03:00 UTC; the balance is 0
    set_clock(container, utc(2026, 4, 10, 3, 0, 0))
    report = run_due(container).subscriptions
    assert (report.renewed, report.renew_failed) == ([], [rid])
    failed = events(container, "customer.auto_renew_failed", customer.id)
    assert len(failed) == 1
    assert failed[0]["resource_id"] == rid
    assert failed[0]["expire_at"] == utc(2026, 4, 17, 0, 0, 0).isoformat()
    assert order_count(container, customer.id) == 1  # no order left behind
    checked(container, first.id)
    # later the same day: not retried
    set_clock(container, utc(2026, 4, 10, 20, 0, 0))
    assert run_due(container).subscriptions.renew_failed == []
    assert len(events(container, "customer.auto_renew_failed")) == 1
    # the next day at 03:00: retried, fails again
    set_clock(container, utc(2026, 4, 11, 3, 0, 0))
    assert run_due(container).subscriptions.renew_failed == [rid]
    assert len(events(container, "customer.auto_renew_failed")) == 2
    assert order_count(container, customer.id) == 1
    checked(container, first.id)
    # two days after the first failure the customer tops up; the 03:00 attempt succeeds
    set_clock(container, utc(2026, 4, 12, 2, 0, 0))
    topup(container, customer.id, "12.00", "later")
    set_clock(container, utc(2026, 4, 12, 3, 0, 0))
    report = run_due(container).subscriptions
    assert report.renew_failed == [] and len(report.renewed) == 1
    renewal = order_of(container, report.renewed[0])
    checked(container, first.id, renewal.id)
    assert renewal.source.value == "auto_renew" and renewal.status.value == "paid"
    assert renewal.cash_units == units("11.60")
    assert resource(container, rid).expire_at == utc(2026, 5, 17, 0, 0, 0)
    assert figures(container, customer.id).cash_balance_units == units("0.40")
    assert len(events(container, "customer.auto_renew_failed")) == 2
    sub = container.read(lambda conn, _now: subscriptions.get(conn, rid))
    assert sub.auto_renew_error is None


# -- expiry ---------------------------------------------------------------------------------------


def test_expires_freezes_and_is_renewed_in_retention_from_the_old_expiry(container) -> None:  # type: ignore[no-untyped-def]
    customer = new_customer(container)
    topup(container, customer.id, "30.00", "seed")
    first, rid = bought(container, customer.id)
    set_clock(container, utc(2026, 4, 16, 23, 0, 0))
    run_due(container)
    assert resource(container, rid).status.value == "normal"
    set_clock(container, utc(2026, 4, 17, 0, 0, 0))
    run_due(container)
    assert resource(container, rid).status.value == "grace"
    (expired,) = events(container, "resource.expired", rid)
    assert (expired["from"], expired["to"], expired["cause"]) == ("normal", "grace", "expiry")
    assert renewal_page(container, customer.id, "expired")["counts"]["expired"] == 1
    checked(container, first.id)
    # 15 days of grace (the default: the catalog sets no arrears policy)
    set_clock(container, utc(2026, 5, 1, 23, 0, 0))
    run_due(container)
    assert resource(container, rid).status.value == "grace"
    set_clock(container, utc(2026, 5, 2, 0, 0, 0))
    run_due(container)
    assert resource(container, rid).status.value == "frozen"
    assert len(events(container, "resource.frozen", rid)) == 1
    checked(container, first.id)
    # renewed on 5 May, in retention: one month from the old expiry (16 April) = end of 16 May
    set_clock(container, utc(2026, 5, 5, 10, 0, 0))
    order = renew(container, customer.id, [rid])
    assert order.amount_units == units("11.60")
    paid = pay(container, customer.id, order.id)
    checked(container, first.id, paid.id)
    r = resource(container, rid)
    assert r.status.value == "normal"
    assert r.expire_at == utc(2026, 5, 17, 0, 0, 0)
    (line,) = paid.lines
    assert line.period_start == utc(2026, 4, 17, 0, 0, 0)
    assert line.period_end == utc(2026, 5, 17, 0, 0, 0)
    assert len(events(container, "resource.renewed", rid)) == 1
    run_due(container)
    assert resource(container, rid).status.value == "normal"
    assert figures(container, customer.id).cash_balance_units == units("6.80")
    checked(container, first.id, paid.id)


def test_expire_policies_release_and_pay_per_use(container) -> None:  # type: ignore[no-untyped-def]
    customer = new_customer(container)
    topup(container, customer.id, "40.00", "seed")
    released, rid_released = bought(container, customer.id, expire_policy="release")
    converted, rid_ppu = bought(container, customer.id, expire_policy="to_pay_per_use")
    set_clock(container, utc(2026, 4, 17, 0, 0, 0))
    run_due(container)
    r = resource(container, rid_released)
    assert r.status.value == "released"
    assert events(container, "resource.released", rid_released)[0]["cause"] == "expiry"
    r = resource(container, rid_ppu)
    assert (r.status.value, r.billing_mode.value) == ("normal", "pay_per_use")
    assert len(events(container, "resource.converted", rid_ppu)) == 1
    checked(container, released.id, converted.id)
    # a released resource cannot be renewed; nothing changes
    before = snapshot(container)
    with pytest.raises(CloudbillError) as err:
        renew(container, customer.id, [rid_released])
    assert err.value.code is ErrorCode.RESOURCE_RELEASED
    assert snapshot(container) == before
    # the converted one is no longer a subscription to renew
    with pytest.raises(CloudbillError) as err:
        renew(container, customer.id, [rid_ppu])
    assert err.value.code is ErrorCode.INVALID_STATE
    assert snapshot(container) == before
    advance(container, hours=3)
    run_due(container)
    assert resource(container, rid_ppu).status.value == "normal"
    checked(container, released.id, converted.id)


# -- month ends -----------------------------------------------------------------------------------


def test_renewals_from_january_31(container) -> None:  # type: ignore[no-untyped-def]
    customer = new_customer(container)
    set_clock(container, utc(2027, 1, 31, 10, 0, 0))
    topup(container, customer.id, "50.00", "seed")
    first, rid = bought(container, customer.id)
    assert resource(container, rid).expire_at == utc(2027, 3, 1, 0, 0, 0)  # end of 28 Feb
    touched = [first.id]
    # each renewal counts from the anchor (31 Jan): 31 March, 30 April, never the 28th
    for expected in (utc(2027, 4, 1, 0, 0, 0), utc(2027, 5, 1, 0, 0, 0)):
        order = pay(container, customer.id, renew(container, customer.id, [rid]).id)
        touched.append(order.id)
        checked(container, *touched)
        assert resource(container, rid).expire_at == expected
        assert order.amount_units == units("11.60")
    assert figures(container, customer.id).cash_balance_units == units("15.20")  # 50 - 3 x 11.60


def test_renewals_from_february_29_of_a_leap_year(container) -> None:  # type: ignore[no-untyped-def]
    customer = new_customer(container)
    set_clock(container, utc(2028, 2, 29, 12, 0, 0))
    topup(container, customer.id, "300.00", "seed")
    first, rid = bought(container, customer.id, unit="year", count=1)
    # a year: 12 x 11.60 = 139.20 less 16.67% (23.20464 -> 23.20) = 116.00
    assert (first.official_units, first.discount_units, first.amount_units) == (
        units("139.20"),
        units("23.20"),
        units("116.00"),
    )
    assert resource(container, rid).expire_at == utc(2029, 3, 1, 0, 0, 0)  # end of 28 Feb 2029
    # a year more: 24 months from 29 Feb 2028 -> 29 Feb 2030 does not exist -> 28 Feb 2030
    order = pay(container, customer.id, renew(container, customer.id, [rid], "year", 1).id)
    checked(container, first.id, order.id)
    assert order.amount_units == units("116.00")
    assert resource(container, rid).expire_at == utc(2030, 3, 1, 0, 0, 0)
    # a month more: 25 months from the anchor -> 29 March 2030, not 28 March
    order2 = pay(container, customer.id, renew(container, customer.id, [rid]).id)
    checked(container, first.id, order.id, order2.id)
    assert resource(container, rid).expire_at == utc(2030, 3, 30, 0, 0, 0)
    # 300 - 2 x 116.00 - 11.60
    assert figures(container, customer.id).cash_balance_units == units("56.40")


def test_month_end_renewals_in_shanghai(container) -> None:  # type: ignore[no-untyped-def]
    customer = new_customer(container, timezone="Asia/Shanghai")
    # 30 August 17:00 UTC is 31 August 01:00 in Shanghai: the anchor is the local day, the 31st
    set_clock(container, utc(2026, 8, 30, 17, 0, 0))
    topup(container, customer.id, "100.00", "seed")
    first, rid = bought(container, customer.id)
    assert resource(container, rid).expire_at == utc(2026, 9, 30, 16, 0, 0)  # end of 30 Sep +08
    touched = [first.id]
    for count, expected in (
        (1, utc(2026, 10, 31, 16, 0, 0)),  # end of 31 October Shanghai
        (4, utc(2027, 2, 28, 16, 0, 0)),  # end of 28 February 2027
        (1, utc(2027, 3, 31, 16, 0, 0)),  # back to the 31st
    ):
        order = pay(container, customer.id, renew(container, customer.id, [rid], "month", count).id)
        touched.append(order.id)
        checked(container, *touched)
        assert order.amount_units == units("11.60") * count
        assert resource(container, rid).expire_at == expected
    # 100 - 7 x 11.60
    assert figures(container, customer.id).cash_balance_units == units("18.80")


# -- several resources, unified expiry day -----------------------------------------------------


def test_manual_renewal_of_several_resources_and_a_unified_expiry_day(container) -> None:  # type: ignore[no-untyped-def]
    customer = new_customer(container)
    topup(container, customer.id, "200.00", "seed")
    a, rid_a = bought(container, customer.id)  # anchor 16 March
    advance(container, days=5)
    b, rid_b = bought(container, customer.id, spec=LARGE)  # anchor 21 March
    order = renew(container, customer.id, [rid_a, rid_b])
    assert [line.amount_units for line in order.lines] == [units("11.60"), units("39.10")]
    assert order.amount_units == units("50.70")
    paid = pay(container, customer.id, order.id)
    checked(container, a.id, b.id, paid.id)
    assert resource(container, rid_a).expire_at == utc(2026, 5, 17, 0, 0, 0)
    assert resource(container, rid_b).expire_at == utc(2026, 5, 22, 0, 0, 0)
    # both to expire on the 1st: 16 May -> 1 June is 16 days, 21 May -> 1 June 11 days;
    # a day is 1/30 of a month: 11.60 x 16 / 30 = 6.1866 -> 6.19, 39.10 x 11 / 30 = 14.3366 -> 14.34
    unified = renew(container, customer.id, [rid_a, rid_b], unified_day=1)
    assert [(x.period_unit, x.period_count) for x in unified.lines] == [("day", 16), ("day", 11)]
    assert [x.amount_units for x in unified.lines] == [units("6.19"), units("14.34")]
    assert unified.amount_units == units("20.53")
    paid_unified = pay(container, customer.id, unified.id)
    checked(container, a.id, b.id, paid.id, paid_unified.id)
    assert resource(container, rid_a).expire_at == utc(2026, 6, 2, 0, 0, 0)  # end of 1 June
    assert resource(container, rid_b).expire_at == utc(2026, 6, 2, 0, 0, 0)
    # from then on they renew together: a month -> the end of 1 July
    again = pay(container, customer.id, renew(container, customer.id, [rid_a, rid_b]).id)
    checked(container, a.id, b.id, paid.id, paid_unified.id, again.id)
    assert resource(container, rid_a).expire_at == utc(2026, 7, 2, 0, 0, 0)
    assert resource(container, rid_b).expire_at == utc(2026, 7, 2, 0, 0, 0)
    # 200 - 2 x 50.70 (purchases and first renewal) - 20.53 - 50.70
    assert figures(container, customer.id).cash_balance_units == units("27.37")


# -- the renewal views ----------------------------------------------------------------------------


def test_renewal_views_with_counts(container) -> None:  # type: ignore[no-untyped-def]
    customer = new_customer(container)
    topup(container, customer.id, "500.00", "seed")
    a, frozen_one = bought(container, customer.id)  # expires 17 April 00:00: frozen 2 May
    yearly, far_one = bought(container, customer.id, unit="year", count=1)
    set_clock(container, utc(2026, 4, 1, 9, 0, 0))
    b, grace_one = bought(container, customer.id)  # expires 2 May 00:00
    set_clock(container, utc(2026, 5, 1, 9, 0, 0))
    c, soon_one = bought(container, customer.id)  # expires 2 June 00:00
    set_clock(container, utc(2026, 5, 3, 1, 0, 0))
    run_due(container)
    checked(container, a.id, yearly.id, b.id, c.id)
    counts = {"expiring": 1, "expired": 1, "frozen": 1}
    for view, rid in (("expiring", soon_one), ("expired", grace_one), ("frozen", frozen_one)):
        page = renewal_page(container, customer.id, view)
        assert page["counts"] == counts
        assert page["total"] == 1
        assert [item["resource_id"] for item in page["items"]] == [rid]
    (item,) = renewal_page(container, customer.id, "expiring")["items"]
    assert item["days_left"] == 30  # 29 days 23 hours, rounded up
    assert item["status"] == "normal"
    everything = renewal_page(container, customer.id, "all")
    assert everything["total"] == 4
    assert [i["resource_id"] for i in everything["items"]] == [
        frozen_one,
        grace_one,
        soon_one,
        far_one,
    ]
    # renewing the frozen one moves it to the expiring view... (its new expiry, 17 May, is near)
    paid = pay(container, customer.id, renew(container, customer.id, [frozen_one]).id)
    checked(container, paid.id)
    page = renewal_page(container, customer.id, "expiring")
    assert page["counts"] == {"expiring": 2, "expired": 1, "frozen": 0}
    assert [i["resource_id"] for i in page["items"]] == [frozen_one, soon_one]


def test_auto_renew_and_reminders_reach_every_subscription_past_a_page(
    container, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """The job reads subscriptions a page at a time; rows already handled (attempted today,
    reminded) must not hide those after them. A page of 2 stands in for the real 1000."""
    monkeypatch.setattr(subscriptions, "PAGE_SIZE_MAX", 2)
    customer = new_customer(container)
    topup(container, customer.id, "34.80", "seed")
    item = NewItem(VM_TYPE, SMALL, "ap-southeast-1", "vm", "month", 1, quantity=3)
    three = container.write(
        lambda conn, now: orders.create_new(
            conn, customer.id, [item], terms=terms(container), now=now
        )
    )
    order = pay(container, customer.id, three.id)
    rids = sorted(line.resource_id for line in order.lines)
    for rid in rids:
        auto_renew(container, customer.id, rid)
    checked(container, order.id)
    # 10 April 03:00: the first attempt of all three fails (no money); a reminder each
    set_clock(container, utc(2026, 4, 10, 3, 0, 0))
    assert sorted(run_due(container).subscriptions.renew_failed) == rids
    assert len(events(container, "customer.auto_renew_failed")) == 3
    assert len(events(container, "customer.subscription_expiring")) == 3
    set_clock(container, utc(2026, 4, 11, 3, 0, 0))
    assert sorted(run_due(container).subscriptions.renew_failed) == rids
    topup(container, customer.id, "34.80", "more")
    set_clock(container, utc(2026, 4, 12, 3, 0, 0))
    report = run_due(container).subscriptions
    assert len(report.renewed) == 3 and report.renew_failed == []
    checked(container, order.id, *report.renewed)
    for rid in rids:
        assert resource(container, rid).expire_at == utc(2026, 5, 17, 0, 0, 0)


def test_a_resource_set_to_go_at_expiry_is_not_auto_renewed(container) -> None:  # type: ignore[no-untyped-def]
    """Huawei's renewal management sets one of auto-renewal, a change to pay-per-use at
    expiry, or a release at expiry: choosing one of the latter switches auto-renew off, and a
    resource set to change or go is not renewed."""
    customer = new_customer(container, timezone="Asia/Shanghai")
    topup(container, customer.id, "30.00", "seed")
    first, rid = bought(container, customer.id)
    auto_renew(container, customer.id, rid)
    sub = container.write(
        lambda conn, now: subscriptions.set_expire_policy(
            conn, customer.id, rid, policy="release", now=now
        )
    )
    assert (sub.auto_renew, sub.expire_policy) == (False, "release")
    set_clock(container, utc(2026, 4, 8, 19, 0, 0))  # when it would have been auto-renewed
    assert run_due(container).subscriptions.renewed == []
    assert order_count(container, customer.id) == 1
    auto_renew(container, customer.id, rid)  # auto-renew chosen again: the release is dropped
    sub = container.read(lambda conn, _now: subscriptions.get(conn, rid))
    assert (sub.auto_renew, sub.expire_policy) == (True, "grace_then_release")
    checked(container, first.id)
