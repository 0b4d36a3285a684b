"""Price inquiries on a customer's terms (their currency, level and personal discounts).

The API and the CLI both answer inquiries through these two functions.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from ..catalog import service as catalog_service
from ..catalog.model import PeriodUnit
from ..kernel.errors import CloudbillError, ErrorCode
from ..kernel.money import Rounding
from . import service as customers


def _terms(conn: Connection, customer_id: str | None, currency: str):  # type: ignore[no-untyped-def]
    """(customer id, level, currency): a named customer's own, or anonymous list prices."""
    if customer_id is None:
        return None, None, currency
    customer = customers.get(conn, customer_id)
    return customer.id, customer.level, customer.currency


def pay_per_use(
    conn: Connection,
    *,
    resource_type: str,
    spec: str,
    usage_type: str,
    quantity: object,
    unit: str | None,
    currency: str,
    customer_id: str | None,
) -> dict[str, Any]:
    cid, level, cur = _terms(conn, customer_id, currency)
    quote, in_unit, pricing_unit = catalog_service.inquire_pay_per_use(
        catalog_service.active(conn), resource_type=resource_type, spec=spec,
        usage_type=usage_type, quantity=quantity, unit=unit, currency=cur, customer_id=cid,
        customer_level=level,
    )  # fmt: skip
    return {**quote.as_dict(), "quantity": format(in_unit, "f"), "unit": pricing_unit}


def period(
    conn: Connection,
    *,
    resource_type: str,
    spec: str,
    period_unit: str,
    period_count: int,
    subscriptions: int,
    currency: str,
    customer_id: str | None,
    rounding: Rounding,
) -> dict[str, Any]:
    try:
        unit = PeriodUnit(period_unit)
    except ValueError:
        raise CloudbillError(
            ErrorCode.INVALID_ARGUMENT, "period unit must be month or year"
        ) from None
    cid, level, cur = _terms(conn, customer_id, currency)
    quote = catalog_service.inquire_period(
        catalog_service.active(conn), resource_type=resource_type, spec=spec, period_unit=unit,
        period_count=period_count, subscriptions=subscriptions, currency=cur, rounding=rounding,
        customer_id=cid, customer_level=level,
    )  # fmt: skip
    return quote.as_dict()
