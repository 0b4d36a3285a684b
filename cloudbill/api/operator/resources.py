"""Operator routes: resources and their status history."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query

from ...bootstrap import Container
from ...kernel.limits import PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX
from ...resources import service
from ...resources.model import ResourceInput
from ...views import resource_view, status_change_view
from ..deps import container, require_operator
from .schemas import Reason, ResourceCreate

router = APIRouter(tags=["resources"], dependencies=[Depends(require_operator)])


@router.post("/resources", status_code=201)
def register(body: ResourceCreate, c: Container = Depends(container)) -> dict[str, Any]:
    resource, created = c.write(
        lambda conn, now: service.register(conn, ResourceInput(**body.model_dump()), now=now)
    )
    return {**resource_view(resource), "created": created}


@router.get("/resources")
def list_resources(
    customer_id: str | None = None,
    status: str | None = None,
    billing_mode: str | None = None,
    service_code: str | None = Query(None, alias="service"),
    parent_id: str | None = None,
    limit: int = Query(PAGE_SIZE_DEFAULT, ge=1, le=PAGE_SIZE_MAX),
    offset: int = Query(0, ge=0),
    c: Container = Depends(container),
) -> dict[str, Any]:
    rows, total = c.read(
        lambda conn, _now: service.list_resources(
            conn,
            customer_id=customer_id,
            status=status,
            billing_mode=billing_mode,
            service=service_code,
            parent_id=parent_id,
            limit=limit,
            offset=offset,
        )
    )
    return {"total": total, "items": [resource_view(r) for r in rows]}


@router.get("/resources/{resource_id}")
def show(resource_id: str, c: Container = Depends(container)) -> dict[str, Any]:
    def work(conn, _now):  # type: ignore[no-untyped-def]
        resource = service.get(conn, resource_id)
        return {
            **resource_view(resource),
            "history": [status_change_view(h) for h in service.history(conn, resource_id)],
        }

    return c.read(work)


@router.post("/resources/{resource_id}/release")
def release(resource_id: str, body: Reason, c: Container = Depends(container)) -> dict[str, Any]:
    resource = c.write(
        lambda conn, now: service.release(conn, resource_id, reason=body.reason, now=now)
    )
    return resource_view(resource)
