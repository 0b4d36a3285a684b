"""Standard Webhooks signatures: `webhook-id`, `webhook-timestamp`, `webhook-signature`
(`v1,` + base64 HMAC-SHA256 of `{id}.{timestamp}.{body}` keyed by the decoded secret)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from ..kernel.errors import CloudbillError, ErrorCode

PREFIX = "whsec_"


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def secret_key(secret: str) -> bytes:
    raw = secret.removeprefix(PREFIX)
    try:
        return base64.b64decode(raw, validate=True)
    except ValueError:
        raise CloudbillError(
            ErrorCode.INVALID_ARGUMENT, "CLOUDBILL_WEBHOOK_SECRET must be whsec_ + base64"
        ) from None


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def headers(secret: str, message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        "content-type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, message_id, timestamp, body),
    }
