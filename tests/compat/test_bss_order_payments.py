"""Cancelling and paying orders through the real huaweicloudsdkbssintl client: the engine's
order changes status, the balance drops by exactly what the order took, repeating a request
answers the same without moving money twice, every refusal has Huawei's code and changes
nothing, and another customer's orders answer exactly as orders that do not exist."""

from __future__ import annotations

from typing import Any

import pytest
from huaweicloudsdkbssintl.v2 import (
    CancelCustomerOrderReq,
    CancelCustomerOrderRequest,
    CouponSimpleInfoOrderPayV3,
    DiscountSimpleInfoV3,
    ListOrderDiscountsRequest,
    PayCustomerOrderV3Req,
    PayOrdersRequest,
    ShowCustomerOrderDetailsRequest,
    ShowRefundOrderDetailsRequest,
)
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException

from cloudbill.bootstrap import Container
from cloudbill.orders import service as orders
from cloudbill.worker.jobs import run_due

from ..helpers import assert_books_balance, new_customer, snapshot
from ..scenarios.test_orders import buy, pay, terms
from ..scenarios.test_settlement import advance, figures, topup, units
from ..scenarios.test_settlement_benefits import coupon
from .conftest import issue_key, sdk_client
from .test_bss_orders import engine_order, listed
from .test_bss_refusals import refused


def client_of(container: Container, bss: str, customer_id: str) -> Any:
    key = issue_key(container, customer_id)
    return sdk_client(bss, key.key.id, key.secret, customer_id)


def cancel_call(client: Any, order_id: str | None) -> Any:
    body = CancelCustomerOrderReq(order_id=order_id)
    return lambda: client.cancel_customer_order(CancelCustomerOrderRequest(body=body))


def pay_call(client: Any, order_id: str | None, **choices: Any) -> Any:
    body = PayCustomerOrderV3Req(order_id=order_id, **choices)
    return lambda: client.pay_orders(PayOrdersRequest(body=body))


def cash_coupons(*ids: str, kind: int | None = 301) -> dict[str, Any]:
    return {
        "use_coupon": "YES",
        "coupon_infos": [CouponSimpleInfoOrderPayV3(id=i, type=kind) for i in ids],
    }


@pytest.fixture
def acme(container: Container, bss: str) -> dict[str, Any]:
    """acme with 20.00 and a 5.00 yearly/monthly coupon; a pending order of 11.60."""
    customer = new_customer(container, "acme")
    topup(container, customer.id, "20.00", "seed")
    five = coupon(container, customer.id, "five", "5.00", billing_modes=["yearly_monthly"])
    return {
        "customer": customer,
        "client": client_of(container, bss, customer.id),
        "coupon": five,
        "order": buy(container, customer.id),
    }


def test_cancel_then_again_then_a_paid_order(container: Container, acme: dict[str, Any]) -> None:
    client, order, customer = acme["client"], acme["order"], acme["customer"]
    assert cancel_call(client, order.id)().status_code == 200
    cancelled = engine_order(container, order.id)
    assert cancelled.status.value == "cancelled" and cancelled.closed_at is not None
    before = snapshot(container)
    assert cancel_call(client, order.id)().status_code == 200  # the same answer, nothing new
    assert snapshot(container) == before
    assert engine_order(container, order.id) == cancelled
    paid = pay(container, customer.id, buy(container, customer.id).id)
    before = snapshot(container)
    refused(cancel_call(client, paid.id), 400, "CBC.99005010")
    refused(cancel_call(client, "CS0000000000NOSUCH"), 400, "CBC.30000010")
    refused(cancel_call(client, None), 400, "CBC.0100")
    assert snapshot(container) == before


def test_pay_with_a_coupon_then_repeat(container: Container, acme: dict[str, Any]) -> None:
    client, order, customer, five = (acme[k] for k in ("client", "order", "customer", "coupon"))
    assert pay_call(client, order.id, **cash_coupons(five.id))().status_code == 200
    paid = engine_order(container, order.id)
    assert paid.status.value == "paid"
    assert (paid.coupon_units, paid.cash_units) == (units("5.00"), units("6.60"))
    assert figures(container, customer.id).cash_balance_units == units("20.00") - paid.cash_units
    assert paid.lines[0].resource_id
    assert_books_balance(container)
    before = snapshot(container)
    # the same request again: success, no second payment
    assert pay_call(client, order.id, **cash_coupons(five.id))().status_code == 200
    assert snapshot(container) == before
    # another request for the paid order: its status no longer allows a payment
    refused(pay_call(client, order.id), 400, "CBC.99003106")
    assert snapshot(container) == before
    details = client.show_customer_order_details(ShowCustomerOrderDetailsRequest(order_id=order.id))
    assert details.order_info.status == 5
    assert details.order_info.amount_info.coupon_amount == pytest.approx(5.0)


def test_pay_several_orders_together_sharing_the_coupon(
    container: Container, acme: dict[str, Any]
) -> None:
    """cloudbill's extension of PayOrders (`order_ids`, a dict body: not in the SDK's model):
    the console's Combine Payment over the API. The coupon is shared pro rata by amount, the
    remainder on the last order (Huawei's FAQ on paying several orders together,
    https://support.huaweicloud.com/intl/zh-cn/faq-billing/unpaidorder_faq_0000008.html)."""
    client, first, customer, five = (acme[k] for k in ("client", "order", "customer", "coupon"))
    topup(container, customer.id, "40.00", "more")
    second = buy(container, customer.id, spec="s6.large.2")
    body = {"order_id": first.id, "order_ids": [first.id, second.id],
            "use_coupon": "YES", "coupon_infos": [{"id": five.id, "type": 301}]}  # fmt: skip
    assert client.pay_orders(PayOrdersRequest(body=body)).status_code == 200
    paid = [engine_order(container, o.id) for o in (first, second)]
    assert [o.status.value for o in paid] == ["paid", "paid"]
    # 5.00 over 11.60 and 39.10: 1.14 (rounded down to the cent), the rest on the last
    assert [o.coupon_units for o in paid] == [units("1.14"), units("3.86")]
    before = snapshot(container)
    assert client.pay_orders(PayOrdersRequest(body=body)).status_code == 200  # a replay
    assert snapshot(container) == before
    assert_books_balance(container)


def test_pay_with_the_orders_own_discount(container: Container, bss: str) -> None:
    gold = new_customer(container, "gold", level=3)
    topup(container, gold.id, "20.00", "seed")
    order = buy(container, gold.id)
    client = client_of(container, bss, gold.id)
    (offer,) = client.list_order_discounts(ListOrderDiscountsRequest(order_id=order.id)).discounts
    before = snapshot(container)
    wrong = DiscountSimpleInfoV3(id="level-2", type=0)
    refused(
        pay_call(client, order.id, use_discount="YES", discount_infos=[wrong]),
        400,
        "CBC.99003108",
    )
    assert snapshot(container) == before
    chosen = DiscountSimpleInfoV3(id=offer.discount_id, type=offer.discount_type)
    assert pay_call(client, order.id, use_discount="YES", discount_infos=[chosen])().status_code
    paid = engine_order(container, order.id)
    assert paid.status.value == "paid" and paid.cash_units == order.amount_units
    assert figures(container, gold.id).cash_balance_units == units("20.00") - order.amount_units


def test_paying_orders_together_may_name_the_discount_of_any_of_them(
    container: Container, bss: str
) -> None:
    """Only the second order has a discount (the customer reached level 3 in between): naming it
    when paying both together is that payment's own discount, not another's."""
    from cloudbill.customers import service as customers

    plain = new_customer(container, "plain", level=1)
    topup(container, plain.id, "100.00", "seed")
    first = buy(container, plain.id)
    assert not any(line.discount_units for line in first.lines)
    container.write(lambda conn, now: customers.update(conn, plain.id, {"level": 3}, now=now))
    second = buy(container, plain.id, spec="s6.large.2")
    client = client_of(container, bss, plain.id)
    (offer,) = client.list_order_discounts(ListOrderDiscountsRequest(order_id=second.id)).discounts
    chosen = {"id": offer.discount_id, "type": offer.discount_type}
    before = snapshot(container)
    alone = {"order_id": first.id, "use_discount": "YES", "discount_infos": [chosen]}
    refused(lambda: client.pay_orders(PayOrdersRequest(body=alone)), 400, "CBC.99003108")
    assert snapshot(container) == before
    body = {**alone, "order_ids": [first.id, second.id]}
    assert client.pay_orders(PayOrdersRequest(body=body)).status_code == 200
    assert [engine_order(container, o.id).status.value for o in (first, second)] == ["paid"] * 2
    assert_books_balance(container)


@pytest.mark.parametrize(
    ("choices", "code"),
    [
        ({"use_coupon": "YES"}, "CBC.0100"),  # YES without coupons
        ({"use_coupon": "NO", "coupon_infos": [{"id": "x"}]}, "CBC.0100"),
        ({"use_coupon": "MAYBE"}, "CBC.0100"),
        ({"use_discount": "YES"}, "CBC.0100"),
        ("discount coupon", "CBC.0100"),  # type 300: cloudbill has cash coupons only
        ("two coupons", "CBC.0100"),  # Huawei (and the default setting): one a payment
        ("unknown coupon", "CBC.0100"),
        ("other's coupon", "CBC.0100"),  # exactly as a coupon that does not exist
        ("spent coupon", "CBC.99003112"),
        ("no money", "CBC.99005003"),
    ],
)
def test_pay_refusals_change_nothing(
    container: Container, acme: dict[str, Any], choices: Any, code: str
) -> None:
    client, order, customer, five = (acme[k] for k in ("client", "order", "customer", "coupon"))
    if choices == "discount coupon":
        choices = cash_coupons(five.id, kind=300)
    elif choices == "two coupons":
        choices = cash_coupons(five.id, "c2")
    elif choices == "unknown coupon":
        choices = cash_coupons("no-such-coupon")
    elif choices == "other's coupon":
        other = new_customer(container, "other")
        choices = cash_coupons(coupon(container, other.id, "theirs", "5.00").id)
    elif choices == "spent coupon":
        pay(container, customer.id, buy(container, customer.id).id, coupons=[five.id])
        choices = cash_coupons(five.id)
    elif choices == "no money":
        pay(container, customer.id, acme["order"].id)  # cash only: 8.40 left
        order = buy(container, customer.id, spec="s6.large.2")  # 39.10
        choices = {}
    else:
        choices = {
            k: [CouponSimpleInfoOrderPayV3(**i) for i in v] if k == "coupon_infos" else v
            for k, v in choices.items()
        }
    before = snapshot(container)
    refused(pay_call(client, order.id, **choices), 400, code)
    assert snapshot(container) == before
    assert engine_order(container, order.id).status.value == "pending_payment"


def test_pay_refused_once_cancelled_or_past_its_deadline(
    container: Container, acme: dict[str, Any]
) -> None:
    client, order, customer = acme["client"], acme["order"], acme["customer"]
    late = buy(container, customer.id)
    container.write(lambda conn, now: orders.cancel(conn, customer.id, order.id, now=now))
    before = snapshot(container)
    refused(pay_call(client, order.id), 400, "CBC.99003106")
    assert snapshot(container) == before
    advance(container, hours=terms(container).payment_window.total_seconds() // 3600)
    before = snapshot(container)
    refused(pay_call(client, late.id), 400, "CBC.99003110")  # the worker has not run yet
    assert snapshot(container) == before
    run_due(container)
    assert engine_order(container, late.id).status.value == "expired"
    total, ids = listed(client, status=4)  # cancelled by itself shows as cancelled too
    assert (total, set(ids)) == (2, {late.id, order.id})
    assert listed(client, status=6) == (0, [])
    before = snapshot(container)
    refused(pay_call(client, late.id), 400, "CBC.99003110")
    assert snapshot(container) == before


def test_another_customers_orders_answer_as_missing(
    container: Container, bss: str, acme: dict[str, Any]
) -> None:
    acme_customer, pending = acme["customer"], acme["order"]
    paid = pay(container, acme_customer.id, buy(container, acme_customer.id).id)
    rid = paid.lines[0].resource_id
    refund = container.write(
        lambda conn, now: orders.unsubscribe(
            conn, acme_customer.id, [rid], terms=terms(container), now=now
        )
    )
    intruder = new_customer(container, "intruder")
    topup(container, intruder.id, "100.00", "intruder-seed")
    client = client_of(container, bss, intruder.id)
    made_up = "CS2603160900ZZZZZZ"
    calls = {
        "details": lambda oid: (
            lambda: client.show_customer_order_details(
                ShowCustomerOrderDetailsRequest(order_id=oid)
            )
        ),
        "discounts": lambda oid: (
            lambda: client.list_order_discounts(ListOrderDiscountsRequest(order_id=oid))
        ),
        "refund": lambda oid: (
            lambda: client.show_refund_order_details(ShowRefundOrderDetailsRequest(order_id=oid))
        ),
        "cancel": lambda oid: cancel_call(client, oid),
        "pay": lambda oid: pay_call(client, oid),
    }
    before = snapshot(container)
    for name, call in calls.items():
        for victims in (pending.id, paid.id, refund.id):
            answers = []
            for order_id in (victims, made_up):
                with pytest.raises(ClientRequestException) as caught:
                    call(order_id)()
                exc = caught.value
                answers.append((exc.status_code, exc.error_code, exc.error_msg.count(order_id)))
            assert answers[0] == answers[1] == (400, "CBC.30000010", 1), (name, answers)
    assert snapshot(container) == before
    assert engine_order(container, pending.id).status.value == "pending_payment"
