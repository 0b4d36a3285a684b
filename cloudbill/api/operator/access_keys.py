"""Operator routes: a customer's access keys (AK/SK) for the BSS API."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from ...bootstrap import Container
from ...credentials import service
from ...credentials.rules import DESCRIPTION_MAX_CHARS
from ...credentials.sealing import SecretBox
from ...credentials.views import access_key_view, issued_key_view
from ..deps import container, require_operator

router = APIRouter(tags=["access keys"], dependencies=[Depends(require_operator)])
KEYS = "/customers/{customer_id}/access-keys"


class AccessKeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    description: str | None = Field(None, max_length=DESCRIPTION_MAX_CHARS)


def _box(request: Request, c: Container) -> SecretBox:
    # Built once per app: reading the key is a database round trip, deriving it a KDF.
    box = getattr(request.app.state, "secret_box", None)
    if box is None:
        box = request.app.state.secret_box = SecretBox(c.secret_key())
    return box


@router.post(KEYS, status_code=201)
def create_key(
    customer_id: str,
    request: Request,
    body: AccessKeyCreate | None = None,
    c: Container = Depends(container),
) -> dict[str, Any]:
    """A new AK/SK pair (at most two active per customer). The answer is the only time the
    secret key is shown."""
    box = _box(request, c)
    description = body.description if body else None
    issued = c.write(
        lambda conn, now: service.create(
            conn, customer_id, box=box, now=now, description=description
        )
    )
    return issued_key_view(issued)


@router.get(KEYS)
def list_keys(customer_id: str, c: Container = Depends(container)) -> dict[str, Any]:
    keys = c.read(lambda conn, _now: service.list_keys(conn, customer_id))
    return {"customer_id": customer_id, "items": [access_key_view(k) for k in keys]}


@router.get(KEYS + "/{access_key}")
def show_key(
    customer_id: str, access_key: str, c: Container = Depends(container)
) -> dict[str, Any]:
    key = c.read(lambda conn, _now: service.get(conn, access_key, customer_id=customer_id))
    return access_key_view(key)


def _set(c: Container, customer_id: str, access_key: str, enabled: bool) -> dict[str, Any]:
    key = c.write(
        lambda conn, now: service.set_enabled(
            conn, access_key, enabled, now=now, customer_id=customer_id
        )
    )
    return access_key_view(key)


@router.post(KEYS + "/{access_key}/disable")
def disable_key(
    customer_id: str, access_key: str, c: Container = Depends(container)
) -> dict[str, Any]:
    return _set(c, customer_id, access_key, False)


@router.post(KEYS + "/{access_key}/enable")
def enable_key(
    customer_id: str, access_key: str, c: Container = Depends(container)
) -> dict[str, Any]:
    return _set(c, customer_id, access_key, True)


@router.delete(KEYS + "/{access_key}")
def delete_key(
    customer_id: str, access_key: str, c: Container = Depends(container)
) -> dict[str, Any]:
    key = c.write(lambda conn, _now: service.delete(conn, access_key, customer_id=customer_id))
    return {**access_key_view(key), "deleted": True}
