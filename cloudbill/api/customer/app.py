"""The customer API's own FastAPI application, mounted at /customer/v1 beside the operator API,
with its own OpenAPI document: only routes a customer may call, all behind an access key."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline
from pydantic import BaseModel

from ... import __version__
from ...bootstrap import Container
from ...credentials.sealing import SecretBox
from ...ratelimit import limits as ratelimit
from ..docs import keep_docs_local
from ..errors import install_error_handlers, internal_error
from ..observability import record_route
from . import (
    access_keys,
    account,
    benefits,
    bills,
    catalog,
    enterprise,
    invoices,
    notices,
    orders,
    resources,
    storage,
    subscriptions,
)

PREFIX = "/customer/v1"
DESCRIPTION = """\
cloudbill's native API for customers: everything the billing center shows you — balances,
alerts, bills, fee records, resources, orders, renewals, resource packages, coupons, notices,
your access keys and bill storage to your own bucket. Every answer is about the customer of the
calling access key only: there is no customer id in any path, and another customer's ids answer
like ids that do not exist.

Authenticate with an access key: HTTP Basic with the AK as user name and the SK as password
(`curl -u AK:SK`), or an `SDK-HMAC-SHA256` signature exactly as the Huawei SDKs sign requests.
Amounts are decimal strings. Refusals answer `{"error": {"code": ..., "message": ...}}` with a 4xx
status and change nothing; too many requests for one customer (whichever of its keys), or too
many failed authentications from one address or for one key, answer 429 `RATE_LIMITED`.
"""


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: dict[str, Any] | None = None


class ErrorResponse(BaseModel):
    error: ErrorDetail


# Every refusal, documented once for all routes (FastAPI would otherwise promise its own 422
# shape, which this API never answers: bad parameters are 400 INVALID_ARGUMENT).
REFUSALS: dict[int | str, dict[str, Any]] = {
    "4XX": {
        "model": ErrorResponse,
        "description": "refused, nothing changed: 400 bad input, 401 no valid access key, "
        "404 not found (or another customer's), 409 state or idempotency conflict, "
        "422 not applicable, 429 too many requests for the key",
    }
}


def create_customer_app(container: Container) -> FastAPI:
    app = FastAPIOffline(
        title="cloudbill customer API", version=__version__, description=DESCRIPTION
    )
    app.state.container = container
    app.state.secret_box = SecretBox(container.secret_key())
    settings = container.settings
    # The BSS listener's per-customer rate and burst, with a budget of its own.
    app.state.limits = ratelimit.build(settings, container.db)  # shared by every process
    app.state.listener = "customer"
    install_error_handlers(app)
    keep_docs_local(app, PREFIX)
    record_route(app, PREFIX, internal_error)
    modules = (
        account,
        bills,
        resources,
        orders,
        subscriptions,
        benefits,
        invoices,
        catalog,
        notices,
        access_keys,
        storage,
        enterprise,
    )
    for module in modules:
        app.include_router(module.router, responses=REFUSALS)
    return app
