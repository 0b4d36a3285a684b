"""Yearly/monthly orders on the simulated clock: purchase with coupon and cash, the payment
deadline, auto-renew, expiry -> frozen -> renewal in retention, month-end renewals in a
non-UTC zone, upgrade and downgrade mid-period, unsubscription inside and outside the
full-refund window. Ledger invariants are checked after every step."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from cloudbill.kernel.errors import CloudbillError, ErrorCode
from cloudbill.kernel.periods import utc
from cloudbill.orders import service as orders
from cloudbill.orders.service import NewItem, Terms
from cloudbill.resources import service as resources
from cloudbill.store import clock_repo
from cloudbill.store.schema import cash_coupon
from cloudbill.worker.jobs import run_due

from ..helpers import assert_books_balance, new_customer, snapshot
from .test_settlement import figures, topup, units
from .test_settlement_benefits import coupon

VM_TYPE, SMALL, LARGE = "hws.resource.type.vm", "s6.small.1", "s6.large.2"  # 11.60 / 39.10 a month


def terms(container) -> Terms:  # type: ignore[no-untyped-def]
    return Terms.from_settings(container.settings)


def buy(container, customer_id, *, spec=SMALL, unit="month", count=1, **kw):  # type: ignore[no-untyped-def]
    item = NewItem(VM_TYPE, spec, "ap-southeast-1", "vm", unit, count)
    return container.write(
        lambda conn, now: orders.create_new(
            conn, customer_id, [item], terms=terms(container), now=now, **kw
        )
    )


def pay(container, customer_id, order_id, coupons=None, reference=None):  # type: ignore[no-untyped-def]
    return container.write(
        lambda conn, now: orders.pay(
            conn, customer_id, order_id, coupon_ids=coupons, reference=reference, now=now
        )
    )


def set_clock(container, at) -> None:  # type: ignore[no-untyped-def]
    container.write(lambda conn, now: clock_repo.advance(conn, at - now))


def check_order_adds_up(order) -> None:  # type: ignore[no-untyped-def]
    assert order.official_units - order.discount_units == order.amount_units
    for field in (
        "official_units",
        "discount_units",
        "amount_units",
        "coupon_units",
        "cash_units",
        "credit_units",
    ):
        assert sum(getattr(line, field) for line in order.lines) == getattr(order, field), field
    for line in order.lines:
        assert line.official_units - line.discount_units == line.amount_units
        if order.status.value in ("paid", "refunded"):
            assert line.coupon_units + line.cash_units + line.credit_units == line.amount_units


def test_purchase_paid_with_coupon_and_cash(container) -> None:  # type: ignore[no-untyped-def]
    customer = new_customer(container, timezone="Asia/Shanghai")
    topup(container, customer.id, "20.00", "seed")
    c = coupon(container, customer.id, "welcome", "5.00", billing_modes=["yearly_monthly"])
    order = buy(container, customer.id)
    assert order.status.value == "pending_payment"
    assert order.amount_units == units("11.60")
    paid = pay(container, customer.id, order.id, coupons=[c.id])
    check_order_adds_up(paid)
    assert (paid.coupon_units, paid.cash_units) == (units("5.00"), units("6.60"))
    assert figures(container, customer.id).cash_balance_units == units("13.40")
    rid = paid.lines[0].resource_id
    r = container.read(lambda conn, _now: resources.get(conn, rid))
    # bought 2026-03-16 17:00 Shanghai: expires at the end of 16 April, Shanghai time
    assert r.expire_at == utc(2026, 4, 16, 16, 0, 0)
    assert r.billing_mode.value == "yearly_monthly"
    assert_books_balance(container)
    with container.db.read() as conn:
        left = conn.execute(select(cash_coupon.c.balance_units)).scalar()
    assert left == 0
    # paying twice: refused, nothing changes
    before = snapshot(container)
    with pytest.raises(CloudbillError) as err:
        pay(container, customer.id, order.id)
    assert err.value.code is ErrorCode.ORDER_ALREADY_PAID
    assert snapshot(container) == before


def test_several_orders_paid_together_share_one_coupon_pro_rata(container) -> None:  # type: ignore[no-untyped-def]
    """Huawei, "多订单合并支付时,优惠券如何扣减?",
    https://support.huaweicloud.com/intl/zh-cn/faq-billing/unpaidorder_faq_0000008.html: one
    coupon over several orders paid together is shared out, the odd cent on one order."""
    customer = new_customer(container)
    topup(container, customer.id, "40.00", "seed")
    c = coupon(container, customer.id, "ten", "10.00", billing_modes=["yearly_monthly"], days=90)
    other = coupon(container, customer.id, "two", "2.00", billing_modes=["yearly_monthly"])
    ids = [buy(container, customer.id).id for _ in range(3)]  # 11.60 each
    together = lambda coupons, ref="r1": container.write(  # noqa: E731
        lambda conn, now: orders.pay_together(
            conn, customer.id, ids, coupon_ids=coupons, reference=ref, now=now
        )
    )
    before = snapshot(container)
    with pytest.raises(CloudbillError) as err:  # Huawei: one cash coupon a payment
        together([c.id, other.id])
    assert err.value.code is ErrorCode.INVALID_ARGUMENT
    assert snapshot(container) == before
    paid = together([c.id])
    # 10.00 x 11.60 / 34.80 = 3.333..: 3.33, 3.33 and the remainder 3.34 on the last
    assert [o.coupon_units for o in paid] == [units("3.33"), units("3.33"), units("3.34")]
    assert [o.cash_units for o in paid] == [units("8.27"), units("8.27"), units("8.26")]
    for order in paid:
        check_order_adds_up(order)
    assert figures(container, customer.id).cash_balance_units == units("15.20")  # 40 - 24.80
    assert_books_balance(container)
    # the same reference again answers the paid orders and moves nothing
    before = snapshot(container)
    assert [o.id for o in together([c.id])] == ids
    assert snapshot(container) == before


def test_unpaid_order_cancelled_at_deadline(container) -> None:  # type: ignore[no-untyped-def]
    customer = new_customer(container)
    order = buy(container, customer.id)
    container.write(lambda conn, now: clock_repo.advance(conn, timedelta(hours=167)))
    run_due(container)
    assert container.read(lambda c, _n: orders.get(c, order.id)).status.value == "pending_payment"
    container.write(lambda conn, now: clock_repo.advance(conn, timedelta(hours=1)))
    run_due(container)
    expired = container.read(lambda c, _n: orders.get(c, order.id))
    assert expired.status.value == "expired"
    assert expired.closed_at == order.payment_deadline
    topup(container, customer.id, "50", "late")
    with pytest.raises(CloudbillError) as err:
        pay(container, customer.id, order.id)
    assert err.value.code is ErrorCode.ORDER_CLOSED
    assert_books_balance(container)
