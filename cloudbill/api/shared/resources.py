"""Resources as both APIs show them: one with its status history, or a filtered page."""

from __future__ import annotations

from typing import Any

from fastapi import Query

from ...bootstrap import Container
from ...resources import service
from ...views import instant, resource_view, status_change_view
from .params import Limit, Offset


def resource_filters(
    status: str | None = None,
    billing_mode: str | None = None,
    service_code: str | None = Query(None, alias="service"),
    parent_id: str | None = None,
    limit: int = Limit,
    offset: int = Offset,
) -> dict[str, Any]:
    """The resource-list query parameters (but whose), as a dependency both APIs declare."""
    return {
        "status": status,
        "billing_mode": billing_mode,
        "service": service_code,
        "parent_id": parent_id,
        "limit": limit,
        "offset": offset,
    }


def list_resources(
    c: Container, customer_id: str | None, filters: dict[str, Any]
) -> dict[str, Any]:
    rows, total = c.read(
        lambda conn, _now: service.list_resources(conn, customer_id=customer_id, **filters)
    )
    return {"total": total, "items": [resource_view(r) for r in rows]}


def show(c: Container, resource_id: str, *, owner: str | None) -> dict[str, Any]:
    """With `owner`, another customer's resource answers like one that does not exist."""

    def work(conn, _now):  # type: ignore[no-untyped-def]
        resource = service.get(conn, resource_id, customer_id=owner)
        return {
            **resource_view(resource),
            "history": [status_change_view(h) for h in service.history(conn, resource.id)],
            # Its billing mode and spec and from when, once they ever changed (usage is
            # metered by those in force during its interval).
            "terms": [
                {"since": instant(t.since), "billing_mode": t.billing_mode, "spec": t.spec}
                for t in service.terms(conn, resource.id)
            ],
        }

    return c.read(work)
