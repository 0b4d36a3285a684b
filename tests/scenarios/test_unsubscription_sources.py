"""Unsubscription by period and by source (orders/period_refunds.py), on the simulated clock.

Huawei (https://support.huaweicloud.com/intl/en-us/usermanual-billing/unsubscription_topic_2000010.html
and https://support.huaweicloud.com/intl/en-us/faq-billing/unsubscriptions_faq_300007.html): a
resource in use gives back paid - consumed - handling fee, paid being cash only and its cash
coupons not returned; a renewal period not begun gives back what it was paid, its cash coupons
too, without a fee. The property test plays any run of purchase, renewals, upgrades, downgrades
and waits, then unsubscribes: no source ever gets back more than it paid, and the books balance.
"""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloudbill.kernel.errors import CloudbillError
from cloudbill.kernel.periods import utc
from cloudbill.store import clock_repo

from ..helpers import new_customer
from .test_orders import LARGE, SMALL, buy, pay, set_clock
from .test_orders_changes import change, coupon_balance, unsubscribe
from .test_orders_renewals import checked, order_of, renew
from .test_settlement import figures, topup, units
from .test_settlement_benefits import coupon


def test_a_renewal_not_begun_comes_back_whole_with_its_coupon(container) -> None:  # type: ignore[no-untyped-def]
    customer = new_customer(container)
    topup(container, customer.id, "30.00", "seed")
    first = pay(container, customer.id, buy(container, customer.id).id)
    rid = first.lines[0].resource_id
    c = coupon(container, customer.id, "renewal", "5.00", days=90, billing_modes=["yearly_monthly"])
    ahead = pay(container, customer.id, renew(container, customer.id, [rid]).id, [c.id])
    assert (ahead.coupon_units, ahead.cash_units) == (units("5.00"), units("6.60"))
    set_clock(container, utc(2026, 3, 26, 9, 30, 0))  # 240 h of the first month's 759
    order = unsubscribe(container, customer.id, [rid])
    checked(container, first.id, ahead.id, order.id)
    # in use: 11.60 cash, used 11.60 x 240 / 759 = 3.6679 -> 3.67, fee 1.16: 6.77 back;
    # not begun: 6.60 cash and the 5.00 coupon, no fee
    (line,) = order.lines
    assert (line.used_units, line.fee_units) == (units("3.67"), units("1.16"))
    assert (order.cash_units, order.coupon_units) == (units("-13.37"), units("-5.00"))
    assert coupon_balance(container, c.id) == (units("5.00"), "active")
    # 30.00 - 11.60 - 6.60 = 11.80, + 13.37
    assert figures(container, customer.id).cash_balance_units == units("25.17")


def _advance(container, hours: int) -> None:  # type: ignore[no-untyped-def]
    container.write(lambda conn, now: clock_repo.advance(conn, timedelta(hours=hours)))


STEP = st.one_of(
    st.tuples(st.just("wait"), st.integers(min_value=1, max_value=900)),
    st.tuples(st.just("renew"), st.integers(min_value=1, max_value=2), st.booleans()),
    st.tuples(st.just("change")),
)


def _play(container, customer_id, rid, steps, spec) -> list[str]:  # type: ignore[no-untyped-def]
    order_ids = []
    for step in steps:
        try:
            if step[0] == "wait":
                _advance(container, step[1])
            elif step[0] == "renew":
                coupons = []
                if step[2]:
                    scope = {"billing_modes": ["yearly_monthly"]}
                    ref = f"c-{uuid4().hex[:12]}"
                    coupons = [coupon(container, customer_id, ref, "3.00", **scope)]
                order = renew(container, customer_id, [rid], count=step[1])
                order_ids.append(pay(container, customer_id, order.id, [c.id for c in coupons]).id)
            else:
                spec = LARGE if spec == SMALL else SMALL
                order = change(container, customer_id, rid, spec)
                if order.status.value == "pending_payment":
                    order = pay(container, customer_id, order.id)
                order_ids.append(order.id)
        except CloudbillError:
            continue  # a refused step (e.g. a change after expiry) changes nothing
    return order_ids


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=st.lists(STEP, max_size=6), with_coupon=st.booleans())
def test_no_source_ever_gets_back_more_than_it_paid(container, steps, with_coupon) -> None:  # type: ignore[no-untyped-def]
    tag = uuid4().hex[:12]  # the examples share one database
    customer = new_customer(container, name=f"acme-{tag}")
    topup(container, customer.id, "500.00", f"seed-{tag}")
    coupons = []
    if with_coupon:
        coupons = [
            coupon(container, customer.id, f"first-{tag}", "4.00", billing_modes=["yearly_monthly"])
        ]
    first = pay(container, customer.id, buy(container, customer.id).id, [c.id for c in coupons])
    rid = first.lines[0].resource_id
    order_ids = [first.id, *_play(container, customer.id, rid, steps, SMALL)]
    order_ids.append(unsubscribe(container, customer.id, [rid]).id)
    checked(container, *order_ids)
    made = [order_of(container, oid) for oid in order_ids]
    for source in ("cash_units", "credit_units"):
        assert sum(getattr(o, source) for o in made) >= 0, source
    by_coupon: dict[str, int] = {}
    for o in made:
        for _, coupon_id, units_ in o.coupons:
            by_coupon[coupon_id] = by_coupon.get(coupon_id, 0) + units_
    assert all(net >= 0 for net in by_coupon.values()), by_coupon
