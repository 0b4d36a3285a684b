"""The FastAPI application."""

from __future__ import annotations

from fastapi import FastAPI

from .. import __version__
from ..bootstrap import Container
from .customer.app import PREFIX as CUSTOMER_PREFIX
from .customer.app import create_customer_app
from .errors import install_error_handlers
from .operator import (
    access_keys,
    benefits,
    bills,
    catalog,
    clock,
    customers,
    ledger,
    notices,
    orders,
    resources,
    settlement,
    usage,
)

OPERATOR_PREFIX = "/operator/v1"


def create_app(container: Container) -> FastAPI:
    app = FastAPI(
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
    app.state.operator_token = container.operator_token()
    install_error_handlers(app)

    @app.get("/health", tags=["health"])
    def health() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

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
    )
    for module in modules:
        app.include_router(module.router, prefix=OPERATOR_PREFIX)
    # A separate application, so its OpenAPI document holds only what a customer may call.
    app.mount(CUSTOMER_PREFIX, create_customer_app(container))
    return app
