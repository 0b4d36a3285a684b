"""Customer routes: your resources and their status history."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from ...bootstrap import Container
from ..deps import container
from ..keyauth import KeyCaller
from ..shared import resources as shared
from ..shared.resources import resource_filters
from .auth import caller

router = APIRouter(tags=["resources"])


@router.get("/resources")
def list_resources(
    filters: dict[str, Any] = Depends(resource_filters),
    me: KeyCaller = Depends(caller),
    c: Container = Depends(container),
) -> dict[str, Any]:
    return shared.list_resources(c, me.customer.id, filters)


@router.get("/resources/{resource_id}")
def show(
    resource_id: str, me: KeyCaller = Depends(caller), c: Container = Depends(container)
) -> dict[str, Any]:
    return shared.show(c, resource_id, owner=me.customer.id)
