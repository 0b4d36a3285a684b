"""One customer's access keys: create (the secret shown once), list, show, enable/disable, delete.

`owner` is the customer whose keys these are; another customer's AK answers as unknown.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from pydantic import BaseModel, ConfigDict, Field

from ...bootstrap import Container
from ...credentials import service
from ...credentials.rules import DESCRIPTION_MAX_CHARS
from ...credentials.sealing import SecretBox
from ...credentials.views import access_key_view, issued_key_view


class AccessKeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    description: str | None = Field(None, max_length=DESCRIPTION_MAX_CHARS)


def secret_box(request: Request, c: Container) -> SecretBox:
    # Built once per app: reading the key is a database round trip, deriving it a KDF.
    box = getattr(request.app.state, "secret_box", None)
    if box is None:
        box = request.app.state.secret_box = SecretBox(c.secret_key())
    return box


def create(
    c: Container, box: SecretBox, owner: str, body: AccessKeyCreate | None
) -> dict[str, Any]:
    description = body.description if body else None
    issued = c.write(
        lambda conn, now: service.create(conn, owner, box=box, now=now, description=description)
    )
    return issued_key_view(issued)


def list_keys(c: Container, owner: str) -> dict[str, Any]:
    keys = c.read(lambda conn, _now: service.list_keys(conn, owner))
    return {"customer_id": owner, "items": [access_key_view(k) for k in keys]}


def show(c: Container, owner: str, access_key: str) -> dict[str, Any]:
    key = c.read(lambda conn, _now: service.get(conn, access_key, customer_id=owner))
    return access_key_view(key)


def set_enabled(c: Container, owner: str, access_key: str, enabled: bool) -> dict[str, Any]:
    key = c.write(
        lambda conn, now: service.set_enabled(conn, access_key, enabled, now=now, customer_id=owner)
    )
    return access_key_view(key)


def delete(c: Container, owner: str, access_key: str) -> dict[str, Any]:
    key = c.write(lambda conn, _now: service.delete(conn, access_key, customer_id=owner))
    return {**access_key_view(key), "deleted": True}
