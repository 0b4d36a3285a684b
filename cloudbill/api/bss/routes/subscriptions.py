"""Yearly/monthly resources: query, auto-renew, to pay-per-use at expiry and the renew
configuration (group 3 of docs/bss-api-map.md); renew and unsubscribe are in
subscription_orders.py, the renewal price inquiry in renew_rates.py."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from ....catalog.index import CatalogIndex
from ....customers.model import Customer
from ....kernel.limits import OFFSET_MAX
from ....resources import service as resources
from ....resources.model import ResourceStatus
from ....subscriptions import service as subscriptions
from ....subscriptions.rules import ExpirePolicy
from ....subscriptions.search import LIVE, Subscribed, SubscriptionFilter, search
from ..errors import BssError, bad_parameter
from ..jsonnum import ExactRoute
from . import renew_rates, subscription_orders
from .common import (
    PAGE_LIMIT_MAX,
    Caller,
    catalog,
    read,
    resource_type_name,
    service_name,
    service_of_type_code,
    service_type_code,
    utc_instant,
    utc_text,
    write,
)

router = APIRouter(route_class=ExactRoute)
router.include_router(subscription_orders.router)
router.include_router(renew_rates.router)

# Huawei's resource status codes in this group: 2 in use, 3 closed, 4 frozen, 5 expired.
STATUS_CODE = {
    ResourceStatus.NORMAL: 2,
    ResourceStatus.RELEASED: 3,
    ResourceStatus.FROZEN: 4,
    ResourceStatus.GRACE: 5,
}
STATUS_OF_CODE = {code: status for status, code in STATUS_CODE.items()}
# Huawei's expire policies: 0 grace period, 1 to pay-per-use, 2 deleted, 3 auto-renew.
POLICY_CODE = {
    ExpirePolicy.GRACE_THEN_RELEASE: 0,
    ExpirePolicy.TO_PAY_PER_USE: 1,
    ExpirePolicy.RELEASE: 2,
}
AUTO_RENEW_POLICY_CODE = 3
RESOURCE_IDS_MAX = 50
EXPIRED_OR_FROZEN = "CBC.99003602"  # auto-renew refused on an expired or frozen resource
AUTO_RENEW_NOT_ON = "CBC.99003605"  # auto-renew already cancelled
SUCCESS = "CBC.0000"


class QueryResources(BaseModel):
    model_config = ConfigDict(extra="ignore")
    resource_ids: list[str] | None = Field(None, max_length=RESOURCE_IDS_MAX)
    order_id: str | None = Field(None, min_length=1, max_length=64)
    only_main_resource: Literal[0, 1] = 0
    status_list: list[Literal[2, 3, 4, 5]] | None = Field(None, max_length=4)
    offset: int = Field(0, ge=0, le=OFFSET_MAX)
    limit: int = Field(10, ge=1, le=PAGE_LIMIT_MAX)
    expire_time_begin: str | None = None
    expire_time_end: str | None = None
    service_type_code: str | None = Field(None, min_length=1, max_length=128)
    customer_id: str | None = None  # a partner's sub-customer: not for a customer's own key


def _filter(index: CatalogIndex, body: QueryResources) -> SubscriptionFilter:
    services = None
    if body.service_type_code is not None:
        found = service_of_type_code(index, body.service_type_code)
        services = (found,) if found else ()  # an unknown service type matches nothing
    return SubscriptionFilter(
        statuses=tuple(STATUS_OF_CODE[c] for c in body.status_list) if body.status_list else LIVE,
        resource_ids=tuple(body.resource_ids) if body.resource_ids is not None else None,
        with_attached=body.only_main_resource == 0,
        main_only=body.only_main_resource == 1 and body.resource_ids is None,
        order_id=body.order_id,
        services=services,
        expire_from=utc_instant(body.expire_time_begin, "expire_time_begin"),
        expire_to=utc_instant(body.expire_time_end, "expire_time_end"),
    )


def _instance(index: CatalogIndex, item: Subscribed) -> dict[str, Any]:
    r, sub = item.resource, item.subscription
    policy = ExpirePolicy(sub.expire_policy)
    return {
        "id": r.id,
        "resource_id": r.id,
        "resource_name": r.name,
        "region_code": r.region,
        "service_type_code": service_type_code(index, r.service),
        "resource_type_code": r.resource_type,
        "resource_type_name": resource_type_name(index, r.resource_type),
        "service_type_name": service_name(index, r.service),
        "resource_spec_code": r.spec,
        "project_id": None,
        "product_id": f"{r.resource_type}:{r.spec}",
        "parent_resource_id": r.parent_id,
        "is_main_resource": 1 if r.parent_id is None else 0,
        "status": STATUS_CODE[r.status],
        "effective_time": utc_text(sub.first_paid_at or r.created_at),
        "expire_time": utc_text(r.expire_at),
        "expire_policy": AUTO_RENEW_POLICY_CODE if sub.auto_renew else POLICY_CODE[policy],
        "product_spec_desc": None,
        "spec_size": None,
        "spec_size_measure_id": None,
        "update_time": utc_text(sub.updated_at),
        "enterprise_project": None,
    }


@router.post("/v2/orders/suscriptions/resources/query")  # sic: Huawei's path
def list_pay_per_use_customer_resources(
    request: Request, body: QueryResources, customer: Customer = Caller
) -> dict[str, Any]:
    if body.customer_id not in (None, customer.id):
        # a partner's sub-customer: nothing, as ListCustomerOrders answers another customer
        return {"data": [], "total_count": 0}

    def work(conn, _now):  # type: ignore[no-untyped-def]
        index = catalog(conn)
        found, total = search(
            conn, customer.id, _filter(index, body), limit=body.limit, offset=body.offset
        )
        return {"data": [_instance(index, item) for item in found], "total_count": total}

    return read(request, work)


# -- auto-renew -----------------------------------------------------------------------------

AUTO_RENEW_PATH = "/v2/orders/subscriptions/resources/autorenew/{resource_id}"
AUTO_RENEW_UNIT = {"MONTH": "month", "YEAR": "year"}


class AutoRenew(BaseModel):
    model_config = ConfigDict(extra="ignore")
    auto_renew_times: int | None = Field(None, ge=0, le=99)
    period_type: Literal["MONTH", "YEAR"] | None = None


@router.post(AUTO_RENEW_PATH)
def auto_renewal_resources(
    request: Request, resource_id: str, body: AutoRenew | None = None, customer: Customer = Caller
) -> dict[str, Any]:
    body = body or AutoRenew()
    if body.auto_renew_times:
        raise bad_parameter(
            "auto_renew_times: cloudbill renews until auto-renew is cancelled; "
            "send 0 (unlimited) or leave it out"
        )
    unit = AUTO_RENEW_UNIT[body.period_type] if body.period_type else None

    def work(conn, now):  # type: ignore[no-untyped-def]
        subscriptions.get(conn, resource_id, customer_id=customer.id)
        r = resources.get(conn, resource_id)
        if r.status in (ResourceStatus.GRACE, ResourceStatus.FROZEN):
            raise BssError(400, EXPIRED_OR_FROZEN, f"resource {r.id} is {r.status}: renew it")
        subscriptions.set_auto_renew(
            conn,
            customer.id,
            r.id,
            enabled=True,
            period_unit=unit,
            period_count=1 if unit else None,
            now=now,
        )

    write(request, work)
    return {}


@router.delete(AUTO_RENEW_PATH)
def cancel_auto_renewal_resources(
    request: Request, resource_id: str, customer: Customer = Caller
) -> dict[str, Any]:
    def work(conn, now):  # type: ignore[no-untyped-def]
        sub = subscriptions.get(conn, resource_id, customer_id=customer.id)
        if not sub.auto_renew:
            raise BssError(400, AUTO_RENEW_NOT_ON, f"resource {resource_id} does not auto-renew")
        subscriptions.set_auto_renew(conn, customer.id, resource_id, enabled=False, now=now)

    write(request, work)
    return {}


# -- to pay-per-use at expiry -----------------------------------------------------------------


class PeriodToOnDemand(BaseModel):
    model_config = ConfigDict(extra="ignore")
    operation: Literal["SET_UP", "CANCEL"]
    resource_ids: list[str] = Field(min_length=1, max_length=100)


@router.post("/v2/orders/subscriptions/resources/to-on-demand")
def update_period_to_on_demand(
    request: Request, body: PeriodToOnDemand, customer: Customer = Caller
) -> dict[str, Any]:
    """All or nothing: one resource refused refuses the request and changes none."""
    if len(set(body.resource_ids)) != len(body.resource_ids):
        raise bad_parameter("resource_ids: a resource is named twice")

    def work(conn, now):  # type: ignore[no-untyped-def]
        for rid in body.resource_ids:
            sub = subscriptions.get(conn, rid, customer_id=customer.id)
            if body.operation == "SET_UP":
                policy = ExpirePolicy.TO_PAY_PER_USE
            elif sub.expire_policy == ExpirePolicy.TO_PAY_PER_USE:
                policy = ExpirePolicy.GRACE_THEN_RELEASE  # cancelled: back to the default
            else:
                continue  # not switching to pay-per-use: nothing to cancel
            subscriptions.set_expire_policy(conn, customer.id, rid, policy=policy, now=now)

    write(request, work)
    return {"error_details": []}


# -- renew configuration ----------------------------------------------------------------------


class RenewConfig(BaseModel):
    model_config = ConfigDict(extra="ignore")
    config_name: Literal["DEDUCTION_DATE", "EXPIRE_DATE"]
    config_value: str = Field(min_length=1, max_length=8)


@router.post("/v2/orders/subscriptions/resources/renew/config")
def set_resources_renew_config(
    request: Request, body: RenewConfig, customer: Customer = Caller
) -> dict[str, Any]:
    """DEDUCTION_DATE sets the customer's auto-renewal deduction day, 2 to 7 days before
    expiry, which the renewal job honours; EXPIRE_DATE the unified expiry day renewals extend
    to, 1 to 28 or -1 (the month's last day), as the SDK model documents."""
    if body.config_name == "DEDUCTION_DATE":
        if body.config_value not in {str(d) for d in range(2, 8)}:
            raise bad_parameter("config_value: DEDUCTION_DATE takes 2 to 7 days before expiry")
        days = int(body.config_value)
        write(
            request,
            lambda conn, now: subscriptions.set_deduction_days(conn, customer.id, days, now=now),
        )
    else:
        if body.config_value not in {*(str(d) for d in range(1, 29)), "-1"}:
            raise bad_parameter("config_value: EXPIRE_DATE takes a day from 1 to 28, or -1")
        day = int(body.config_value)
        write(
            request,
            lambda conn, now: subscriptions.set_unified_expiry_day(conn, customer.id, day, now=now),
        )
    return {"error_code": SUCCESS, "error_msg": "success"}
