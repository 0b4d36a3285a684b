"""The active catalog as both APIs show it, and price inquiries on a customer's terms."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ...bootstrap import Container
from ...catalog import service as catalog_service
from ...catalog.index import CatalogIndex
from ...catalog.model import Discount
from ...customers import inquiry
from ...customers.model import Customer


def _offered_to(customer: Customer) -> Callable[[Discount], bool]:
    """A customer sees the discounts open to everyone and those meant for them; never another
    customer's negotiated discount, nor the terms of levels they are not at."""

    def offered(d: Discount) -> bool:
        return d.customer_id in (None, customer.id) and d.customer_level in (None, customer.level)

    return offered


def catalog_summary(index: CatalogIndex, *, customer: Customer | None = None) -> dict[str, Any]:
    """The whole catalog (the operator's view), or as `customer` may see it."""
    doc = index.document
    discounts = list(doc.discounts)
    if customer is not None:
        discounts = [
            d.model_dump(mode="json", exclude={"customer_id"})
            for d in filter(_offered_to(customer), discounts)
        ]
    else:
        discounts = [d.model_dump(mode="json") for d in discounts]
    return {
        "version": doc.version,
        "name": doc.name,
        "currencies": index.currencies,
        "services": [
            {
                "code": s.code,
                "name": s.name,
                "resource_types": [
                    {"code": rt.code, "name": rt.name, "specs": len(rt.specs)}
                    for rt in s.resource_types
                ],
            }
            for s in doc.services
        ],
        "usage_types": [u.model_dump(mode="json") for u in doc.usage_types],
        "measure_units": [u.model_dump(mode="json") for u in doc.measure_units],
        "discounts": discounts,
    }


def active_catalog(c: Container, *, customer: Customer | None = None) -> dict[str, Any]:
    return c.read(
        lambda conn, _now: catalog_summary(catalog_service.active(conn), customer=customer)
    )


def show_service(c: Container, code: str) -> dict[str, Any]:
    service = c.read(lambda conn, _now: catalog_service.active(conn).service(code))
    return service.model_dump(mode="json")


def pay_per_use(c: Container, query: dict[str, Any]) -> dict[str, Any]:
    """`query`: a PayPerUseInquiry's fields (currency and customer_id included)."""
    return c.read(lambda conn, _now: inquiry.pay_per_use(conn, **query))


def period(c: Container, query: dict[str, Any]) -> dict[str, Any]:
    return c.read(
        lambda conn, _now: inquiry.period(conn, **query, rounding=c.settings.bill_rounding)
    )
