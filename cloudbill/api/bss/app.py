"""The BSS listener: Huawei's paths at the root of its own port (the SDK drops any path prefix
of an endpoint), every route behind the AK/SK signature, every answer with an X-Request-Id."""

from __future__ import annotations

from fastapi import Depends, FastAPI
from starlette.responses import Response

from ... import __version__
from ...bootstrap import Container
from ...credentials.sealing import SecretBox
from ...ratelimit import limits as ratelimit
from ..observability import observe
from ..request_guard import RequestGuard
from .auth import authenticate
from .errors import BAD_PARAMETER, INTERNAL, BssError, error_response, install_error_handlers
from .routes import (
    accounts,
    bills,
    costs,
    coupons,
    enterprise,
    invoices,
    monthly_sum,
    not_offered,
    orders,
    packages,
    products,
    ratings,
    resource_specs,
    subscriptions,
)


def _internal_error(request_id: str) -> Response:
    return error_response(BssError(500, INTERNAL, f"internal error (request id {request_id})"))


def create_bss_app(container: Container) -> FastAPI:
    app = FastAPI(
        title="cloudbill BSS",
        version=__version__,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.container = container
    app.state.secret_box = SecretBox(container.secret_key())
    settings = container.settings
    app.state.limits = ratelimit.build(settings, container.db)  # shared by every process
    app.state.listener = "bss"
    install_error_handlers(app)

    app.add_middleware(
        RequestGuard,
        max_bytes=settings.request_body_max_bytes,
        refuse=lambda e: error_response(BssError(e.http_status, BAD_PARAMETER, e.message)),
    )
    observe(app, lambda _path: "bss", _internal_error)

    modules = (
        accounts,
        monthly_sum,
        bills,
        packages,
        coupons,
        orders,
        subscriptions,
        invoices,
        ratings,
        products,
        resource_specs,
        costs,
        not_offered,
        enterprise,
    )
    for module in modules:
        app.include_router(module.router, dependencies=[Depends(authenticate)])
    return app
