"""Spec changes, unsubscription and bad input on the simulated clock.

Pro rata (create_change's rule): for the paid period still to run, (new spec's price - current
spec's price) for that period x the share of it remaining by Huawei's calendar rule (the days
left in this month after the day of the change over its days, plus the days of the last month
over its days; https://support.huaweicloud.com/en-us/usermanual-billing/renewals_topic_60000001.html).
Unsubscription: paid - used (whole
hours, same shares) - the handling fee (Huawei's table: 10% of what was paid for a monthly
term); within the operator's full-refund window (off by default; 5 days here where it is
tested) everything paid comes back without a fee. Refunds go back the way the money came. Figures
are worked out by hand below (s6.small.1 11.60 USD/month, s6.large.2 39.10). The books balance
and every order adds up after every step; a refused request changes nothing."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select

from cloudbill.customers import service as customers
from cloudbill.customers.model import CustomerStatus
from cloudbill.kernel.errors import CloudbillError, ErrorCode
from cloudbill.kernel.money import Rounding
from cloudbill.kernel.periods import utc
from cloudbill.orders import service as orders
from cloudbill.orders.rules import scale
from cloudbill.orders.service import NewItem
from cloudbill.store.schema import cash_coupon
from cloudbill.worker.jobs import run_due

from ..helpers import new_customer, snapshot
from .test_orders import LARGE, SMALL, VM_TYPE, buy, pay, set_clock, terms
from .test_orders_renewals import checked, events, renew, resource
from .test_settlement import figures, topup, units
from .test_settlement_benefits import coupon

# Bought at T0 = 16 March 09:00 UTC by a UTC customer: expires 17 April 00:00 UTC.
# The span runs from 16 March 09:00: 31 days 15 hours = 759 hours.
# Ten days and 30 minutes later (26 March 09:30) the hour is 09:00: 240 hours are used and 519
# remain (unsubscription); a spec change then has 27-31 March (5/31) and 1-16 April (16/30) of
# the month left: 0.69462... of it.
MID = utc(2026, 3, 26, 9, 30, 0)


def change(container, customer_id, rid, spec, **kw):  # type: ignore[no-untyped-def]
    return container.write(
        lambda conn, now: orders.create_change(
            conn, customer_id, rid, new_spec=spec, terms=terms(container), now=now, **kw
        )
    )


def unsubscribe(container, customer_id, rids, *, full_refund_days=None, **kw):  # type: ignore[no-untyped-def]
    chosen = terms(container)
    if full_refund_days is not None:  # the operator's full-refund window (off by default)
        chosen = replace(chosen, full_refund_days=full_refund_days)
    return container.write(
        lambda conn, now: orders.unsubscribe(
            conn, customer_id, list(rids), terms=chosen, now=now, **kw
        )
    )


def coupon_balance(container, coupon_id) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    with container.db.read() as conn:
        row = conn.execute(select(cash_coupon).where(cash_coupon.c.id == coupon_id)).one()
    return row.balance_units, row.status


def refused(container, code, call):  # type: ignore[no-untyped-def]
    """`call` fails with `code` and changes nothing."""
    before = snapshot(container)
    with pytest.raises(CloudbillError) as err:
        call()
    assert err.value.code is code, err.value
    assert snapshot(container) == before
    return err.value


# -- spec changes -------------------------------------------------------------------------------


def test_upgrade_mid_period_charges_the_difference_pro_rata(container) -> None:  # type: ignore[no-untyped-def]
    customer = new_customer(container)
    topup(container, customer.id, "40.00", "seed")
    first = pay(container, customer.id, buy(container, customer.id).id)
    rid = first.lines[0].resource_id
    checked(container, first.id)
    set_clock(container, MID)
    order = change(container, customer.id, rid, LARGE)
    # (39.10 - 11.60) x (5/31 + 16/30) = 27.50 x 0.69462... = 19.1022 -> 19.10
    assert (order.order_type.value, order.status.value) == ("change", "pending_payment")
    assert order.amount_units == order.official_units == units("19.10")
    assert (order.lines[0].old_spec, order.lines[0].spec) == (SMALL, LARGE)
    checked(container, first.id, order.id)
    assert resource(container, rid).spec == SMALL  # not before it is paid
    paid = pay(container, customer.id, order.id)
    checked(container, first.id, paid.id)
    assert paid.cash_units == units("19.10")
    r = resource(container, rid)
    assert (r.spec, r.expire_at) == (LARGE, utc(2026, 4, 17, 0, 0, 0))  # the expiry stays
    assert (paid.lines[0].period_start, paid.lines[0].period_end) == (MID, r.expire_at)
    assert figures(container, customer.id).cash_balance_units == units("9.30")  # 40-11.60-19.10
    assert len(events(container, "resource.spec_changed", rid)) == 1


def test_downgrade_mid_period_refunds_the_way_the_money_came(container) -> None:  # type: ignore[no-untyped-def]
    customer = new_customer(container)
    topup(container, customer.id, "40.00", "seed")
    c = coupon(container, customer.id, "welcome", "10.00", billing_modes=["yearly_monthly"])
    first = pay(container, customer.id, buy(container, customer.id, spec=LARGE).id, [c.id])
    rid = first.lines[0].resource_id
    assert (first.coupon_units, first.cash_units) == (units("10.00"), units("29.10"))
    assert coupon_balance(container, c.id) == (0, "used_up")
    checked(container, first.id)
    set_clock(container, MID)
    order = change(container, customer.id, rid, SMALL)
    # (11.60 - 39.10) x (5/31 + 16/30) = -19.10, applied at once and given back
    assert (order.order_type.value, order.status.value) == ("change", "refunded")
    assert order.amount_units == units("-19.10")
    # by source: cash 29.10 and coupon 10.00 of 39.10 -> 1910 cents x 2910/3910 = 1421.51,
    # x 1000/3910 = 488.49; the odd cent to the larger remainder (cash): 14.22 + 4.88
    assert (order.cash_units, order.coupon_units) == (units("-14.22"), units("-4.88"))
    assert order.coupons == ((1, c.id, units("-4.88")),)
    checked(container, first.id, order.id)
    assert resource(container, rid).spec == SMALL
    assert coupon_balance(container, c.id) == (units("4.88"), "active")
    assert figures(container, customer.id).cash_balance_units == units("25.12")  # 10.90+14.22
    # changing to the spec it has, or an unknown one: refused, nothing changes
    refused(
        container, ErrorCode.INVALID_ARGUMENT, lambda: change(container, customer.id, rid, SMALL)
    )
    refused(
        container,
        ErrorCode.CATALOG_ITEM_NOT_FOUND,
        lambda: change(container, customer.id, rid, "s6.huge.99"),
    )


# -- unsubscription ---------------------------------------------------------------------------


def test_unsubscription_inside_the_full_refund_window(container) -> None:  # type: ignore[no-untyped-def]
    customer = new_customer(container)
    topup(container, customer.id, "20.00", "seed")
    c = coupon(container, customer.id, "welcome", "5.00", billing_modes=["yearly_monthly"])
    first = pay(container, customer.id, buy(container, customer.id).id, [c.id])
    rid = first.lines[0].resource_id
    assert (first.coupon_units, first.cash_units) == (units("5.00"), units("6.60"))
    set_clock(container, utc(2026, 3, 21, 8, 0, 0))  # 4 days 23 hours later
    order = unsubscribe(container, customer.id, [rid], full_refund_days=5)
    checked(container, first.id, order.id)
    assert (order.order_type.value, order.status.value) == ("unsubscription", "refunded")
    assert order.amount_units == units("-11.60")
    assert (order.cash_units, order.coupon_units, order.fee_units) == (
        units("-6.60"),
        units("-5.00"),
        0,
    )
    (line,) = order.lines
    assert (line.used_units, line.fee_units) == (0, 0)
    assert coupon_balance(container, c.id) == (units("5.00"), "active")
    assert figures(container, customer.id).cash_balance_units == units("20.00")
    assert resource(container, rid).status.value == "released"
    assert events(container, "resource.released", rid)[0]["cause"] == "unsubscription"
    # unsubscribing again: the resource is gone
    refused(
        container, ErrorCode.RESOURCE_RELEASED, lambda: unsubscribe(container, customer.id, [rid])
    )


def test_without_the_window_four_days_in_pay_the_fee(container) -> None:  # type: ignore[no-untyped-def]
    """Huawei's international site has no five-day full refund: the window is an operator
    setting, off by default (CLOUDBILL_FULL_REFUND_DAYS=0)."""
    customer = new_customer(container)
    topup(container, customer.id, "20.00", "seed")
    c = coupon(container, customer.id, "welcome", "5.00", billing_modes=["yearly_monthly"])
    first = pay(container, customer.id, buy(container, customer.id).id, [c.id])
    rid = first.lines[0].resource_id
    set_clock(container, utc(2026, 3, 21, 8, 0, 0))  # 4 days 23 hours later: 119 h of 759
    order = unsubscribe(container, customer.id, [rid])
    checked(container, first.id, order.id)
    # Huawei counts only what cash paid, and keeps the coupon spent on a period in use
    # (https://support.huaweicloud.com/intl/en-us/faq-billing/unsubscriptions_faq_300007.html):
    # paid 6.60; used 6.60 x 119 / 759 = 1.0348 -> 1.03; fee 10% of 6.60 = 0.66; back 4.91
    (line,) = order.lines
    assert (line.used_units, line.fee_units) == (units("1.03"), units("0.66"))
    assert (order.amount_units, order.cash_units, order.coupon_units) == (
        units("-4.91"),
        units("-4.91"),
        0,
    )
    assert coupon_balance(container, c.id) == (0, "used_up")
    assert figures(container, customer.id).cash_balance_units == units("18.31")  # 13.40 + 4.91


def test_unsubscription_outside_the_full_refund_window(container) -> None:  # type: ignore[no-untyped-def]
    customer = new_customer(container)
    topup(container, customer.id, "20.00", "seed")
    first = pay(container, customer.id, buy(container, customer.id).id)
    rid = first.lines[0].resource_id
    set_clock(container, MID)
    order = unsubscribe(container, customer.id, [rid])
    checked(container, first.id, order.id)
    # used: 11.60 x 240 / 759 = 3.6679 -> 3.67; fee 10% of 11.60 = 1.16; back 6.77
    (line,) = order.lines
    assert (line.used_units, line.fee_units) == (units("3.67"), units("1.16"))
    assert order.fee_units == units("1.16")
    assert order.amount_units == order.cash_units == units("-6.77")
    assert figures(container, customer.id).cash_balance_units == units("15.17")  # 8.40 + 6.77
    assert resource(container, rid).status.value == "released"


def test_a_change_to_pay_per_use_at_once_refunds_like_an_unsubscription(container) -> None:  # type: ignore[no-untyped-def]
    """Yearly/monthly -> pay-per-use taking effect now (issue 15, item 8), not at expiry: the
    unused term comes back as an unsubscription's refund would, and the resource keeps running,
    billed by the hour from this instant; bought again later, it starts afresh (the refunded
    term is never refunded twice)."""
    customer = new_customer(container)
    topup(container, customer.id, "40.00", "seed")
    first = pay(container, customer.id, buy(container, customer.id).id)
    rid = first.lines[0].resource_id
    set_clock(container, MID)
    order = unsubscribe(container, customer.id, [rid], then="to_pay_per_use")
    checked(container, first.id, order.id)
    (line,) = order.lines  # as test_unsubscription_outside_the_full_refund_window
    assert (line.used_units, line.fee_units) == (units("3.67"), units("1.16"))
    assert order.amount_units == order.cash_units == units("-6.77")
    r = resource(container, rid)
    assert (r.status.value, r.billing_mode.value, r.expire_at, r.terms_since) == (
        "normal", "pay_per_use", None, MID,
    )  # fmt: skip
    assert events(container, "resource.converted", rid)[-1]["order_id"] == order.id
    # bought again, then unsubscribed within the hour: only the new month counts
    again = container.write(
        lambda conn, now: orders.create_conversion(
            conn, customer.id, rid, period_unit="month", period_count=1,
            terms=terms(container), now=now,
        )
    )  # fmt: skip
    again = pay(container, customer.id, again.id)
    last = unsubscribe(container, customer.id, [rid])
    checked(container, again.id, last.id)
    # 11.60 paid, no whole hour used, 10% fee: 10.44 back
    assert last.amount_units == last.cash_units == units("-10.44")
    # a resource not in its term, or a bad choice: refused, nothing changed
    before = snapshot(container)
    for rids, then, code in (
        ([rid], "to_pay_per_use", ErrorCode.RESOURCE_RELEASED),
        ([rid], "keep", ErrorCode.INVALID_ARGUMENT),
    ):
        with pytest.raises(CloudbillError) as err:
            unsubscribe(container, customer.id, rids, then=then)
        assert err.value.code is code, then
    assert snapshot(container) == before


def test_renewals_only_come_back_whole_with_their_coupons(container) -> None:  # type: ignore[no-untyped-def]
    """unsubscribe_type 2: a renewal period not begun is given back whole, its cash coupon
    returned, no fee (Huawei, "Unsubscription Rules"); the resource keeps its month. A spec
    change that reached the renewal spreads its money over both: refused, nothing changed."""
    customer = new_customer(container)
    topup(container, customer.id, "100.00", "seed")
    first = pay(container, customer.id, buy(container, customer.id).id)
    rid = first.lines[0].resource_id
    expiry = resource(container, rid).expire_at
    c = coupon(container, customer.id, "renewal", "5.00", days=90, billing_modes=["yearly_monthly"])
    ahead = pay(container, customer.id, renew(container, customer.id, [rid]).id, [c.id])
    assert (ahead.coupon_units, ahead.cash_units) == (units("5.00"), units("6.60"))
    set_clock(container, MID)
    order = container.write(
        lambda conn, now: orders.unsubscribe_renewals(
            conn, customer.id, [rid], terms=terms(container), now=now
        )
    )
    checked(container, first.id, ahead.id, order.id)
    assert (order.cash_units, order.coupon_units, order.fee_units) == (
        units("-6.60"), units("-5.00"), 0,
    )  # fmt: skip
    assert coupon_balance(container, c.id) == (units("5.00"), "active")
    r = resource(container, rid)
    assert (r.status.value, r.expire_at) == ("normal", expiry)
    # renewed again, then upgraded: the upgrade paid for the renewal too
    again = pay(container, customer.id, renew(container, customer.id, [rid]).id)
    upgrade = change(container, customer.id, rid, LARGE)
    pay(container, customer.id, upgrade.id)
    before = snapshot(container)
    with pytest.raises(CloudbillError) as err:
        container.write(
            lambda conn, now: orders.unsubscribe_renewals(
                conn, customer.id, [rid], terms=terms(container), now=now
            )
        )
    assert err.value.code is ErrorCode.INVALID_STATE
    assert snapshot(container) == before
    whole = unsubscribe(container, customer.id, [rid])  # the whole resource still can
    checked(container, again.id, upgrade.id, whole.id)


def test_unsubscribing_an_expired_resource_gives_nothing_back(container) -> None:  # type: ignore[no-untyped-def]
    customer = new_customer(container)
    topup(container, customer.id, "20.00", "seed")
    first = pay(container, customer.id, buy(container, customer.id).id)
    rid = first.lines[0].resource_id
    set_clock(container, utc(2026, 4, 18, 0, 0, 0))  # a day after expiry: in grace
    run_due(container)
    assert resource(container, rid).status.value == "grace"
    order = unsubscribe(container, customer.id, [rid])
    checked(container, first.id, order.id)
    # all 11.60 used, no fee left to take, nothing back (and no empty ledger posting)
    (line,) = order.lines
    assert (line.used_units, line.fee_units, line.amount_units) == (units("11.60"), 0, 0)
    assert (order.amount_units, order.cash_units, order.ledger_transaction_id) == (0, 0, None)
    assert resource(container, rid).status.value == "released"
    assert figures(container, customer.id).cash_balance_units == units("8.40")


def test_unsubscription_after_an_upgrade_counts_both_payments(container) -> None:  # type: ignore[no-untyped-def]
    customer = new_customer(container)
    topup(container, customer.id, "40.00", "seed")
    first = pay(container, customer.id, buy(container, customer.id).id)
    rid = first.lines[0].resource_id
    set_clock(container, MID)
    upgrade = pay(container, customer.id, change(container, customer.id, rid, LARGE).id)
    assert upgrade.amount_units == units("19.10")
    set_clock(container, MID + timedelta(days=5))  # 31 March 09:30: 360 hours in
    order = unsubscribe(container, customer.id, [rid])
    checked(container, first.id, upgrade.id, order.id)
    # first: 11.60 x 360 / 759 = 5.5019 -> 5.50; the upgrade ran from 26 March 09:00 to
    # 17 April 00:00 (519 h), 120 h used: 19.10 x 120 / 519 = 4.4162 -> 4.42.
    # paid 30.70, used 9.92, fee 3.07: back 17.71
    (line,) = order.lines
    assert (line.used_units, line.fee_units) == (units("9.92"), units("3.07"))
    assert order.amount_units == units("-17.71")
    assert figures(container, customer.id).cash_balance_units == units("27.01")  # 9.30 + 17.71


# -- bad input ----------------------------------------------------------------------------------


def test_bad_periods_and_specs_are_refused(container) -> None:  # type: ignore[no-untyped-def]
    customer = new_customer(container)
    topup(container, customer.id, "100.00", "seed")
    first = pay(container, customer.id, buy(container, customer.id).id)
    rid = first.lines[0].resource_id
    for unit, count in (
        ("month", 0),
        ("month", -1),
        ("month", 10),
        ("year", 0),
        ("year", 4),
        ("week", 1),
        ("month", True),
        ("month", 1.5),
    ):
        refused(
            container,
            ErrorCode.INVALID_ARGUMENT,
            lambda u=unit, n=count: buy(container, customer.id, unit=u, count=n),
        )
        refused(
            container,
            ErrorCode.INVALID_ARGUMENT,
            lambda u=unit, n=count: renew(container, customer.id, [rid], u, n),
        )
    refused(
        container,
        ErrorCode.CATALOG_ITEM_NOT_FOUND,
        lambda: buy(container, customer.id, spec="s6.huge.99"),
    )
    for day in (0, 29, -2):  # 1 to 28, or -1 for the last day of the month
        refused(
            container,
            ErrorCode.INVALID_ARGUMENT,
            lambda d=day: renew(container, customer.id, [rid], unified_day=d),
        )
    refused(
        container,
        ErrorCode.INVALID_ARGUMENT,
        lambda: container.write(
            lambda conn, now: orders.create_new(
                conn,
                customer.id,
                [NewItem(VM_TYPE, SMALL, "ap-southeast-1", "vm", "month", 1, quantity=0)],
                terms=terms(container),
                now=now,
            )
        ),
    )
    checked(container, first.id)


def test_someone_elses_order_and_coupon(container) -> None:  # type: ignore[no-untyped-def]
    alice = new_customer(container, "alice")
    bob = new_customer(container, "bob")
    topup(container, alice.id, "50.00", "a")
    topup(container, bob.id, "50.00", "b")
    order = buy(container, alice.id)
    bobs = coupon(container, bob.id, "bobs", "5.00")
    for call in (
        lambda: pay(container, bob.id, order.id),
        lambda: container.write(lambda conn, now: orders.cancel(conn, bob.id, order.id, now=now)),
        lambda: container.read(lambda conn, _n: orders.get(conn, order.id, customer_id=bob.id)),
    ):
        refused(container, ErrorCode.ORDER_NOT_FOUND, call)
    refused(container, ErrorCode.NOT_FOUND, lambda: pay(container, alice.id, order.id, [bobs.id]))
    # bob cannot renew, change or unsubscribe alice's resource either
    paid = pay(container, alice.id, order.id)
    rid = paid.lines[0].resource_id
    refused(container, ErrorCode.RESOURCE_NOT_FOUND, lambda: renew(container, bob.id, [rid]))
    refused(container, ErrorCode.RESOURCE_NOT_FOUND, lambda: change(container, bob.id, rid, LARGE))
    refused(container, ErrorCode.RESOURCE_NOT_FOUND, lambda: unsubscribe(container, bob.id, [rid]))
    checked(container, paid.id)


def test_paying_twice_and_replaying_a_payment(container) -> None:  # type: ignore[no-untyped-def]
    customer = new_customer(container)
    topup(container, customer.id, "50.00", "seed")
    order = buy(container, customer.id)
    paid = pay(container, customer.id, order.id, reference="pay-1")
    checked(container, paid.id)
    before = snapshot(container)
    again = pay(container, customer.id, order.id, reference="pay-1")  # a replay: same answer
    assert again == paid
    assert snapshot(container) == before
    refused(container, ErrorCode.ORDER_ALREADY_PAID, lambda: pay(container, customer.id, order.id))
    refused(
        container,
        ErrorCode.ORDER_ALREADY_PAID,
        lambda: pay(container, customer.id, order.id, reference="pay-2"),
    )
    refused(
        container,
        ErrorCode.ORDER_CLOSED,
        lambda: container.write(
            lambda conn, now: orders.cancel(conn, customer.id, order.id, now=now)
        ),
    )
    assert figures(container, customer.id).cash_balance_units == units("38.40")
    checked(container, paid.id)


def test_coupons_outside_their_scope_or_validity(container) -> None:  # type: ignore[no-untyped-def]
    customer = new_customer(container)
    topup(container, customer.id, "50.00", "seed")
    order = buy(container, customer.id)
    storage = coupon(container, customer.id, "obs-only", "5.00", services=["obs"])
    per_use = coupon(container, customer.id, "ppu-only", "5.00", billing_modes=["pay_per_use"])
    big_spend = coupon(container, customer.id, "min-20", "5.00", min_spend="20.00")
    short = coupon(container, customer.id, "short", "5.00", days=1)
    for c in (storage, per_use, big_spend):
        refused(
            container,
            ErrorCode.COUPON_NOT_APPLICABLE,
            lambda cid=c.id: pay(container, customer.id, order.id, [cid]),
        )
    set_clock(container, utc(2026, 3, 18, 9, 0, 0))  # the short one ran out on 17 March
    refused(
        container,
        ErrorCode.COUPON_NOT_APPLICABLE,
        lambda: pay(container, customer.id, order.id, [short.id]),
    )
    # one good coupon among them still cannot carry the bad one
    good = coupon(container, customer.id, "good", "5.00", services=["ecs"])
    refused(  # where the operator allows two coupons a payment
        container,
        ErrorCode.COUPON_NOT_APPLICABLE,
        lambda: container.write(
            lambda conn, now: orders.pay(
                conn, customer.id, order.id, coupon_ids=[good.id, storage.id], coupons_max=2,
                now=now,
            )
        ),
    )  # fmt: skip
    refused(  # Huawei's limit by default: one cash coupon a payment
        container,
        ErrorCode.INVALID_ARGUMENT,
        lambda: pay(container, customer.id, order.id, [good.id, storage.id]),
    )
    paid = pay(container, customer.id, order.id, [good.id])
    checked(container, paid.id)
    assert (paid.coupon_units, paid.cash_units) == (units("5.00"), units("6.60"))


def test_insufficient_balance(container) -> None:  # type: ignore[no-untyped-def]
    customer = new_customer(container)
    topup(container, customer.id, "11.59", "seed")
    order = buy(container, customer.id)
    refused(
        container, ErrorCode.INSUFFICIENT_BALANCE, lambda: pay(container, customer.id, order.id)
    )
    topup(container, customer.id, "0.01", "cent")
    paid = pay(container, customer.id, order.id)
    checked(container, paid.id)
    assert figures(container, customer.id).cash_balance_units == 0


def test_customer_in_arrears_or_frozen_cannot_create_or_pay(container) -> None:  # type: ignore[no-untyped-def]
    customer = new_customer(container)
    topup(container, customer.id, "50.00", "seed")
    first = pay(container, customer.id, buy(container, customer.id).id)
    rid = first.lines[0].resource_id
    pending = buy(container, customer.id)
    container.write(
        lambda conn, now: customers.adjust(
            conn,
            customer.id,
            "40.00",
            direction="charge",
            reason="correction",
            reference="adj-1",
            now=now,
        )
    )  # 38.40 cash, 1.60 debt: in arrears
    assert figures(container, customer.id).in_arrears
    for call in (
        lambda: buy(container, customer.id),
        lambda: pay(container, customer.id, pending.id),
        lambda: renew(container, customer.id, [rid]),
        lambda: change(container, customer.id, rid, LARGE),
    ):
        refused(container, ErrorCode.CUSTOMER_IN_ARREARS, call)
    # cancelling costs nothing: allowed
    cancelled = container.write(
        lambda conn, now: orders.cancel(conn, customer.id, pending.id, now=now)
    )
    assert cancelled.status.value == "cancelled"
    topup(container, customer.id, "20.00", "clear")
    assert not figures(container, customer.id).in_arrears
    pending = buy(container, customer.id)
    container.write(
        lambda conn, now: customers.set_status(
            conn, customer.id, CustomerStatus.FROZEN, reason="test", now=now
        )
    )
    for call in (
        lambda: buy(container, customer.id),
        lambda: pay(container, customer.id, pending.id),
        lambda: renew(container, customer.id, [rid]),
    ):
        refused(container, ErrorCode.CUSTOMER_FROZEN, call)
    checked(container, first.id, pending.id)


def test_creation_is_idempotent_by_reference(container) -> None:  # type: ignore[no-untyped-def]
    customer = new_customer(container)
    order = buy(container, customer.id, reference="req-1")
    before = snapshot(container)
    assert buy(container, customer.id, reference="req-1") == order
    assert snapshot(container) == before
    refused(
        container,
        ErrorCode.IDEMPOTENCY_CONFLICT,
        lambda: buy(container, customer.id, spec=LARGE, reference="req-1"),
    )
    refused(
        container,
        ErrorCode.IDEMPOTENCY_CONFLICT,
        lambda: buy(container, customer.id, count=2, reference="req-1"),
    )
    # another customer's reference space is their own
    other = new_customer(container, "other")
    assert buy(container, other.id, reference="req-1").id != order.id
    checked(container, order.id)


def test_upgrade_order_cannot_be_paid_after_the_resource_expired(container) -> None:  # type: ignore[no-untyped-def]
    customer = new_customer(container)
    topup(container, customer.id, "80.00", "seed")
    first = pay(container, customer.id, buy(container, customer.id).id)
    rid = first.lines[0].resource_id
    set_clock(container, utc(2026, 4, 15, 9, 0, 0))
    order = change(container, customer.id, rid, LARGE)
    set_clock(container, utc(2026, 4, 17, 1, 0, 0))  # expired at the end of 16 April
    run_due(container)
    refused(container, ErrorCode.INVALID_STATE, lambda: pay(container, customer.id, order.id))


@pytest.mark.parametrize(("days_in", "percent"), [(30, 15), (400, 10)])
def test_a_two_year_term_pays_huaweis_fee_for_its_year_of_use(container, days_in, percent) -> None:  # type: ignore[no-untyped-def]
    """Huawei, "Unsubscription Rules": a 2-year subscription unsubscribed in its first year of
    use pays a 15% handling fee, in its second 10%, of the actual payment."""
    customer = new_customer(container)
    topup(container, customer.id, "2000.00", "seed")
    first = pay(container, customer.id, buy(container, customer.id, unit="year", count=2).id)
    rid = first.lines[0].resource_id
    set_clock(container, utc(2026, 3, 16, 9, 0, 0) + timedelta(days=days_in))
    order = unsubscribe(container, customer.id, [rid])
    checked(container, first.id, order.id)
    (line,) = order.lines
    assert line.fee_units == scale(
        first.amount_units, percent, 100, digits=2, rounding=Rounding.HALF_UP
    )
    assert -order.amount_units == first.amount_units - line.used_units - line.fee_units


def test_a_downgrade_then_an_unsubscription_never_give_back_more_than_was_paid(container) -> None:  # type: ignore[no-untyped-def]
    """A review's case: bought large, renewed a month ahead, downgraded, unsubscribed: what
    came back (the downgrade's refund and the unsubscription's) stays within what was paid,
    less the hours used."""
    customer = new_customer(container)
    topup(container, customer.id, "100.00", "seed")
    first = pay(container, customer.id, buy(container, customer.id, spec=LARGE).id)
    rid = first.lines[0].resource_id
    ahead = pay(container, customer.id, renew(container, customer.id, [rid]).id)
    set_clock(container, utc(2026, 3, 16, 10, 0, 0))
    down = change(container, customer.id, rid, SMALL)
    set_clock(container, utc(2026, 3, 16, 11, 0, 0))
    order = unsubscribe(container, customer.id, [rid])
    checked(container, first.id, ahead.id, down.id, order.id)
    paid = first.amount_units + ahead.amount_units
    back = -down.amount_units - order.amount_units
    assert 0 < back < paid
    assert figures(container, customer.id).cash_balance_units == units("100.00") - paid + back
