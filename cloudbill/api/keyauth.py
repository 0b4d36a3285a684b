"""Access-key authentication shared by the BSS listener and the native customer API.

Both answer a refusal in their own error shape, so the checks here raise `KeyRefused` with a
reason and a message, and each API translates it. The app using them keeps the container, the
`SecretBox`, its `RequestLimits` (ratelimit/) and its listener's name in `app.state`.

Budgets: every authenticated request takes one from its customer's budget; every failed
authentication takes one from the failure budgets of its source address and of the key it
named, and a source or key whose failure budget is spent is refused before any check (so
guessing secrets is slow from one address, and slow for one key from many).
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
    def __init__(self, reason: Refusal, message: str, retry_after_s: int | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.retry_after_s = retry_after_s  # a spent budget: when to ask again


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


def _source(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def _check_not_blocked(request: Request, access_key: str | None) -> None:
    state = request.app.state
    if await run_in_threadpool(
        state.limits.auth_blocked, state.listener, _source(request), access_key
    ):
        raise KeyRefused(
            Refusal.RATE_LIMITED,
            "too many failed authentications from this address or for this access key; "
            "try again later",
            state.limits.failures.retry_after_s,
        )


async def _bad_credentials(request: Request, access_key: str | None, message: str) -> KeyRefused:
    """A failed authentication: counted against its source and key, then refused."""
    state = request.app.state
    await run_in_threadpool(state.limits.auth_failed, state.listener, _source(request), access_key)
    return KeyRefused(Refusal.BAD_CREDENTIALS, message)


async def _check_rate(request: Request, customer: Customer) -> None:
    state = request.app.state
    if not await run_in_threadpool(state.limits.customer_request, state.listener, customer.id):
        raise KeyRefused(
            Refusal.RATE_LIMITED,
            "too many requests for this customer; slow down",
            state.limits.requests.retry_after_s,
        )


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
        await _check_not_blocked(request, None)
        raise await _bad_credentials(request, None, str(exc)) from None
    await _check_not_blocked(request, auth.access_key)
    found = await run_in_threadpool(_lookup, request, auth.access_key)
    if found is None:
        raise await _bad_credentials(request, auth.access_key, "unknown access key")
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
        raise await _bad_credentials(request, auth.access_key, str(exc)) from None
    # Writes without a trans_id use it as their idempotency key (see bss.routes.common).
    request.state.signature = auth.signature
    _check_active(key)
    domain = headers.get("x-domain-id")
    if domain is not None and domain != customer.id:
        raise KeyRefused(Refusal.WRONG_DOMAIN, "X-Domain-Id is not the domain of the access key")
    await _check_rate(request, customer)
    return KeyCaller(key, customer)


async def verify_basic(request: Request, access_key: str, secret: str) -> KeyCaller:
    """HTTP Basic: the AK as user name, the SK as password, compared in constant time."""
    await _check_not_blocked(request, access_key)
    found = await run_in_threadpool(_lookup, request, access_key)
    # One message for an unknown key and a wrong secret: which AKs exist is nobody's business.
    if found is None or not secrets.compare_digest(found[1].encode(), secret.encode()):
        raise await _bad_credentials(request, access_key, "unknown access key or wrong secret key")
    key, _secret, customer = found
    _check_active(key)
    await _check_rate(request, customer)
    return KeyCaller(key, customer)
