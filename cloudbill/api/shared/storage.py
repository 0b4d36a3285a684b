"""One customer's bill storage: its bucket settings (the secret never shown back), a
verification of the bucket, switching storage on and off, and the pushes recorded.

`owner` is the customer whose storage this is (the caller's own on the customer API)."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from pydantic import BaseModel, ConfigDict, Field

from ...bootstrap import Container
from ...storage import service
from ...storage.views import config_view, push_view, verify_view
from .access_keys import secret_box

RECENT_PUSHES = 10  # shown with the settings; the full list is its own route


class StorageSettings(BaseModel):
    """The bucket settings; each field is checked by the storage stage (bad input: 400
    INVALID_ARGUMENT, nothing saved)."""

    model_config = ConfigDict(extra="forbid")

    endpoint_url: str = Field(max_length=512, description="e.g. https://obs.example.com")
    region: str = Field(max_length=64)
    bucket: str = Field(max_length=63)
    prefix: str = Field("", max_length=400, description="folder in the bucket, may be empty")
    access_key_id: str = Field(max_length=128)
    secret_access_key: str | None = Field(
        None, max_length=128, description="write-only; omitted: the saved one is kept"
    )
    bills: list[str] = Field(
        default_factory=lambda: ["expenditures", "resource_bill"],
        max_length=4,
        description="expenditures (daily fee records) and/or resource_bill (by resource)",
    )
    file_format: str = Field("csv", max_length=16, description="csv, csv.gz or parquet")


def show(c: Container, owner: str) -> dict[str, Any]:
    def read(conn, _now):  # type: ignore[no-untyped-def]
        config = config_view(service.get(conn, owner))
        recent = service.pushes(conn, owner, limit=RECENT_PUSHES)
        return {**config, "recent_pushes": [push_view(p) for p in recent]}

    return c.read(read)


def configure(c: Container, request: Request, owner: str, body: StorageSettings) -> dict[str, Any]:
    box = secret_box(request, c)
    fields = body.model_dump()
    fields["bucket_name"] = fields.pop("bucket")
    config = c.write(lambda conn, now: service.configure(conn, box, owner, now=now, **fields))
    return config_view(config)


def verify(c: Container, request: Request, owner: str) -> dict[str, Any]:
    """200 either way: a failed check is an answer (which step, which problem), not a
    refusal of the request."""
    return verify_view(service.verify(c, secret_box(request, c), owner))


def enable(c: Container, request: Request, owner: str) -> dict[str, Any]:
    return config_view(service.enable(c, secret_box(request, c), owner))


def disable(c: Container, owner: str) -> dict[str, Any]:
    return config_view(c.write(lambda conn, now: service.disable(conn, owner, now=now)))


def pushes(c: Container, owner: str, *, limit: int) -> dict[str, Any]:
    rows = c.read(lambda conn, _now: service.pushes(conn, owner, limit=limit))
    return {"customer_id": owner, "items": [push_view(r) for r in rows]}
