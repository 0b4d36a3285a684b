"""Pricing an order line on the customer's terms: a period of months or years, or a number of
days (a unified expiry date: a day costs 1/30 of a month, Huawei's daily rate)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Connection

from ..catalog import service as catalog_service
from ..catalog.index import CatalogIndex
from ..catalog.model import BillingMode, PeriodUnit
from ..catalog.pricing import Quote, best_discount, quote
from ..customers import service as customers
from ..customers.model import Customer
from ..enterprise import accounting
from ..kernel.currency import currency_digits
from ..kernel.errors import CloudbillError, ErrorCode
from ..kernel.money import Rounding

DAYS_PER_MONTH = 30
DAY_UNIT = "day"


def discount_holder(conn: Connection, customer: Customer, now: datetime) -> Customer:
    """Whose commercial discounts price the customer's orders: its unified master's, who pays
    them (enterprise/accounting.py), or its own."""
    payer = accounting.payer_of(conn, customer.id, now)
    return customer if payer == customer.id else customers.get(conn, payer)


def period_quote(
    catalog: CatalogIndex,
    customer: Customer,
    *,
    resource_type: str,
    spec: str,
    period_unit: str,
    period_count: int,
    rounding: Rounding,
    holder: Customer | None = None,
) -> Quote:
    """`holder`: whose discounts apply (`discount_holder`), the customer's own by default."""
    holder = holder or customer
    if period_unit == DAY_UNIT:
        return _days_quote(catalog, customer, holder, resource_type, spec, period_count, rounding)
    return catalog_service.inquire_period(
        catalog,
        resource_type=resource_type,
        spec=spec,
        period_unit=PeriodUnit(period_unit),
        period_count=period_count,
        currency=customer.currency,
        rounding=rounding,
        customer_id=holder.id,
        customer_level=holder.level,
    )


def _days_quote(
    catalog: CatalogIndex,
    customer: Customer,
    holder: Customer,
    resource_type: str,
    spec: str,
    days: int,
    rounding: Rounding,
) -> Quote:
    ref = catalog.spec(resource_type, spec)
    prices = ref.spec.prices.get(customer.currency)
    if prices is None or prices.monthly is None:
        raise CloudbillError(
            ErrorCode.CATALOG_ITEM_NOT_FOUND,
            f"{spec} has no yearly/monthly price in {customer.currency}",
        )
    discount = best_discount(
        catalog.document.discounts,
        customer_id=holder.id,
        customer_level=holder.level,
        service=ref.service.code,
        billing_mode=BillingMode.YEARLY_MONTHLY,
        period_unit=PeriodUnit.MONTH,
    )
    official = prices.monthly * Decimal(days) / Decimal(DAYS_PER_MONTH)
    digits = currency_digits(customer.currency)
    return quote(official, customer.currency, discount, rounding=rounding, places=digits)
