"""The active catalog as both APIs show it, and price inquiries on a customer's terms."""

from __future__ import annotations

from typing import Any

from ...bootstrap import Container
from ...catalog import service as catalog_service
from ...catalog.index import CatalogIndex
from ...customers import inquiry


def catalog_summary(index: CatalogIndex) -> dict[str, Any]:
    doc = index.document
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
        "discounts": [d.model_dump(mode="json") for d in doc.discounts],
    }


def active_catalog(c: Container) -> dict[str, Any]:
    return c.read(lambda conn, _now: catalog_summary(catalog_service.active(conn)))


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
