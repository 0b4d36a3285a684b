"""Operator routes: resources and their status history."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Depends

from ...bootstrap import Container
from ...resources import service
from ...resources.model import ResourceInput
from ...views import resource_view
from ..deps import container, require_operator
from ..shared import resources as shared
from ..shared.resources import resource_filters
from .schemas import Reason, ResourceCreate, SpecChange

router = APIRouter(tags=["resources"], dependencies=[Depends(require_operator)])


@router.post("/resources", status_code=201)
def register(body: ResourceCreate, c: Container = Depends(container)) -> dict[str, Any]:
    horizon = timedelta(days=c.settings.usage_horizon_days)
    resource, created = c.write(
        lambda conn, now: service.register(
            conn, ResourceInput(**body.model_dump()), now=now, horizon=horizon
        )
    )
    return {**resource_view(resource), "created": created}


@router.get("/resources")
def list_resources(
    customer_id: str | None = None,
    filters: dict[str, Any] = Depends(resource_filters),
    c: Container = Depends(container),
) -> dict[str, Any]:
    return shared.list_resources(c, customer_id, filters)


@router.get("/resources/{resource_id}")
def show(resource_id: str, c: Container = Depends(container)) -> dict[str, Any]:
    return shared.show(c, resource_id, owner=None)


@router.post("/resources/{resource_id}/release")
def release(resource_id: str, body: Reason, c: Container = Depends(container)) -> dict[str, Any]:
    resource = c.write(
        lambda conn, now: service.release(conn, resource_id, reason=body.reason, now=now)
    )
    return resource_view(resource)


@router.post("/resources/{resource_id}/spec")
def change_spec(
    resource_id: str, body: SpecChange, c: Container = Depends(container)
) -> dict[str, Any]:
    """A pay-per-use resource's new spec from now on (its usage before is priced at the old)."""
    resource = c.write(lambda conn, now: service.change_spec(conn, resource_id, body.spec, now=now))
    return resource_view(resource)
