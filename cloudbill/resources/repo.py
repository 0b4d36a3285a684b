"""Resource SQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from ..catalog.model import BillingMode
from ..kernel.limits import PAGE_SIZE_MAX
from ..observe import metrics
from ..store.schema import resource, resource_status_history
from .model import Resource, ResourceStatus, StatusChange


def to_resource(row) -> Resource:  # type: ignore[no-untyped-def]
    return Resource(
        id=row.id,
        customer_id=row.customer_id,
        service=row.service,
        resource_type=row.resource_type,
        spec=row.spec,
        billing_mode=BillingMode(row.billing_mode),
        region=row.region,
        name=row.name,
        parent_id=row.parent_id,
        status=ResourceStatus(row.status),
        status_since=row.status_since,
        created_at=row.created_at,
        expire_at=row.expire_at,
    )


def get(conn: Connection, resource_id: str, *, lock: bool = False) -> Resource | None:
    query = select(resource).where(resource.c.id == resource_id)
    if lock and conn.dialect.name == "postgresql":
        query = query.with_for_update(key_share=True)
    row = conn.execute(query).first()
    return to_resource(row) if row else None


def insert_resource(conn: Connection, values: dict[str, Any]) -> None:
    conn.execute(insert(resource).values(**values))


def set_status(conn: Connection, change: StatusChange) -> None:
    conn.execute(
        update(resource)
        .where(resource.c.id == change.resource_id)
        .values(status=str(change.to_status), status_since=change.at)
    )
    add_history(conn, change)
    metrics.after_commit(conn, metrics.LIFECYCLE_TRANSITIONS, (str(change.to_status),))


def add_history(conn: Connection, change: StatusChange) -> None:
    conn.execute(
        insert(resource_status_history).values(
            resource_id=change.resource_id,
            from_status=str(change.from_status) if change.from_status else None,
            to_status=str(change.to_status),
            at=change.at,
            reason=change.reason[:256],
        )
    )


def history(conn: Connection, resource_id: str) -> list[StatusChange]:
    rows = conn.execute(
        select(resource_status_history)
        .where(resource_status_history.c.resource_id == resource_id)
        .order_by(resource_status_history.c.id)
        .limit(PAGE_SIZE_MAX)
    ).all()
    return [
        StatusChange(
            resource_id=r.resource_id,
            from_status=ResourceStatus(r.from_status) if r.from_status else None,
            to_status=ResourceStatus(r.to_status),
            at=r.at,
            reason=r.reason,
        )
        for r in rows
    ]


def list_resources(
    conn: Connection, *, filters: dict[str, Any], limit: int, offset: int
) -> tuple[list[Resource], int]:
    query = select(resource)
    for column, value in filters.items():
        if value is not None:
            query = query.where(resource.c[column] == value)
    total = conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    rows = conn.execute(
        query.order_by(resource.c.created_at, resource.c.id)
        .limit(min(limit, PAGE_SIZE_MAX))
        .offset(offset)
    ).all()
    return [to_resource(r) for r in rows], total


def set_billing_mode(conn: Connection, resource_id: str, mode: str) -> None:
    """Yearly/monthly -> pay-per-use at expiry (its expiry no longer applies), or back."""
    values = {"billing_mode": mode}
    if mode == "pay_per_use":
        values["expire_at"] = None  # type: ignore[assignment]
    conn.execute(update(resource).where(resource.c.id == resource_id).values(values))


def names(conn: Connection, customer_id: str, resource_ids: set[str]) -> dict[str, str]:
    """The names of a customer's resources among `resource_ids` (a page's worth), by id."""
    if not resource_ids:
        return {}
    rows = conn.execute(
        select(resource.c.id, resource.c.name).where(
            resource.c.customer_id == customer_id, resource.c.id.in_(sorted(resource_ids))
        )
    )
    return {row.id: row.name for row in rows}
