"""Resources as both APIs show them: one with its status history, or a filtered page."""

from __future__ import annotations

from typing import Any

from ...bootstrap import Container
from ...resources import service
from ...views import resource_view, status_change_view


def list_resources(c: Container, **filters: Any) -> dict[str, Any]:
    """`filters`: customer_id, status, billing_mode, service, parent_id, limit, offset."""
    rows, total = c.read(lambda conn, _now: service.list_resources(conn, **filters))
    return {"total": total, "items": [resource_view(r) for r in rows]}


def show(c: Container, resource_id: str, *, owner: str | None) -> dict[str, Any]:
    """With `owner`, another customer's resource answers like one that does not exist."""

    def work(conn, _now):  # type: ignore[no-untyped-def]
        resource = service.get(conn, resource_id, customer_id=owner)
        return {
            **resource_view(resource),
            "history": [status_change_view(h) for h in service.history(conn, resource.id)],
        }

    return c.read(work)
