"""Resource SQL."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from ..catalog.model import BillingMode
from ..kernel.limits import PAGE_SIZE_MAX
from ..observe import metrics
from ..store.schema import resource, resource_status_history, resource_terms
from .model import Resource, ResourceStatus, StatusChange, Terms


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
        terms_since=row.terms_since,
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


def set_billing_mode(conn: Connection, resource_id: str, mode: str, *, at: datetime) -> None:
    """Yearly/monthly -> pay-per-use (its expiry no longer applies), or back, from `at` on."""
    change_terms(conn, resource_id, at=at, billing_mode=mode)
    if mode == "pay_per_use":
        conn.execute(update(resource).where(resource.c.id == resource_id).values(expire_at=None))


def set_expiry(conn: Connection, resource_id: str, expire_at: datetime) -> None:
    conn.execute(update(resource).where(resource.c.id == resource_id).values(expire_at=expire_at))


def change_terms(
    conn: Connection,
    resource_id: str,
    *,
    at: datetime,
    billing_mode: str | None = None,
    spec: str | None = None,
) -> None:
    """The resource's billing mode and/or spec from `at` on, kept in its terms history (its
    first change also writes the terms it had from creation). Never before the last change:
    what was in force over a past interval does not change."""
    row = conn.execute(
        select(resource.c.billing_mode, resource.c.spec, resource.c.created_at,
               resource.c.terms_since).where(resource.c.id == resource_id)
    ).one()  # fmt: skip
    mode, new_spec = billing_mode or row.billing_mode, spec or row.spec
    if (mode, new_spec) == (row.billing_mode, row.spec):
        return
    if row.terms_since is None:
        _insert_terms(conn, resource_id, Terms(row.created_at, row.billing_mode, row.spec))
    at = max(at, row.terms_since or row.created_at)
    _insert_terms(conn, resource_id, Terms(at, mode, new_spec))
    conn.execute(
        update(resource)
        .where(resource.c.id == resource_id)
        .values(billing_mode=mode, spec=new_spec, terms_since=at)
    )


def _insert_terms(conn: Connection, resource_id: str, terms: Terms) -> None:
    conn.execute(
        insert(resource_terms).values(
            resource_id=resource_id,
            since=terms.since,
            billing_mode=terms.billing_mode,
            spec=terms.spec,
        )
    )


def terms_history(conn: Connection, resource_ids: Iterable[str]) -> dict[str, list[Terms]]:
    """The terms of each resource that ever changed them, oldest first."""
    wanted = sorted(set(resource_ids))
    found: dict[str, list[Terms]] = {}
    for start in range(0, len(wanted), 500):
        rows = conn.execute(
            select(resource_terms)
            .where(resource_terms.c.resource_id.in_(wanted[start : start + 500]))
            .order_by(resource_terms.c.resource_id, resource_terms.c.since, resource_terms.c.id)
        )
        for r in rows:
            found.setdefault(r.resource_id, []).append(Terms(r.since, r.billing_mode, r.spec))
    return found


def stopped_at(conn: Connection, resource_ids: Iterable[str]) -> dict[str, datetime]:
    """When each of these resources last stopped running (moved from normal or grace to frozen
    or released): usage up to then is still its own, whenever it arrives."""
    wanted = sorted(set(resource_ids))
    found: dict[str, datetime] = {}
    h = resource_status_history.c
    for start in range(0, len(wanted), 500):
        rows = conn.execute(
            select(h.resource_id, func.max(h.at))
            .where(
                h.resource_id.in_(wanted[start : start + 500]),
                h.from_status.in_(("normal", "grace")),
                h.to_status.in_(("frozen", "released")),
            )
            .group_by(h.resource_id)
        )
        found.update({rid: at for rid, at in rows})
    return found


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
