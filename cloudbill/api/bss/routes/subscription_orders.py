"""Renewing and unsubscribing yearly/monthly resources (group 3 of docs/bss-api-map.md): each
request makes one cloudbill order over all the resources it names, or is refused as a whole
and changes nothing. A `trans_id` in the body (Huawei's idempotency key; the SDK's models
leave it out, a raw client or a dict body sends it) becomes the order's reference."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from ....customers.model import Customer
from ....kernel.errors import CloudbillError, ErrorCode
from ....orders import repo as order_repo
from ....orders import service as orders
from ....orders.model import Order
from ..jsonnum import ExactRoute
from .common import Caller, idempotency_key, order_terms, write
from .ratings import PERIOD_UNIT

router = APIRouter(route_class=ExactRoute)
RESOURCE_IDS_MAX = 10  # Huawei's limit per renewal or unsubscription
UNSUBSCRIBE_WITH_RENEWALS = 1  # the resource and its renewed periods; 2: only the renewals
TransId = Field(None, min_length=1, max_length=64, description="idempotency key")


class Renewal(BaseModel):
    model_config = ConfigDict(extra="ignore")
    resource_ids: list[str] = Field(min_length=1, max_length=RESOURCE_IDS_MAX)
    period_type: Literal[2, 3]
    period_num: int = Field(ge=1)
    is_auto_pay: Literal[0, 1] = 0
    trans_id: str | None = TransId


class Unsubscription(BaseModel):
    model_config = ConfigDict(extra="ignore")
    resource_ids: list[str] = Field(min_length=1, max_length=RESOURCE_IDS_MAX)
    unsubscribe_type: Literal[1, 2]
    unsubscribe_reason_type: Literal[1, 2, 3, 4, 5] | None = None
    unsubscribe_reason: str | None = Field(None, max_length=512)
    trans_id: str | None = TransId


def _answer(order: Order) -> dict[str, Any]:
    return {"order_ids": [order.id], "fail_resource_infos": []}


@router.post("/v2/orders/subscriptions/resources/renew")
def renewal_resources(
    request: Request, body: Renewal, customer: Customer = Caller
) -> dict[str, Any]:
    """A renewal order; with is_auto_pay=1 paid at once (or refused, nothing made, when the
    money is not there), else left pending payment."""
    terms, auto_pay = order_terms(request), body.is_auto_pay == 1
    trans_id = idempotency_key(request, body.trans_id)

    def work(conn, now):  # type: ignore[no-untyped-def]
        replay = trans_id is not None and order_repo.by_reference(conn, customer.id, trans_id)
        order = orders.create_renewal(
            conn,
            customer.id,
            list(body.resource_ids),
            period_unit=str(PERIOD_UNIT[body.period_type]),
            period_count=body.period_num,
            reference=trans_id,
            terms=terms,
            now=now,
        )
        if replay:
            # The order's own fingerprint leaves out is_auto_pay: a replay must have asked
            # the same about paying as the request that made the order.
            if (order.pay_reference == trans_id) != auto_pay:
                raise CloudbillError(
                    ErrorCode.IDEMPOTENCY_CONFLICT,
                    f"trans_id {trans_id!r} was used with another is_auto_pay",
                )
            return order
        if auto_pay:
            return orders.pay(conn, customer.id, order.id, reference=trans_id, now=now)
        return order

    return _answer(write(request, work))


@router.post("/v2/orders/subscriptions/resources/unsubscribe")
def cancel_resources_subscription(
    request: Request, body: Unsubscription, customer: Customer = Caller
) -> dict[str, Any]:
    """Type 1: the resources with their renewed periods, released now, refunded the way the
    money came; type 2: only their renewal periods not begun, refunded whole (cloudbill keeps
    no reason)."""
    terms, reference = order_terms(request), idempotency_key(request, body.trans_id)
    unsubscribe = (
        orders.unsubscribe
        if body.unsubscribe_type == UNSUBSCRIBE_WITH_RENEWALS
        else orders.unsubscribe_renewals
    )
    order = write(
        request,
        lambda conn, now: unsubscribe(
            conn,
            customer.id,
            list(body.resource_ids),
            reference=reference,
            terms=terms,
            now=now,
        ),
    )
    return _answer(order)
