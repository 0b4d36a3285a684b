"""A customer's orders found by what a customer-facing order list filters on (an id, statuses,
types, a creation or payment window, a service among the lines), a page at a time; and the
orders that paid for a resource, which a refund came from."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, exists, func, select

from ..store.schema import customer_order, order_line
from . import repo
from .model import Order, OrderStatus, OrderType

BASE_ORDERS_MAX = 1000  # paying orders of one resource read for a refund's origin


@dataclass(frozen=True, slots=True)
class OrderFilter:
    order_id: str | None = None
    statuses: frozenset[OrderStatus] | None = None  # None: any status
    order_types: frozenset[OrderType] | None = None  # None: any type
    service: str | None = None  # an order with at least one line of this catalog service
    created_from: datetime | None = None  # windows are inclusive at both ends
    created_to: datetime | None = None
    paid_from: datetime | None = None
    paid_to: datetime | None = None
    oldest_first: bool = False


def _where(customer_id: str, f: OrderFilter) -> list:  # type: ignore[type-arg]
    o = customer_order.c
    where = [o.customer_id == customer_id]
    if f.order_id is not None:
        where.append(o.id == f.order_id)
    if f.statuses is not None:
        where.append(o.status.in_(sorted(str(s) for s in f.statuses)))
    if f.order_types is not None:
        where.append(o.order_type.in_(sorted(str(t) for t in f.order_types)))
    if f.service is not None:
        line = order_line.c
        where.append(exists().where(line.order_id == o.id, line.service == f.service))
    windows = ((o.created_at, f.created_from, f.created_to), (o.paid_at, f.paid_from, f.paid_to))
    for column, low, high in windows:
        if low is not None:
            where.append(column >= low)
        if high is not None:
            where.append(column <= high)
    return where


def find(
    conn: Connection, customer_id: str, f: OrderFilter, *, limit: int, offset: int
) -> tuple[list[Order], int]:
    """One page of the customer's orders matching `f`, with their lines, and how many match."""
    where = _where(customer_id, f)
    total = conn.execute(select(func.count()).select_from(customer_order).where(*where)).scalar()
    order = (customer_order.c.created_at, customer_order.c.id)
    rows = conn.execute(
        select(customer_order)
        .where(*where)
        .order_by(*(order if f.oldest_first else (c.desc() for c in order)))
        .limit(limit)
        .offset(offset)
    ).all()
    return repo.with_lines(conn, rows), int(total or 0)


def base_orders(conn: Connection, refund: Order, resource_id: str) -> list[str]:
    """The orders that had paid for a resource when `refund` gave money back for it: paid (or
    partly refunded, a downgrade) purchases, renewals, changes and conversions, oldest first."""
    o, line = customer_order.c, order_line.c
    paid_by = refund.paid_at or refund.created_at
    rows = conn.execute(
        select(o.id)
        .join(order_line, line.order_id == o.id)
        .where(
            line.resource_id == resource_id,
            o.customer_id == refund.customer_id,
            o.id != refund.id,
            o.status.in_([str(OrderStatus.PAID), str(OrderStatus.REFUNDED)]),
            o.order_type != str(OrderType.UNSUBSCRIPTION),
            o.paid_at <= paid_by,
        )
        .group_by(o.id, o.paid_at)
        .order_by(o.paid_at, o.id)
        .limit(BASE_ORDERS_MAX)
    ).all()
    return [row.id for row in rows]
