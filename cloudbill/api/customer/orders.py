"""Customer routes: your yearly/monthly orders — buy, renew, change, convert, unsubscribe,
pay with chosen coupons, cancel. Writes are idempotent by their `reference`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from ...bootstrap import Container
from ...orders.model import OrderSource
from ..deps import container
from ..keyauth import KeyCaller
from ..shared import orders as shared
from ..shared.orders import (
    Cancel,
    ChangeOrder,
    ConversionOrder,
    NewOrder,
    Payment,
    PaymentTogether,
    RenewalOrder,
    Unsubscription,
)
from ..shared.params import Limit, Offset
from .auth import caller

router = APIRouter(tags=["orders"])
CUSTOMER = OrderSource.CUSTOMER


@router.post("/orders", status_code=201)
def create_new(
    body: NewOrder, me: KeyCaller = Depends(caller), c: Container = Depends(container)
) -> Any:
    """Buy new yearly/monthly resources: the order waits for payment."""
    return shared.create_new(c, me.customer.id, body, CUSTOMER)


@router.post("/orders/renewal", status_code=201)
def create_renewal(
    body: RenewalOrder, me: KeyCaller = Depends(caller), c: Container = Depends(container)
) -> Any:
    return shared.create_renewal(c, me.customer.id, body, CUSTOMER)


@router.post("/orders/change", status_code=201)
def create_change(
    body: ChangeOrder, me: KeyCaller = Depends(caller), c: Container = Depends(container)
) -> Any:
    """Change a resource's spec (upgrade or downgrade, pro rata)."""
    return shared.create_change(c, me.customer.id, body, CUSTOMER)


@router.post("/orders/conversion", status_code=201)
def create_conversion(
    body: ConversionOrder, me: KeyCaller = Depends(caller), c: Container = Depends(container)
) -> Any:
    """Convert a pay-per-use resource to yearly/monthly."""
    return shared.create_conversion(c, me.customer.id, body, CUSTOMER)


@router.post("/orders/unsubscription", status_code=201)
def unsubscribe(
    body: Unsubscription, me: KeyCaller = Depends(caller), c: Container = Depends(container)
) -> Any:
    """Unsubscribe resources; the refund goes back the way the money came."""
    return shared.unsubscribe(c, me.customer.id, body, CUSTOMER)


@router.get("/orders")
def list_orders(
    status: str | None = None,
    order_type: str | None = None,
    limit: int = Limit,
    offset: int = Offset,
    me: KeyCaller = Depends(caller),
    c: Container = Depends(container),
) -> dict[str, Any]:
    return shared.list_orders(
        c, me.customer.id, status=status, order_type=order_type, limit=limit, offset=offset
    )


@router.get("/orders/{order_id}")
def show(order_id: str, me: KeyCaller = Depends(caller), c: Container = Depends(container)) -> Any:
    return shared.show(c, me.customer.id, order_id)


@router.post("/orders/pay")
def pay_together(
    body: PaymentTogether,
    me: KeyCaller = Depends(caller),
    c: Container = Depends(container),
) -> Any:
    """Pay several pending orders together: each coupon is shared over them pro rata by
    amount (the remainder on the last), then cash, then credit; all or none."""
    return shared.pay_together(c, me.customer.id, body)


@router.post("/orders/{order_id}/pay")
def pay(
    order_id: str,
    body: Payment,
    me: KeyCaller = Depends(caller),
    c: Container = Depends(container),
) -> Any:
    """Pay a pending order: the coupons you choose, then cash, then credit."""
    return shared.pay(c, me.customer.id, order_id, body)


@router.post("/orders/{order_id}/cancel")
def cancel(
    order_id: str,
    body: Cancel,
    me: KeyCaller = Depends(caller),
    c: Container = Depends(container),
) -> Any:
    """Cancel a pending order (cancelling it again answers the cancelled order)."""
    return shared.cancel(c, me.customer.id, order_id, body)
