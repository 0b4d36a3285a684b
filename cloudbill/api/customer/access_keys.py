"""Customer routes: your own access keys (at most two active; the secret shown only once)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from ...bootstrap import Container
from ..deps import container
from ..keyauth import KeyCaller
from ..shared import access_keys as shared
from ..shared.access_keys import AccessKeyCreate
from .auth import caller

router = APIRouter(tags=["access keys"])
KEYS = "/access-keys"


@router.post(KEYS, status_code=201)
def create_key(
    request: Request,
    body: AccessKeyCreate | None = None,
    me: KeyCaller = Depends(caller),
    c: Container = Depends(container),
) -> dict[str, Any]:
    """A new AK/SK pair. The answer is the only time the secret key is shown."""
    return shared.create(c, shared.secret_box(request, c), me.customer.id, body)


@router.get(KEYS)
def list_keys(me: KeyCaller = Depends(caller), c: Container = Depends(container)) -> dict[str, Any]:
    """Your keys, without their secrets."""
    return shared.list_keys(c, me.customer.id)


@router.get(KEYS + "/{access_key}")
def show_key(
    access_key: str, me: KeyCaller = Depends(caller), c: Container = Depends(container)
) -> dict[str, Any]:
    return shared.show(c, me.customer.id, access_key)


@router.post(KEYS + "/{access_key}/disable")
def disable_key(
    access_key: str, me: KeyCaller = Depends(caller), c: Container = Depends(container)
) -> dict[str, Any]:
    return shared.set_enabled(c, me.customer.id, access_key, False)


@router.post(KEYS + "/{access_key}/enable")
def enable_key(
    access_key: str, me: KeyCaller = Depends(caller), c: Container = Depends(container)
) -> dict[str, Any]:
    return shared.set_enabled(c, me.customer.id, access_key, True)


@router.delete(KEYS + "/{access_key}")
def delete_key(
    access_key: str, me: KeyCaller = Depends(caller), c: Container = Depends(container)
) -> dict[str, Any]:
    return shared.delete(c, me.customer.id, access_key)
