"""Who is calling: the access key of a valid SDK-HMAC-SHA256 signature decides the customer."""

from __future__ import annotations

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from ...bootstrap import Container
from ...credentials import service as credentials
from ...credentials.model import AccessKey, AccessKeyStatus
from ...customers import service as customers
from ...customers.model import Customer
from ...kernel.clock import SystemClock
from . import signing
from .errors import ACCESS_DENIED, AUTH_FAILED, FLOW_CONTROL, BssError

# The date header must be signed, or a captured request could be replayed under a new date.
REQUIRED_SIGNED = ("x-sdk-date",)


def _refuse(message: str) -> BssError:
    return BssError(401, AUTH_FAILED, message)


def _lookup(request: Request, access_key: str) -> tuple[AccessKey, str, Customer] | None:
    c: Container = request.app.state.container

    def read(conn, _now):  # type: ignore[no-untyped-def]
        found = credentials.resolve(conn, access_key, request.app.state.secret_box)
        if found is None:
            return None
        return found[0], found[1], customers.get(conn, found[0].customer_id)

    return c.read(read)


async def authenticate(request: Request) -> Customer:
    """Verify the signature and answer the calling customer; refusals are Huawei-shaped."""
    headers = {name.lower(): value for name, value in request.headers.items()}
    try:
        auth = signing.parse_authorization(headers.get("authorization"))
        if any(name not in auth.signed_headers for name in REQUIRED_SIGNED):
            raise signing.SignatureError("X-Sdk-Date must be among the signed headers")
        # Freshness is judged on the WALL clock, not the billing center's (possibly simulated)
        # business clock: the client signs with its own real time.
        signing.parse_sdk_date(headers.get("x-sdk-date"), now=SystemClock().now())
    except signing.SignatureError as exc:
        raise _refuse(str(exc)) from None
    found = await run_in_threadpool(_lookup, request, auth.access_key)
    if found is None:
        raise _refuse("unknown access key")
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
        raise _refuse(str(exc)) from None
    if key.status is not AccessKeyStatus.ACTIVE:
        raise BssError(403, ACCESS_DENIED, "the access key is disabled")
    domain = headers.get("x-domain-id")
    if domain is not None and domain != customer.id:
        raise BssError(403, ACCESS_DENIED, "X-Domain-Id is not the domain of the access key")
    if not request.app.state.rate_limiter.allow(key.id):
        raise BssError(429, FLOW_CONTROL, "too many requests for this access key; slow down")
    return customer
