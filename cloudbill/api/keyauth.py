"""Access-key authentication shared by the BSS listener and the native customer API.

Both answer a refusal in their own error shape, so the checks here raise `KeyRefused` with a
reason and a message, and each API translates it. The app using them keeps the container, the
`SecretBox` and its `RateLimiter` in `app.state`.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from enum import StrEnum

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from ..bootstrap import Container
from ..credentials import service as credentials
from ..credentials.model import AccessKey, AccessKeyStatus
from ..customers import service as customers
from ..customers.model import Customer
from ..kernel.clock import SystemClock
from .bss import signing

# The date header must be signed, or a captured request could be replayed under a new date.
REQUIRED_SIGNED = ("x-sdk-date",)


class Refusal(StrEnum):
    BAD_CREDENTIALS = "bad_credentials"  # unreadable, unknown key, wrong secret or signature
    KEY_DISABLED = "key_disabled"
    WRONG_DOMAIN = "wrong_domain"
    RATE_LIMITED = "rate_limited"


class KeyRefused(Exception):
    def __init__(self, reason: Refusal, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True, slots=True)
class KeyCaller:
    key: AccessKey
    customer: Customer


def _lookup(request: Request, access_key: str) -> tuple[AccessKey, str, Customer] | None:
    c: Container = request.app.state.container

    def read(conn, _now):  # type: ignore[no-untyped-def]
        found = credentials.resolve(conn, access_key, request.app.state.secret_box)
        if found is None:
            return None
        return found[0], found[1], customers.get(conn, found[0].customer_id)

    return c.read(read)


def _check_active(key: AccessKey) -> None:
    if key.status is not AccessKeyStatus.ACTIVE:
        raise KeyRefused(Refusal.KEY_DISABLED, "the access key is disabled")


def _check_rate(request: Request, key: AccessKey) -> None:
    if not request.app.state.rate_limiter.allow(key.id):
        raise KeyRefused(Refusal.RATE_LIMITED, "too many requests for this access key; slow down")


async def verify_signed(request: Request) -> KeyCaller:
    """An SDK-HMAC-SHA256 signed request, verified as huaweicloudsdkcore signs it."""
    headers = {name.lower(): value for name, value in request.headers.items()}
    try:
        auth = signing.parse_authorization(headers.get("authorization"))
        if any(name not in auth.signed_headers for name in REQUIRED_SIGNED):
            raise signing.SignatureError("X-Sdk-Date must be among the signed headers")
        # Freshness is judged on the WALL clock, not the billing center's (possibly simulated)
        # business clock: the client signs with its own real time.
        signing.parse_sdk_date(headers.get("x-sdk-date"), now=SystemClock().now())
    except signing.SignatureError as exc:
        raise KeyRefused(Refusal.BAD_CREDENTIALS, str(exc)) from None
    found = await run_in_threadpool(_lookup, request, auth.access_key)
    if found is None:
        raise KeyRefused(Refusal.BAD_CREDENTIALS, "unknown access key")
    key, secret, customer = found
    body = await request.body()
    try:
        canonical = signing.canonical_request(
            method=request.method,
            raw_path=request.scope.get("raw_path", request.url.path.encode()).decode("latin-1"),
            raw_query=request.scope.get("query_string", b"").decode("latin-1"),
            headers=headers,
            signed_headers=auth.signed_headers,
            body=body,
        )
        signing.check_signature(auth, secret, headers["x-sdk-date"], canonical)
    except signing.SignatureError as exc:
        raise KeyRefused(Refusal.BAD_CREDENTIALS, str(exc)) from None
    # Writes without a trans_id use it as their idempotency key (see bss.routes.common).
    request.state.signature = auth.signature
    _check_active(key)
    domain = headers.get("x-domain-id")
    if domain is not None and domain != customer.id:
        raise KeyRefused(Refusal.WRONG_DOMAIN, "X-Domain-Id is not the domain of the access key")
    _check_rate(request, key)
    return KeyCaller(key, customer)


async def verify_basic(request: Request, access_key: str, secret: str) -> KeyCaller:
    """HTTP Basic: the AK as user name, the SK as password, compared in constant time."""
    found = await run_in_threadpool(_lookup, request, access_key)
    # One message for an unknown key and a wrong secret: which AKs exist is nobody's business.
    if found is None or not secrets.compare_digest(found[1].encode(), secret.encode()):
        raise KeyRefused(Refusal.BAD_CREDENTIALS, "unknown access key or wrong secret key")
    key, _secret, customer = found
    _check_active(key)
    _check_rate(request, key)
    return KeyCaller(key, customer)
