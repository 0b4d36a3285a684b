"""Cancelling and paying a customer's pending order (CancelCustomerOrder, PayOrders v3). Both
are safe to repeat: the same request answers the same, and moves no money twice."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Connection

from ....customers.model import Customer
from ....kernel.errors import CloudbillError, ErrorCode
from ....kernel.limits import MAX_COUPONS_PER_PAYMENT, ORDERS_PAID_TOGETHER_MAX
from ....ledger.rules import payload_hash
from ....orders import service as orders
from ....orders.model import Order, OrderStatus
from ..errors import (
    CANCEL_REFUSALS,
    DISCOUNT_NOT_USABLE,
    ORDER_PAST_DEADLINE,
    PAYMENT_REFUSALS,
    BssError,
    bad_parameter,
    engine_refusals,
)
from ..jsonnum import ExactRoute
from .common import Caller, write
from .order_views import PROMOTION_DISCOUNT

router = APIRouter(route_class=ExactRoute)
CASH_COUPON_TYPE = 301  # Huawei coupon types at payment: 300 discount, 301 cash, 302, 303 other


class CancelOrder(BaseModel):
    model_config = ConfigDict(extra="ignore")
    order_id: str = Field(min_length=1, max_length=64)


class Choice(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: str = Field(min_length=1, max_length=64)
    type: int | None = None


class PayOrder(BaseModel):
    model_config = ConfigDict(extra="ignore")
    order_id: str = Field(min_length=1, max_length=64)
    # cloudbill's extension (not in the SDK's model: send a dict body): the pending orders to pay
    # together with `order_id`, as the console's Combine Payment does; the coupons are shared
    # over them pro rata by amount
    order_ids: list[str] | None = Field(None, max_length=ORDERS_PAID_TOGETHER_MAX)
    use_coupon: Literal["YES", "NO"] | None = None
    use_discount: Literal["YES", "NO"] | None = None
    coupon_infos: list[Choice] | None = Field(None, max_length=MAX_COUPONS_PER_PAYMENT)
    discount_infos: list[Choice] | None = Field(None, max_length=1)


@router.put("/v2/orders/customer-orders/cancel")
def cancel_customer_order(
    request: Request, body: CancelOrder, customer: Customer = Caller
) -> dict[str, Any]:
    """Cancelling a cancelled order answers as the first time did."""

    def work(conn: Connection, now: datetime) -> None:
        with engine_refusals(CANCEL_REFUSALS):
            orders.cancel(
                conn, customer.id, body.order_id, reason="cancelled by the customer", now=now
            )

    write(request, work)
    return {}


def _chosen(flag: str | None, infos: list[Choice] | None, name: str) -> list[Choice]:
    """Huawei: the list is required with YES and must be absent with NO (or no flag)."""
    if flag == "YES" and not infos:
        raise bad_parameter(f"{name}_infos is required when use_{name} is YES")
    if flag != "YES" and infos:
        raise bad_parameter(f"{name}_infos must be absent unless use_{name} is YES")
    return infos or []


def _check_discount(paid: list[Order], chosen: list[Choice]) -> None:
    """cloudbill applies an order's discount when it prices the order: a payment may name the
    discount of an order it pays (as ListOrderDiscounts shows it), never another."""
    own = {line.discount_id for order in paid for line in order.lines if line.discount_units}
    for choice in chosen:
        if choice.id not in own or choice.type not in (None, PROMOTION_DISCOUNT):
            raise BssError(
                400, DISCOUNT_NOT_USABLE, f"discount {choice.id} is not of the orders paid"
            )


def _past_deadline(order: Order, now: datetime) -> bool:
    if order.status is OrderStatus.EXPIRED:
        return True
    pending = order.status is OrderStatus.PENDING_PAYMENT
    return pending and order.payment_deadline is not None and now >= order.payment_deadline


@router.post("/v3/orders/customer-orders/pay")
def pay_orders(request: Request, body: PayOrder, customer: Customer = Caller) -> dict[str, Any]:
    """Pay with the chosen cash coupons, then cash, then available credit. The request itself is
    the idempotency key (PayOrders has no trans_id): the same request again answers success
    without paying twice; another request for a paid order is refused."""
    coupons = _chosen(body.use_coupon, body.coupon_infos, "coupon")
    discounts = _chosen(body.use_discount, body.discount_infos, "discount")
    if any(c.type not in (None, CASH_COUPON_TYPE) for c in coupons):
        raise bad_parameter("coupon_infos.type: cloudbill's coupons are cash coupons (301)")
    coupons_max = request.app.state.container.settings.coupons_per_payment
    if len(coupons) > coupons_max:
        # the operator's limit, CLOUDBILL_COUPONS_PER_PAYMENT (Huawei: one cash coupon)
        raise bad_parameter(f"coupon_infos: at most {coupons_max} cash coupon(s) per payment")
    coupon_ids = [c.id for c in coupons]
    together = list(dict.fromkeys([body.order_id, *(body.order_ids or [])]))
    digest = payload_hash(
        # the same choice in another order is the same request
        {
            "order": body.order_id,
            **({"together": sorted(together)} if len(together) > 1 else {}),
            "coupons": sorted(coupon_ids),
            "discounts": sorted(d.id for d in discounts),
        }
    )

    def work(conn: Connection, now: datetime) -> None:
        with engine_refusals(PAYMENT_REFUSALS):
            order = orders.get(conn, body.order_id, customer_id=customer.id)
            if discounts:  # a discount of any order paid together may be named
                others = [orders.get(conn, oid, customer_id=customer.id) for oid in together[1:]]
                _check_discount([order, *others], discounts)
            try:
                if len(together) > 1:
                    orders.pay_together(
                        conn,
                        customer.id,
                        together,
                        coupon_ids=coupon_ids,
                        reference=f"bss-pay:{digest}",
                        coupons_max=coupons_max,
                        now=now,
                    )
                    return
                orders.pay(
                    conn,
                    customer.id,
                    order.id,
                    coupon_ids=coupon_ids,
                    reference=f"bss-pay:{digest}",
                    coupons_max=coupons_max,
                    now=now,
                )
            except CloudbillError as exc:
                if exc.code is ErrorCode.ORDER_CLOSED and _past_deadline(order, now):
                    raise BssError(400, ORDER_PAST_DEADLINE, exc.message) from None
                raise

    write(request, work)
    return {}
