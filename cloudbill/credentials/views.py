"""Access keys as JSON for the operator API and the CLI (never with the secret, except once)."""

from __future__ import annotations

from typing import Any

from ..views import instant
from .model import AccessKey, IssuedKey


def access_key_view(k: AccessKey) -> dict[str, Any]:
    return {
        "access_key": k.id,
        "customer_id": k.customer_id,
        "status": str(k.status),
        "description": k.description,
        "created_at": instant(k.created_at),
        "updated_at": instant(k.updated_at),
    }


def issued_key_view(issued: IssuedKey) -> dict[str, Any]:
    return {
        **access_key_view(issued.key),
        "secret_key": issued.secret,
        "notice": "the secret key is shown only now: store it safely",
    }
