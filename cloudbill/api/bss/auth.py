"""Who is calling: the access key of a valid SDK-HMAC-SHA256 signature decides the customer."""

from __future__ import annotations

from fastapi import Request

from ...customers.model import Customer
from ..keyauth import KeyRefused, Refusal, verify_signed
from .errors import ACCESS_DENIED, AUTH_FAILED, FLOW_CONTROL, BssError

# Huawei's answer to each refusal: a bad signature is 401, a disabled key or another domain 403.
_HUAWEI = {
    Refusal.BAD_CREDENTIALS: (401, AUTH_FAILED),
    Refusal.KEY_DISABLED: (403, ACCESS_DENIED),
    Refusal.WRONG_DOMAIN: (403, ACCESS_DENIED),
    Refusal.RATE_LIMITED: (429, FLOW_CONTROL),
}


async def authenticate(request: Request) -> Customer:
    """Verify the signature and answer the calling customer; refusals are Huawei-shaped."""
    try:
        return (await verify_signed(request)).customer
    except KeyRefused as refused:
        status, code = _HUAWEI[refused.reason]
        raise BssError(status, code, refused.message, refused.retry_after_s) from None
