"""Customer orders, order discounts and refund orders (group 2 of docs/bss-api-map.md); cancel
and pay are in order_actions.py."""

from __future__ import annotations

import dataclasses
from typing import Any

from fastapi import APIRouter, Query, Request
from sqlalchemy import Connection

from ....customers.model import Customer
from ....kernel.errors import CloudbillError, ErrorCode
from ....kernel.ids import is_valid_id
from ....orders import search
from ....orders import service as orders
from ....orders.model import Order, OrderStatus, OrderType
from ..errors import NOT_A_REFUND_ORDER, ORDER_REFUSALS, BssError, bad_parameter, engine_refusals
from ..jsonnum import ExactRoute
from . import order_actions
from .common import (
    Caller,
    Limit,
    Offset,
    amount,
    catalog,
    read,
    service_of_type_code,
    utc_instant,
)
from .order_views import (
    HUAWEI_STATUSES,
    HUAWEI_TYPES,
    PROMOTION_DISCOUNT,
    discount_ratio,
    line_item,
    line_item_id,
    order_info,
    refund_parts,
    statuses_of,
    types_of,
)

router = APIRouter(route_class=ExactRoute)
router.include_router(order_actions.router)
ORDER_BY = {"createTime": True, "-createTime": False}  # -> oldest first
METHODS = ("oneself", "sub_customer")


def _id() -> Any:
    # A fresh Query each time: FastAPI binds one Query object to the first parameter using it.
    return Query(None, max_length=64)


def _instant() -> Any:
    return Query(None, max_length=20)


def _filter(
    *,
    order_id: str | None,
    status: int | None,
    order_type: str | None,
    order_by: str | None,
    times: dict[str, str | None],
) -> search.OrderFilter:
    if status is not None and status not in HUAWEI_STATUSES:
        raise bad_parameter(f"status: one of {sorted(HUAWEI_STATUSES)}")
    if order_type is not None and order_type not in HUAWEI_TYPES:
        raise bad_parameter(f"order_type: one of {sorted(HUAWEI_TYPES, key=int)}")
    if order_by is not None and order_by not in ORDER_BY:
        raise bad_parameter("order_by: createTime or -createTime")
    window = {name: utc_instant(text, name) for name, text in times.items()}
    return search.OrderFilter(
        order_id=order_id,
        statuses=None if status is None else statuses_of(status),
        order_types=None if order_type is None else types_of(order_type),
        created_from=window["create_time_begin"],
        created_to=window["create_time_end"],
        paid_from=window["payment_time_begin"],
        paid_to=window["payment_time_end"],
        oldest_first=ORDER_BY.get(order_by or "-createTime", False),
    )


@router.get("/v2/orders/customer-orders")
def list_customer_orders(
    request: Request,
    customer: Customer = Caller,
    order_id: str | None = _id(),
    customer_id: str | None = _id(),
    create_time_begin: str | None = _instant(),
    create_time_end: str | None = _instant(),
    service_type_code: str | None = Query(None, max_length=128),
    status: int | None = Query(None),
    order_type: str | None = Query(None, max_length=8),
    limit: int = Limit,
    offset: int = Offset,
    order_by: str | None = Query(None, max_length=16),
    payment_time_begin: str | None = _instant(),
    payment_time_end: str | None = _instant(),
    indirect_partner_id: str | None = _id(),  # a distributor's; Huawei ignores it for customers
    method: str | None = Query(None, max_length=16),
) -> dict[str, Any]:
    if method not in (None, "", *METHODS):
        raise bad_parameter("method: oneself or sub_customer")
    f = _filter(
        order_id=order_id,
        status=status,
        order_type=order_type,
        order_by=order_by,
        times={
            "create_time_begin": create_time_begin,
            "create_time_end": create_time_end,
            "payment_time_begin": payment_time_begin,
            "payment_time_end": payment_time_end,
        },
    )
    # Another customer's orders, enterprise members' orders and statuses or types cloudbill
    # has no counterpart of match nothing.
    if (
        (customer_id is not None and customer_id != customer.id)
        or (customer_id is not None and method == "sub_customer")
        or (order_id is not None and not is_valid_id(order_id))
        or f.statuses == frozenset()
        or f.order_types == frozenset()
    ):
        return {"total_count": 0, "order_infos": []}

    def work(conn: Connection, _now: Any) -> dict[str, Any]:
        index = catalog(conn)
        service = None
        if service_type_code is not None:
            service = service_of_type_code(index, service_type_code)
            if service is None:
                return {"total_count": 0, "order_infos": []}
        wanted = dataclasses.replace(f, service=service)
        found, total = search.find(conn, customer.id, wanted, limit=limit, offset=offset)
        return {
            "total_count": total,
            "order_infos": [order_info(o, customer, index) for o in found],
        }

    return read(request, work)


def _own_order(conn: Connection, customer: Customer, order_id: str) -> Order:
    with engine_refusals(ORDER_REFUSALS):
        return orders.get(conn, order_id, customer_id=customer.id)


@router.get("/v2/orders/customer-orders/details/{order_id}")
def show_customer_order_details(
    request: Request,
    order_id: str,
    customer: Customer = Caller,
    limit: int = Limit,
    offset: int = Offset,
    indirect_partner_id: str | None = _id(),  # a distributor's; Huawei ignores it for customers
) -> dict[str, Any]:
    def work(conn: Connection, _now: Any) -> dict[str, Any]:
        order = _own_order(conn, customer, order_id)
        index = catalog(conn)
        page = order.lines[offset : offset + limit]
        return {
            "total_count": len(order.lines),
            "order_info": order_info(order, customer, index),
            "order_line_items": [line_item(order, line, index) for line in page],
        }

    return read(request, work)


@router.get("/v2/orders/customer-orders/order-discounts")
def list_order_discounts(
    request: Request, customer: Customer = Caller, order_id: str | None = _id()
) -> dict[str, Any]:
    """The discounts a payment of the order may name: cloudbill prices an order with its one
    best catalog discount when the order is made, so that discount, and only while the order
    is pending payment (afterwards there is nothing left to choose)."""
    if not order_id:
        raise bad_parameter("order_id is required")

    def work(conn: Connection, _now: Any) -> dict[str, Any]:
        order = _own_order(conn, customer, order_id)
        if order.status is not OrderStatus.PENDING_PAYMENT:
            return {"discounts": []}
        percents = {d.id: d.percent for d in catalog(conn).document.discounts}
        by_discount: dict[str, dict[tuple[str, str, int], list[Any]]] = {}
        for line in order.lines:
            if line.discount_id is not None and line.discount_units:
                product = (line.resource_type, line.spec, line.amount_units)
                by_discount.setdefault(line.discount_id, {}).setdefault(product, []).append(line)
        discounts = []
        for discount_id, groups in by_discount.items():
            percent = percents.get(discount_id)  # None: no longer in the active catalog
            ratio = None if percent is None else discount_ratio(percent)
            items = [
                {
                    # Huawei merges lines of the same product and final price into one item
                    "order_line_item_ids": [line_item_id(order, x) for x in lines],
                    "discount_mode": 0,  # a discount (not a fixed price or a reduction)
                    "discount_amount": amount(sum(x.discount_units for x in lines), order.currency),
                    "discount_ratio": ratio,
                }
                for lines in groups.values()
            ]
            discounts.append(
                {
                    "discount_id": discount_id,
                    "discount_value": None if ratio is None else str(ratio),
                    "discount_type": PROMOTION_DISCOUNT,
                    "orders": [{"order_id": order.id, "order_line_items": items}],
                }
            )
        return {"discounts": discounts}

    return read(request, work)


@router.get("/v2/orders/customer-orders/refund-orders")
def show_refund_order_details(
    request: Request,
    customer: Customer = Caller,
    order_id: str | None = _id(),
    customer_id: str | None = _id(),
    indirect_partner_id: str | None = _id(),
) -> dict[str, Any]:
    if not order_id:
        raise bad_parameter("order_id is required")

    def work(conn: Connection, _now: Any) -> dict[str, Any]:
        if customer_id is not None and customer_id != customer.id:
            # another customer's refund: exactly as an order that does not exist
            with engine_refusals(ORDER_REFUSALS):
                raise CloudbillError(ErrorCode.ORDER_NOT_FOUND, f"no order {order_id!r}")
        order = _own_order(conn, customer, order_id)
        downgrade = order.order_type is OrderType.CHANGE and order.status is OrderStatus.REFUNDED
        if order.order_type is not OrderType.UNSUBSCRIPTION and not downgrade:
            raise BssError(400, NOT_A_REFUND_ORDER, f"order {order.id} refunds nothing")
        index = catalog(conn)
        rows = []
        for line in order.lines:
            bases = search.base_orders(conn, order, line.resource_id)
            rows.extend(refund_parts(order, line, bases, index))
        return {"total_count": len(rows), "refund_infos": rows}

    return read(request, work)
