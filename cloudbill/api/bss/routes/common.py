"""What the BSS routes share: the calling customer, paging, exact amounts, Huawei codes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar

from fastapi import Depends, Query, Request
from sqlalchemy import Connection

from ....bootstrap import Container
from ....catalog import service as catalog_service
from ....catalog.index import CatalogIndex
from ....customers.model import Customer
from ....expenditure.model import BillCategory, BillType
from ....kernel.limits import OFFSET_MAX
from ....kernel.money import Money
from ....kernel.quantity import from_e10
from ....orders.service import Terms
from ..auth import authenticate
from ..errors import bad_parameter

T = TypeVar("T")

MONEY_MEASURE_ID = 1  # Huawei's measure id of the major currency unit (dollar, yuan)
PAGE_LIMIT_MAX = 1000
CHARGE_MODE = {"yearly_monthly": 1, "pay_per_use": 3}
HOUR_PERIOD_TYPE = 25  # Huawei period types: 19 year, 20 month, 24 day, 25 hour, 5 one-off
PERIOD_TYPE = {"year": 19, "month": 20, "day": 24}  # of what a yearly/monthly record bought
ONE_OFF_PERIOD_TYPE = 5  # a change, refund or adjustment: no period bought
# Huawei's record bill types (ListCustomerselfResourceRecords and the record details).
BILL_TYPE_CODE: dict[str, int] = {
    BillType.NEW_PURCHASE: 1,
    BillType.CONVERSION: 1,  # a pay-per-use resource bought for a period: a new purchase
    BillType.RENEWAL: 2,
    BillType.UPGRADE: 3,
    BillType.UNSUBSCRIPTION_REFUND: 4,
    BillType.UNSUBSCRIPTION_FEE: 4,  # kept from the refund: Huawei shows it with the refund
    BillType.USAGE: 5,
    BillType.AUTO_RENEWAL: 8,
    BillType.COMPENSATION: 9,
    BillType.DEDUCTION: 16,
    BillType.DOWNGRADE_REFUND: 20,
}
# Huawei's monthly-sum bill types: 1 consumption, 2 refund, 3 adjustment.
CATEGORY_CODE = {BillCategory.CONSUMPTION: 1, BillCategory.REFUND: 2, BillCategory.ADJUSTMENT: 3}


def bill_types_of_code(code: int) -> list[str]:
    """cloudbill's bill types a Huawei record bill type code stands for (none if unknown)."""
    return sorted(name for name, value in BILL_TYPE_CODE.items() if value == code)


def read(request: Request, work: Callable[[Connection, datetime], T]) -> T:
    c: Container = request.app.state.container
    return c.read(work)


def write(request: Request, work: Callable[[Connection, datetime], T]) -> T:
    """One use case in one write transaction: a refusal leaves nothing changed."""
    c: Container = request.app.state.container
    return c.write(work)


Caller = Depends(authenticate)
Offset = Query(0, ge=0, le=OFFSET_MAX)
Limit = Query(10, ge=1, le=PAGE_LIMIT_MAX)


def amount(units: int, currency: str) -> Decimal:
    """Exact: settlement's 8 decimals when there are any, else the currency's digits."""
    return Money(units, currency).to_decimal()


def quantity(e10: int) -> Decimal:
    return from_e10(e10).normalize() if e10 else Decimal(0)


UTC_FORMAT = "%Y-%m-%dT%H:%M:%SZ"  # Huawei's instants: yyyy-MM-ddTHH:mm:ssZ


def utc_text(instant: datetime | None) -> str | None:
    return None if instant is None else instant.strftime(UTC_FORMAT)


def utc_instant(text: str | None, name: str) -> datetime | None:
    """A query parameter in Huawei's UTC form; absent is None, anything else malformed."""
    if text is None:
        return None
    try:
        return datetime.strptime(text, UTC_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        raise bad_parameter(f"{name}: yyyy-MM-ddTHH:mm:ssZ") from None


def catalog(conn: Connection) -> CatalogIndex:
    return catalog_service.active(conn)


def service_type_code(index: CatalogIndex, service: str) -> str:
    """Huawei's code of a catalog service (`hws.service.type.ec2`), or cloudbill's own code."""
    found = index.services.get(service)
    return (found.huawei_code if found else None) or service


def service_of_type_code(index: CatalogIndex, code: str) -> str | None:
    """The catalog service a Huawei (or cloudbill) service type code names; None if none."""
    lowered = code.lower()
    for service in index.services.values():
        if lowered in (service.code.lower(), (service.huawei_code or "").lower()):
            return service.code
    return None


def service_name(index: CatalogIndex, service: str) -> str | None:
    found = index.services.get(service)
    return found.name if found else None


def resource_type_name(index: CatalogIndex, resource_type: str) -> str | None:
    found = index.resource_types.get(resource_type)
    return found[1].name if found else None


def unit_measure_id(index: CatalogIndex, unit: str) -> int | None:
    found = index.units.get(unit)
    return found.huawei_measure_id if found else None


def month(value: str | None, name: str) -> str:
    if not value:
        raise bad_parameter(f"{name} is required (YYYY-MM)")
    return value


def owner(customer: Customer) -> dict[str, Any]:
    return {"customer_id": customer.id, "account_name": customer.name}


def idempotency_key(request: Request, trans_id: str | None) -> str | None:
    """The body's `trans_id`, else the request's own signature. The SDK's models carry no
    trans_id, so without this an exact replay of a signed write (a client's retry after a
    timeout, or a captured request within X-Sdk-Date's 15 minutes) would act twice; the
    signature covers the date, path, query and body, so only the very same request matches."""
    if trans_id is not None:
        return trans_id
    signature = getattr(request.state, "signature", None)
    return None if signature is None else f"sig:{signature}"


def order_terms(request: Request) -> Terms:
    """The operator's order terms (payment deadline, refund window, handling fee, rounding)."""
    return Terms.from_settings(request.app.state.container.settings)
