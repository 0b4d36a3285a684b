"""Finding a customer's yearly/monthly resources with their subscriptions: by status, expiry
window, resource ids (with the resources attached to them), order and service; soonest expiry
first, a page at a time. Only the customer's own resources are ever seen."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, func, or_, select

from ..catalog.model import BillingMode
from ..kernel.limits import PAGE_SIZE_MAX
from ..resources.model import Resource, ResourceStatus
from ..resources.repo import to_resource
from ..store.schema import customer_order, order_line, resource, subscription
from .repo import Subscription

LIVE = (ResourceStatus.NORMAL, ResourceStatus.GRACE, ResourceStatus.FROZEN)
_IDS = ("resource_id", "customer_id")  # taken from the resource row
_SUBSCRIPTION_COLUMNS = [
    subscription.c[name].label(f"sub_{name}")
    for name in Subscription.__dataclass_fields__
    if name not in _IDS
]


@dataclass(frozen=True, slots=True)
class SubscriptionFilter:
    statuses: tuple[ResourceStatus, ...] = LIVE
    resource_ids: tuple[str, ...] | None = None
    with_attached: bool = True  # named resources bring the resources attached to them
    main_only: bool = False  # only resources attached to none
    order_id: str | None = None
    services: tuple[str, ...] | None = None
    expire_from: datetime | None = None  # inclusive
    expire_to: datetime | None = None  # inclusive


@dataclass(frozen=True, slots=True)
class Subscribed:
    resource: Resource
    subscription: Subscription


def _conditions(customer_id: str, f: SubscriptionFilter) -> list:  # type: ignore[type-arg]
    r = resource.c
    where = [
        r.customer_id == customer_id,
        r.billing_mode == str(BillingMode.YEARLY_MONTHLY),
        r.status.in_([str(s) for s in f.statuses]),
    ]
    if f.resource_ids is not None:
        named = r.id.in_(f.resource_ids)
        where.append(or_(named, r.parent_id.in_(f.resource_ids)) if f.with_attached else named)
    if f.main_only:
        where.append(r.parent_id.is_(None))
    if f.order_id is not None:
        in_order = (
            select(order_line.c.resource_id)
            .join(customer_order, customer_order.c.id == order_line.c.order_id)
            .where(
                customer_order.c.id == f.order_id,
                customer_order.c.customer_id == customer_id,
            )
        )
        where.append(r.id.in_(in_order))
    if f.services is not None:
        where.append(r.service.in_(f.services))
    if f.expire_from is not None:
        where.append(r.expire_at >= f.expire_from)
    if f.expire_to is not None:
        where.append(r.expire_at <= f.expire_to)
    return where


def search(
    conn: Connection, customer_id: str, f: SubscriptionFilter, *, limit: int, offset: int
) -> tuple[list[Subscribed], int]:
    """(one page, how many match in all)."""
    where = _conditions(customer_id, f)
    joined = resource.join(subscription, subscription.c.resource_id == resource.c.id)
    total = conn.execute(select(func.count()).select_from(joined).where(*where)).scalar_one()
    rows = conn.execute(
        select(resource, *_SUBSCRIPTION_COLUMNS)
        .select_from(joined)
        .where(*where)
        .order_by(resource.c.expire_at, resource.c.id)
        .limit(min(limit, PAGE_SIZE_MAX))
        .offset(offset)
    ).all()
    return [_subscribed(row) for row in rows], total


def _subscribed(row) -> Subscribed:  # type: ignore[no-untyped-def]
    values = {
        name: getattr(row, f"sub_{name}")
        for name in Subscription.__dataclass_fields__
        if name not in _IDS
    }
    sub = Subscription(resource_id=row.id, customer_id=row.customer_id, **values)
    return Subscribed(to_resource(row), sub)
