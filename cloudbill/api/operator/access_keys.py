"""Operator routes: a customer's access keys (AK/SK) for the BSS and native customer APIs."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from ...bootstrap import Container
from ..deps import container, require_operator
from ..shared import access_keys as shared
from ..shared.access_keys import AccessKeyCreate

router = APIRouter(tags=["access keys"], dependencies=[Depends(require_operator)])
KEYS = "/customers/{customer_id}/access-keys"


@router.post(KEYS, status_code=201)
def create_key(
    customer_id: str,
    request: Request,
    body: AccessKeyCreate | None = None,
    c: Container = Depends(container),
) -> dict[str, Any]:
    """A new AK/SK pair (at most two active per customer). The answer is the only time the
    secret key is shown."""
    return shared.create(c, shared.secret_box(request, c), customer_id, body)


@router.get(KEYS)
def list_keys(customer_id: str, c: Container = Depends(container)) -> dict[str, Any]:
    return shared.list_keys(c, customer_id)


@router.get(KEYS + "/{access_key}")
def show_key(
    customer_id: str, access_key: str, c: Container = Depends(container)
) -> dict[str, Any]:
    return shared.show(c, customer_id, access_key)


@router.post(KEYS + "/{access_key}/disable")
def disable_key(
    customer_id: str, access_key: str, c: Container = Depends(container)
) -> dict[str, Any]:
    return shared.set_enabled(c, customer_id, access_key, False)


@router.post(KEYS + "/{access_key}/enable")
def enable_key(
    customer_id: str, access_key: str, c: Container = Depends(container)
) -> dict[str, Any]:
    return shared.set_enabled(c, customer_id, access_key, True)


@router.delete(KEYS + "/{access_key}")
def delete_key(
    customer_id: str, access_key: str, c: Container = Depends(container)
) -> dict[str, Any]:
    return shared.delete(c, customer_id, access_key)
