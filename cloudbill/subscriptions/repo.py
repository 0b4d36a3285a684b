"""Subscription SQL."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from ..store.schema import renewal_config, subscription


@dataclass(frozen=True, slots=True)
class Subscription:
    resource_id: str
    customer_id: str
    anchor_date: date
    months: int
    first_paid_at: datetime | None
    expire_policy: str
    auto_renew: bool
    auto_renew_period_unit: str | None
    auto_renew_period_count: int | None
    auto_renew_attempted_at: datetime | None
    auto_renew_error: str | None
    auto_renew_enabled_at: datetime | None
    reminded_expire_at: datetime | None
    reminded_days: int | None
    updated_at: datetime


_FIELDS = tuple(Subscription.__dataclass_fields__)


def to_subscription(row) -> Subscription:  # type: ignore[no-untyped-def]
    return Subscription(**{name: getattr(row, name) for name in _FIELDS})


def get(conn: Connection, resource_id: str, *, lock: bool = False) -> Subscription | None:
    query = select(subscription).where(subscription.c.resource_id == resource_id)
    row = conn.execute(query.with_for_update(key_share=True) if lock else query).first()
    return None if row is None else to_subscription(row)


def start(
    conn: Connection,
    resource_id: str,
    *,
    customer_id: str,
    anchor_date: date,
    months: int,
    first_paid_at: datetime | None,
    expire_policy: str,
    auto_renew: bool,
    period_unit: str | None,
    period_count: int | None,
    now: datetime,
) -> None:
    """Start a resource's subscription, or restart it (a resource converted back and forth
    keeps one row): auto-renew attempts and reminders begin afresh."""
    values: dict[str, Any] = {
        "customer_id": customer_id,
        "anchor_date": anchor_date,
        "months": months,
        "first_paid_at": first_paid_at,
        "expire_policy": expire_policy,
        "auto_renew": auto_renew,
        "auto_renew_period_unit": period_unit,
        "auto_renew_period_count": period_count,
        "auto_renew_attempted_at": None,
        "auto_renew_error": None,
        "auto_renew_enabled_at": now if auto_renew else None,
        "reminded_expire_at": None,
        "reminded_days": None,
        "updated_at": now,
    }
    if get(conn, resource_id) is None:
        conn.execute(insert(subscription).values(resource_id=resource_id, **values))
    else:
        update_subscription(conn, resource_id, **values)


def update_subscription(conn: Connection, resource_id: str, **values: Any) -> None:
    conn.execute(
        update(subscription).where(subscription.c.resource_id == resource_id).values(values)
    )


def deduction_days_before(conn: Connection, customer_id: str) -> int | None:
    """The customer's auto-renewal deduction day, in days before expiry (None: the default)."""
    query = select(renewal_config.c.deduction_days_before).where(
        renewal_config.c.customer_id == customer_id
    )
    return conn.execute(query).scalar()


def unified_expiry_day(conn: Connection, customer_id: str) -> int | None:
    """The day of the month the customer's renewals extend to (-1: the last; None: none)."""
    query = select(renewal_config.c.unified_expiry_day).where(
        renewal_config.c.customer_id == customer_id
    )
    return conn.execute(query).scalar()


def set_renewal_config(conn: Connection, customer_id: str, now: datetime, **values: int) -> None:
    """Set some of the customer's renewal settings (deduction_days_before, unified_expiry_day)."""
    found = conn.execute(
        select(renewal_config.c.customer_id).where(renewal_config.c.customer_id == customer_id)
    ).first()
    row = {**values, "updated_at": now}
    if found is None:
        conn.execute(insert(renewal_config).values(customer_id=customer_id, **row))
    else:
        conn.execute(
            update(renewal_config).where(renewal_config.c.customer_id == customer_id).values(row)
        )
