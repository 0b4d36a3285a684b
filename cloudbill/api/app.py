"""The FastAPI application."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

from .. import __version__
from ..bootstrap import Container
from ..console.app import mount_consoles
from ..console.web import CUSTOMER as CUSTOMER_CONSOLE
from ..console.web import OPERATOR as OPERATOR_CONSOLE
from ..ratelimit import limits as ratelimit
from . import probes
from .customer.app import PREFIX as CUSTOMER_PREFIX
from .customer.app import create_customer_app
from .docs import keep_docs_local
from .errors import error_response, install_error_handlers, internal_error
from .observability import observe
from .operator import (
    access_keys,
    benefits,
    bills,
    catalog,
    clock,
    customers,
    enterprise,
    invoices,
    ledger,
    notices,
    orders,
    resources,
    settlement,
    storage,
    usage,
    users,
)
from .request_guard import RequestGuard

OPERATOR_PREFIX = "/operator/v1"


def _api_of(path: str) -> str:
    for prefix, name in (
        (OPERATOR_PREFIX, "operator"),
        (CUSTOMER_PREFIX, "customer"),
        (OPERATOR_CONSOLE.root, "console"),
        (CUSTOMER_CONSOLE.root, "console"),
    ):
        if path == prefix or path.startswith(prefix + "/"):
            return name
    return "server"  # probes, metrics, docs


def create_app(container: Container) -> FastAPI:
    # FastAPIOffline serves Swagger UI and ReDoc from files in its wheel: /docs works offline.
    app = FastAPIOffline(
        title="cloudbill",
        version=__version__,
        description=(
            "Open-source cloud billing center. The operator API manages customers, the catalog, "
            "resources and money; authenticate with `Authorization: Bearer <operator token>`. "
            "Amounts are decimal strings. Customers use their own API with their access keys: "
            f"see {CUSTOMER_PREFIX}/docs."
        ),
    )
    app.state.container = container
    app.state.limits = ratelimit.build(container.settings, container.db)
    app.state.listener = "operator"
    install_error_handlers(app)
    keep_docs_local(app)
    app.add_middleware(
        RequestGuard,
        max_bytes=container.settings.request_body_max_bytes,
        refuse=error_response,
    )
    observe(app, _api_of, internal_error)
    app.include_router(probes.router)

    modules = (
        customers,
        catalog,
        resources,
        usage,
        settlement,
        benefits,
        bills,
        clock,
        ledger,
        notices,
        access_keys,
        orders,
        invoices,
        users,
        storage,
        enterprise,
    )
    for module in modules:
        app.include_router(module.router, prefix=OPERATOR_PREFIX)
    # A separate application, so its OpenAPI document holds only what a customer may call.
    app.mount(CUSTOMER_PREFIX, create_customer_app(container))
    # The web consoles: the customers' Billing Center and the operator console (HTML).
    mount_consoles(app, container)
    return app
