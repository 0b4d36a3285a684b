"""Operator routes: a customer's yearly/monthly orders and subscriptions (on their behalf)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query

from ...bootstrap import Container
from ...kernel.limits import PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX
from ...orders.model import OrderSource
from ..deps import container, require_operator
from ..shared import orders as shared
from ..shared.orders import (
    AutoRenew,
    Cancel,
    ChangeOrder,
    ConversionOrder,
    ExpirePolicy,
    NewOrder,
    Payment,
    RenewalOrder,
    Unsubscription,
)
from ..shared.params import Offset

router = APIRouter(tags=["orders"], dependencies=[Depends(require_operator)])
OPERATOR = OrderSource.OPERATOR
BASE = "/customers/{customer_id}"


@router.post(BASE + "/orders", status_code=201)
def create_new(customer_id: str, body: NewOrder, c: Container = Depends(container)) -> Any:
    return shared.create_new(c, customer_id, body, OPERATOR)


@router.post(BASE + "/orders/renewal", status_code=201)
def create_renewal(customer_id: str, body: RenewalOrder, c: Container = Depends(container)) -> Any:
    return shared.create_renewal(c, customer_id, body, OPERATOR)


@router.post(BASE + "/orders/change", status_code=201)
def create_change(customer_id: str, body: ChangeOrder, c: Container = Depends(container)) -> Any:
    return shared.create_change(c, customer_id, body, OPERATOR)


@router.post(BASE + "/orders/conversion", status_code=201)
def create_conversion(
    customer_id: str, body: ConversionOrder, c: Container = Depends(container)
) -> Any:
    return shared.create_conversion(c, customer_id, body, OPERATOR)


@router.post(BASE + "/orders/unsubscription", status_code=201)
def unsubscribe(customer_id: str, body: Unsubscription, c: Container = Depends(container)) -> Any:
    return shared.unsubscribe(c, customer_id, body, OPERATOR)


@router.get(BASE + "/orders")
def list_orders(
    customer_id: str,
    status: str | None = None,
    order_type: str | None = None,
    limit: int = Query(PAGE_SIZE_DEFAULT, ge=1, le=PAGE_SIZE_MAX),
    offset: int = Offset,
    c: Container = Depends(container),
) -> dict[str, Any]:
    return shared.list_orders(
        c, customer_id, status=status, order_type=order_type, limit=limit, offset=offset
    )


@router.get(BASE + "/orders/{order_id}")
def show(customer_id: str, order_id: str, c: Container = Depends(container)) -> Any:
    return shared.show(c, customer_id, order_id)


@router.post(BASE + "/orders/{order_id}/pay")
def pay(customer_id: str, order_id: str, body: Payment, c: Container = Depends(container)) -> Any:
    return shared.pay(c, customer_id, order_id, body)


@router.post(BASE + "/orders/{order_id}/cancel")
def cancel(customer_id: str, order_id: str, body: Cancel, c: Container = Depends(container)) -> Any:
    return shared.cancel(c, customer_id, order_id, body)


@router.get(BASE + "/renewals")
def renewals(
    customer_id: str,
    view: str = "expiring",
    within_days: int = Query(30, ge=1, le=366),
    mode: str | None = Query(
        None, description="manual, auto_renew, to_pay_per_use or release: what happens at expiry"
    ),
    limit: int = Query(PAGE_SIZE_DEFAULT, ge=1, le=PAGE_SIZE_MAX),
    offset: int = Offset,
    c: Container = Depends(container),
) -> dict[str, Any]:
    return shared.renewals(
        c, customer_id, view=view, within_days=within_days, limit=limit, offset=offset,
        mode=mode,
    )  # fmt: skip


@router.get(BASE + "/subscriptions/{resource_id}")
def show_subscription(customer_id: str, resource_id: str, c: Container = Depends(container)) -> Any:
    return shared.show_subscription(c, customer_id, resource_id)


@router.put(BASE + "/subscriptions/{resource_id}/auto-renew")
def auto_renew(
    customer_id: str, resource_id: str, body: AutoRenew, c: Container = Depends(container)
) -> Any:
    return shared.set_auto_renew(c, customer_id, resource_id, body)


@router.put(BASE + "/subscriptions/{resource_id}/expire-policy")
def expire_policy(
    customer_id: str, resource_id: str, body: ExpirePolicy, c: Container = Depends(container)
) -> Any:
    return shared.set_expire_policy(c, customer_id, resource_id, body)
