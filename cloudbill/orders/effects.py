"""What paying an order does to its resources, in the payment's transaction: create them with
their subscription (new), extend the expiry (renewal), switch the billing mode (conversion) or
the spec (change). Each change is in the resource's history and told to the provider."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, update

from ..customers.model import Customer
from ..notify.outbox import Event, emit_many
from ..resources import repo as resource_repo
from ..resources.model import ResourceStatus, StatusChange
from ..store.schema import resource
from ..subscriptions import repo as sub_repo
from ..subscriptions import rules as sub_rules
from . import repo
from .model import Order, OrderLine, OrderType


def _event(topic: str, order: Order, line: OrderLine, at: datetime, **extra: Any) -> Event:
    return Event(
        topic,
        line.resource_id,
        {
            "resource_id": line.resource_id,
            "customer_id": order.customer_id,
            "order_id": order.id,
            "service": line.service,
            "resource_type": line.resource_type,
            "spec": line.spec,
            "region": line.region,
            "at": at.isoformat(),
            **extra,
        },
        dedupe_key=f"{topic}:{line.resource_id}:{order.id}:{line.line_no}",
    )


def apply(conn: Connection, order: Order, customer: Customer, *, now: datetime) -> None:
    handler = {
        OrderType.NEW: _subscribe,
        OrderType.RENEWAL: _renew,
        OrderType.CONVERSION: _convert,
        OrderType.CHANGE: _change_spec,
    }[order.order_type]
    events = [handler(conn, order, line, customer, now) for line in order.lines]
    emit_many(conn, events, now=now)


def _months(line: OrderLine) -> int:
    return sub_rules.months_of(sub_rules.PeriodUnit(line.period_unit), line.period_count or 0)


def _start_subscription(
    conn: Connection, order: Order, line: OrderLine, customer: Customer, now: datetime
) -> datetime:
    anchor = sub_rules.local_date(now, customer.timezone)
    months = _months(line)
    expire_at = sub_rules.expiry(anchor, months, customer.timezone)
    sub_repo.start(
        conn,
        line.resource_id,
        customer_id=customer.id,
        anchor_date=anchor,
        months=months,
        first_paid_at=now,
        expire_policy=order.expire_policy or str(sub_rules.ExpirePolicy.GRACE_THEN_RELEASE),
        auto_renew=bool(order.auto_renew),
        period_unit=line.period_unit,
        period_count=line.period_count,
        now=now,
    )
    repo.update_line(conn, order.id, line.line_no, period_start=now, period_end=expire_at)
    return expire_at


def _subscribe(conn, order, line, customer, now) -> Event:  # type: ignore[no-untyped-def]
    resource_repo.insert_resource(
        conn,
        {
            "id": line.resource_id,
            "customer_id": customer.id,
            "service": line.service,
            "resource_type": line.resource_type,
            "spec": line.spec,
            "billing_mode": "yearly_monthly",
            "region": line.region,
            "name": line.name,
            "parent_id": None,
            "status": str(ResourceStatus.NORMAL),
            "status_since": now,
            "created_at": now,
            "expire_at": None,
        },
    )
    resource_repo.add_history(
        conn,
        StatusChange(line.resource_id, None, ResourceStatus.NORMAL, now, f"order {order.id}"),
    )
    expire_at = _start_subscription(conn, order, line, customer, now)
    _set_expiry(conn, line.resource_id, expire_at)
    return _event("resource.subscribed", order, line, now, expire_at=expire_at.isoformat())


def _set_expiry(conn: Connection, resource_id: str, expire_at: datetime | None, **more) -> None:  # type: ignore[no-untyped-def]
    conn.execute(
        update(resource).where(resource.c.id == resource_id).values(expire_at=expire_at, **more)
    )


def _renew(conn, order, line, customer, now) -> Event:  # type: ignore[no-untyped-def]
    sub = sub_repo.get(conn, line.resource_id, lock=True)
    current = resource_repo.get(conn, line.resource_id, lock=True)
    assert sub is not None and current is not None
    old_expiry = current.expire_at or now
    if line.period_unit == "day":  # to a unified expiry day: that day becomes the anchor
        day = sub_rules.expiry_day(sub.anchor_date, sub.months)
        anchor, months = day + sub_rules.DAY * (line.period_count or 0), 0
    else:
        anchor, months = sub.anchor_date, sub.months + _months(line)
    expire_at = sub_rules.expiry(anchor, months, customer.timezone)
    sub_repo.update_subscription(
        conn,
        line.resource_id,
        anchor_date=anchor,
        months=months,
        auto_renew_error=None,
        reminded_expire_at=None,
        reminded_days=None,
        updated_at=now,
    )
    repo.update_line(conn, order.id, line.line_no, period_start=old_expiry, period_end=expire_at)
    _set_expiry(conn, line.resource_id, expire_at)
    if current.status in (ResourceStatus.GRACE, ResourceStatus.FROZEN):
        resource_repo.set_status(
            conn,
            StatusChange(
                line.resource_id,
                current.status,
                ResourceStatus.NORMAL,
                now,
                f"renewed by order {order.id}",
            ),
        )
    return _event(
        "resource.renewed",
        order,
        line,
        now,
        from_status=str(current.status),
        old_expire_at=old_expiry.isoformat(),
        expire_at=expire_at.isoformat(),
    )


def _convert(conn, order, line, customer, now) -> Event:  # type: ignore[no-untyped-def]
    expire_at = _start_subscription(conn, order, line, customer, now)
    # Prepaid from the payment on: usage from before it is still metered, never after.
    resource_repo.change_terms(conn, line.resource_id, at=now, billing_mode="yearly_monthly")
    _set_expiry(conn, line.resource_id, expire_at)
    return _event(
        "resource.converted",
        order,
        line,
        now,
        billing_mode="yearly_monthly",
        expire_at=expire_at.isoformat(),
    )


def _change_spec(conn, order, line, customer, now) -> Event:  # type: ignore[no-untyped-def]
    current = resource_repo.get(conn, line.resource_id, lock=True)
    assert current is not None
    resource_repo.change_terms(conn, line.resource_id, at=now, spec=line.spec)
    repo.update_line(conn, order.id, line.line_no, period_start=now, period_end=current.expire_at)
    return _event("resource.spec_changed", order, line, now, old_spec=line.old_spec)
