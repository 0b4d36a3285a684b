"""Operator routes: a customer's bill storage (the same as the customer's own routes)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from ...bootstrap import Container
from ..deps import container, require_operator
from ..shared import storage as shared
from ..shared.params import Limit
from ..shared.storage import StorageSettings

router = APIRouter(tags=["bill storage"], dependencies=[Depends(require_operator)])
ROOT = "/customers/{customer_id}/bill-storage"


@router.get(ROOT)
def show(customer_id: str, c: Container = Depends(container)) -> dict[str, Any]:
    """The customer's bucket settings (never the secret key), status and latest pushes."""
    return shared.show(c, customer_id)


@router.put(ROOT)
def configure(
    customer_id: str, body: StorageSettings, request: Request, c: Container = Depends(container)
) -> dict[str, Any]:
    return shared.configure(c, request, customer_id, body)


@router.post(ROOT + "/verify")
def verify(customer_id: str, request: Request, c: Container = Depends(container)) -> dict[str, Any]:
    return shared.verify(c, request, customer_id)


@router.post(ROOT + "/enable")
def enable(customer_id: str, request: Request, c: Container = Depends(container)) -> dict[str, Any]:
    return shared.enable(c, request, customer_id)


@router.post(ROOT + "/disable")
def disable(customer_id: str, c: Container = Depends(container)) -> dict[str, Any]:
    return shared.disable(c, customer_id)


@router.get(ROOT + "/pushes")
def pushes(
    customer_id: str, limit: int = Limit, c: Container = Depends(container)
) -> dict[str, Any]:
    return shared.pushes(c, customer_id, limit=limit)
