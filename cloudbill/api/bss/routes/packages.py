"""Resource packages ("free resources"): list, usage per item, usage records (group 4)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from ....benefits import service as benefits
from ....benefits.model import PackageBalance, PackageState, ResourcePackage
from ....benefits.rules import is_record_id
from ....bills import repo as bills_repo
from ....catalog.index import CatalogIndex
from ....customers.model import Customer
from ....kernel.limits import OFFSET_MAX
from ....kernel.periods import Period, zone
from ....kernel.resets import ResetKind
from ..errors import bad_parameter
from ..jsonnum import ExactRoute
from .common import (
    PAGE_LIMIT_MAX,
    Caller,
    Limit,
    Offset,
    catalog,
    quantity,
    read,
    service_of_type_code,
    service_type_code,
    unit_measure_id,
    utc_text,
)

router = APIRouter(route_class=ExactRoute)
# Huawei package status: 0 not effective, 1 effective, 2 used up, 3 expired, 4 unsubscribed.
NOT_EFFECTIVE, EFFECTIVE, USED_UP, EXPIRED = 0, 1, 2, 3
RESETTABLE, NOT_RESETTABLE = 1, 2  # quota_reuse_mode
# quota_reuse_cycle: 1 hour, 2 day, 3 week, 4 month, 5 year; quota_reuse_cycle_type: 1 natural
# period (a month resets on the 1st), 2 subscription cycle (bought on the 15th, resets on the
# 15th) — the SDK's FreeResourceDetail.
DAY_CYCLE, MONTH_CYCLE = 2, 4
NATURAL_CYCLE, SUBSCRIPTION_CYCLE = 1, 2
USAGE_RECORD_DAYS_MAX = 90
# Every package of a customer is read to filter and page it in Huawei's terms; bounded.
PACKAGES_READ_MAX = 1000


def _status(b: PackageBalance) -> int:
    if b.state is PackageState.PENDING:
        return NOT_EFFECTIVE
    if b.state is PackageState.EXPIRED:
        return EXPIRED
    return USED_UP if b.remaining_e10 <= 0 else EFFECTIVE


def _reuse_cycle(p: ResourcePackage) -> dict[str, int | None]:
    """quota_reuse_cycle and its type, as they are true of the package's reset kind."""
    if p.reset_kind is ResetKind.MONTHLY_CALENDAR:
        cycle, kind = MONTH_CYCLE, NATURAL_CYCLE
    elif p.reset_kind is ResetKind.MONTHLY_PURCHASE_DAY:
        cycle, kind = MONTH_CYCLE, SUBSCRIPTION_CYCLE
    elif p.reset_kind is ResetKind.DAILY:
        # A day starting at local midnight is the natural day; one starting at another hour is
        # neither kind Huawei names, so the type is left out rather than said wrongly.
        cycle, kind = DAY_CYCLE, NATURAL_CYCLE if p.reset_hour == 0 else None
    else:
        cycle, kind = None, None
    return {"quota_reuse_cycle": cycle, "quota_reuse_cycle_type": kind}


def _package_view(index: CatalogIndex, b: PackageBalance) -> dict[str, Any]:
    p = b.package
    service = service_type_code(index, p.service) if p.service else None
    return {
        "order_instance_id": p.id,
        "order_id": None,
        "product_id": p.id,
        "product_name": p.name,
        "enterprise_project_id": "0",
        "enterprise_project_scope": 0,
        "effective_time": utc_text(p.valid_from),
        "expire_time": utc_text(p.valid_to),
        "status": _status(b),
        "service_type_code": service,
        "service_type_name": index.services[p.service].name
        if p.service in index.services
        else None,
        "region_code": p.region,
        "source_type": 0,
        "bundle_type": "ATOMIC_PKG",
        "quota_reuse_mode": NOT_RESETTABLE if p.reset_kind is ResetKind.NONE else RESETTABLE,
        "free_resources": [
            {
                # One package holds one usage type, so its item is the package itself.
                "free_resource_id": p.id,
                "usage_type_name": p.usage_type,
                "amount": str(quantity(b.remaining_e10)),
                "original_amount": str(quantity(p.quantity_e10)),
                "measure_id": unit_measure_id(index, p.pricing_unit),
            }
        ],
    }


class FreeResourceQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")
    region_code: str | None = Field(None, max_length=64)
    order_id: str | None = Field(None, max_length=64)
    product_id: str | None = Field(None, max_length=128)
    product_name: str | None = Field(None, max_length=256)
    enterprise_project_id: str | None = Field(None, max_length=64)
    status: int | None = Field(None, ge=0, le=4)
    offset: int = Field(0, ge=0, le=OFFSET_MAX)
    limit: int = Field(10, ge=1, le=PAGE_LIMIT_MAX)
    service_type_code_list: list[str] | None = Field(None, max_length=100)


def _all_packages(conn: Any, customer: Customer, now: datetime) -> list[PackageBalance]:
    packages, _total = benefits.list_packages(
        conn, customer.id, at=now, include_expired=True, limit=PACKAGES_READ_MAX
    )
    return packages


@router.post("/v3/payments/free-resources/query")
def list_free_resource_infos(
    request: Request, body: FreeResourceQuery, customer: Customer = Caller
) -> dict[str, Any]:
    index, packages = read(
        request, lambda conn, now: (catalog(conn), _all_packages(conn, customer, now))
    )
    wanted_services = None
    if body.service_type_code_list:
        wanted_services = {service_of_type_code(index, c) for c in body.service_type_code_list}

    def keep(b: PackageBalance) -> bool:
        p = b.package
        return (
            body.order_id in (None, "")  # granted packages have no order
            and body.enterprise_project_id in (None, "", "0")
            and (body.region_code is None or p.region == body.region_code)
            and (body.product_id is None or p.id == body.product_id)
            and (body.product_name is None or body.product_name in p.name)
            and (body.status is None or _status(b) == body.status)
            and (wanted_services is None or p.service in wanted_services)
        )

    kept = [b for b in packages if keep(b)]
    page = kept[body.offset : body.offset + body.limit]
    return {
        "free_resource_packages": [_package_view(index, b) for b in page],
        "total_count": len(kept),
    }


class FreeResourceUsageQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")
    free_resource_ids: list[str] = Field(min_length=1, max_length=100)


@router.post("/v2/payments/free-resources/usages/details/query")
def list_free_resource_usages(
    request: Request, body: FreeResourceUsageQuery, customer: Customer = Caller
) -> dict[str, Any]:
    if any(not is_record_id(i) or len(i) > 64 for i in body.free_resource_ids):
        raise bad_parameter("free_resource_ids: ids of at most 64 characters")
    index, packages = read(
        request, lambda conn, now: (catalog(conn), _all_packages(conn, customer, now))
    )
    mine = {b.package.id: b for b in packages}  # another customer's ids simply match nothing
    details = []
    for ident in dict.fromkeys(body.free_resource_ids):
        b = mine.get(ident)
        if b is None:
            continue
        details.append(
            {
                "free_resource_id": b.package.id,
                "free_resource_type_name": b.package.name,
                **_reuse_cycle(b.package),
                "usage_type_name": b.package.usage_type,
                "start_time": utc_text(b.period.start),
                "end_time": utc_text(b.period.end),
                "amount": quantity(b.remaining_e10),
                "original_amount": quantity(b.package.quantity_e10),
                "measure_id": unit_measure_id(index, b.package.pricing_unit),
            }
        )
    return {"free_resources": details}


def _deduct_period(customer: Customer, begin: str | None, end: str | None) -> Period | None:
    if begin is None and end is None:
        return None
    try:
        first, last = date.fromisoformat(begin or ""), date.fromisoformat(end or "")
    except ValueError:
        raise bad_parameter("deduct_time_begin and deduct_time_end: YYYY-MM-DD, both") from None
    if last < first or (last - first).days > USAGE_RECORD_DAYS_MAX:
        raise bad_parameter(
            f"deduct time range: begin <= end, at most {USAGE_RECORD_DAYS_MAX} days apart"
        )
    tz = zone(customer.timezone)
    after = last + timedelta(days=1)
    return Period(
        datetime(first.year, first.month, first.day, tzinfo=tz),
        datetime(after.year, after.month, after.day, tzinfo=tz),
    )


@router.get("/v2/bills/customer-bills/free-resources-usage-records")
def list_free_resources_usage_records(
    request: Request,
    customer: Customer = Caller,
    free_resource_id: str | None = Query(None, max_length=64),
    product_id: str | None = Query(None, max_length=64),
    resource_type_code: str | None = Query(None, max_length=128),
    deduct_time_begin: str | None = Query(None),
    deduct_time_end: str | None = Query(None),
    offset: int = Offset,
    limit: int = Limit,
) -> dict[str, Any]:
    period = _deduct_period(customer, deduct_time_begin, deduct_time_end)
    package = free_resource_id or product_id  # a package and its one item share the id
    if free_resource_id and product_id and free_resource_id != product_id:
        return {"free_resource_records": [], "total_count": 0}
    if package is not None and not is_record_id(package):
        return {"free_resource_records": [], "total_count": 0}

    def work(conn, _now):  # type: ignore[no-untyped-def]
        index = catalog(conn)
        uses, total = bills_repo.package_usage_page(
            conn, customer.id, package_id=package, period=period, limit=limit, offset=offset
        )
        return index, uses, total

    index, uses, total = read(request, work)
    if resource_type_code is not None:
        # Package usage does not record the resource type: a filter on it cannot be honoured
        # exactly, so it answers nothing rather than something unfiltered.
        uses, total = [], 0
    records = [
        {
            "deduct_time": utc_text(u.hour_start + timedelta(hours=1)),
            "free_resource_id": u.package_id,
            "resource_id": u.resource_id,
            "resource_type_code": None,
            "product_id": u.package_id,
            "product_name": u.package_name,
            "usage_type_code": u.usage_type,
            "used_amount": str(quantity(u.quantity_e10)),
            "measure_id": unit_measure_id(index, u.pricing_unit),
            "effective_time": utc_text(u.hour_start),
            "expire_time": utc_text(u.hour_start + timedelta(hours=1)),
        }
        for u in uses
    ]
    return {"free_resource_records": records, "total_count": total}
