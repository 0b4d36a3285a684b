"""The catalog's specs (ListResourceSpecs) and their official prices (ListResourceSpecsPrice),
answered from the active catalog version in the calling customer's currency.

The catalog prices a spec the same in every region, so `region_code` is echoed, never used to
filter. Paging is by `marker`: the position of the next item, as text, as Huawei's opaque
`next_marker` is only ever sent back.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from ....catalog.index import CatalogIndex, SpecRef
from ....catalog.model import BillingMode, PeriodUnit, SpecPrices
from ....catalog.service import MAX_PERIOD_COUNT
from ....customers.model import Customer
from ..errors import bad_parameter
from ..jsonnum import ExactRoute
from .common import CHARGE_MODE, Caller, catalog, read, service_of_type_code, service_type_code

router = APIRouter(route_class=ExactRoute)
CODE_MAX = 64
SPECS_LIMIT_MAX = 100
PRICES_LIMIT_MAX = 50
# Huawei's charging modes of a price item (PERIOD yearly/monthly, ON_DEMAND pay-per-use; the
# catalog sells neither one-off items nor on-demand packages, so those filters match nothing).
CHARGING_MODES = ("PERIOD", "ON_DEMAND", "ONE_TIME", "ON_DEMAND_PKG")
PERIOD_TYPE = {PeriodUnit.MONTH: 2, PeriodUnit.YEAR: 3}  # price item period types
HOUR_PERIOD_TYPE = 4  # a pay-per-use unit price is billed by the hour
MONTHS = {PeriodUnit.MONTH: 1, PeriodUnit.YEAR: 12}


class _Filter(BaseModel):
    model_config = ConfigDict(extra="ignore")
    key: str = Field(min_length=1, max_length=CODE_MAX)
    value: str = Field(min_length=1, max_length=128)


class SpecsQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")
    cloud_service_type: str = Field(min_length=1, max_length=CODE_MAX)
    resource_type: str = Field(min_length=1, max_length=CODE_MAX)
    region_code: str = Field(min_length=1, max_length=CODE_MAX)
    charge_mode: Literal["1", "3"]
    filters: list[_Filter] | None = Field(None, max_length=1)
    marker: str | None = Field(None, max_length=16)
    limit: int = Field(SPECS_LIMIT_MAX, ge=1, le=SPECS_LIMIT_MAX)


class PricesQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")
    cloud_service_type: str | None = Field(None, min_length=1, max_length=CODE_MAX)
    resource_type: str | None = Field(None, min_length=1, max_length=CODE_MAX)
    region_code: str = Field(min_length=1, max_length=CODE_MAX)
    filters: list[_Filter] | None = Field(None, max_length=1)
    need_attributes: bool = False
    need_price: bool = False
    marker: str | None = Field(None, max_length=16)
    limit: int = Field(PRICES_LIMIT_MAX, ge=1, le=PRICES_LIMIT_MAX)


def _start(marker: str | None) -> int:
    if marker is None:
        return 0
    if not marker.isdigit():
        raise bad_parameter("marker: send back the next_marker of the previous page")
    return int(marker)


def _page(items: list[Any], marker: str | None, limit: int) -> tuple[list[Any], str | None]:
    start = _start(marker)
    end = start + limit
    return items[start:end], (str(end) if end < len(items) else None)


def _sold(ref: SpecRef, mode: BillingMode, currency: str) -> bool:
    """Whether the spec can be bought in this billing mode and currency."""
    prices = ref.spec.prices.get(currency)
    if prices is None or mode not in ref.resource_type.billing_modes:
        return False
    if mode is BillingMode.PAY_PER_USE:
        return bool(prices.pay_per_use)
    return prices.monthly is not None


def _names(index: CatalogIndex, ref: SpecRef) -> dict[str, Any]:
    return {
        "cloud_service_type": service_type_code(index, ref.service.code),
        "cloud_service_type_name": ref.service.name,
        "resource_type": ref.resource_type.code,
        "resource_type_name": ref.resource_type.name,
        "resource_spec": ref.spec.code,
        "resource_spec_name": ref.spec.name,
    }


def _refs(index: CatalogIndex, service_code: str | None, resource_type: str | None) -> list[Any]:
    service = None if service_code is None else service_of_type_code(index, service_code)
    if service_code is not None and service is None:
        raise bad_parameter(f"cloud_service_type {service_code!r} is not a service of the catalog")
    if resource_type is not None and resource_type not in index.resource_types:
        raise bad_parameter(f"resource_type {resource_type!r} is not a type of the catalog")
    return [
        ref
        for ref in index.specs.values()
        if (service is None or ref.service.code == service)
        and (resource_type is None or ref.resource_type.code == resource_type)
    ]


@router.post("/v2/products/resource-specs-query")
def list_resource_specs(
    request: Request, body: SpecsQuery, customer: Customer = Caller
) -> dict[str, Any]:
    spec_filter = None
    for f in body.filters or ():
        if f.key != "RESOURCE_SPEC":
            raise bad_parameter("filters.key: only RESOURCE_SPEC")
        spec_filter = f.value
    mode = BillingMode.YEARLY_MONTHLY if body.charge_mode == "1" else BillingMode.PAY_PER_USE
    index = read(request, lambda conn, _now: catalog(conn))
    region = body.region_code
    items = [
        {**_names(index, ref), "charge_mode": str(CHARGE_MODE[mode]), "region_code": region}
        for ref in _refs(index, body.cloud_service_type, body.resource_type)
        if _sold(ref, mode, customer.currency) and spec_filter in (None, ref.spec.code)
    ]
    page, next_marker = _page(items, body.marker, body.limit)
    return {"page_info": {"next_marker": next_marker}, "cloud_service_basics": page}


def price_items(ref: SpecRef, prices: SpecPrices, currency: str) -> list[dict[str, Any]]:
    """The spec's official prices as Huawei's price items: one per usage type (pay-per-use,
    per pricing unit; a tiered price by its first tier) and one per period unit (the official
    price of one month or one year, before any discount, as inquiries compute it)."""
    base = ref.resource_type.code + ":" + ref.spec.code
    items = []
    for usage, price in sorted(prices.pay_per_use.items()):
        unit_price = price.price if price.tiers is None else price.tiers[0].price
        items.append(
            {
                "offering_id": f"{base}:ON_DEMAND:{usage}",
                "currency": currency,
                "official_price": str(unit_price),
                "charging_mode": "ON_DEMAND",
                "period_type": HOUR_PERIOD_TYPE,
                "period_nums": [1],
                "billing_usage_factor": usage,
            }
        )
    if prices.monthly is not None:
        for unit in (PeriodUnit.MONTH, PeriodUnit.YEAR):
            items.append(
                {
                    "offering_id": f"{base}:PERIOD:{unit}",
                    "currency": currency,
                    "official_price": str(prices.monthly * MONTHS[unit]),
                    "charging_mode": "PERIOD",
                    "period_type": PERIOD_TYPE[unit],
                    "period_nums": list(range(1, MAX_PERIOD_COUNT[unit] + 1)),
                    "billing_usage_factor": None,
                }
            )
    return items


def _price_filter(body: PricesQuery) -> tuple[str | None, str | None]:
    spec = charging = None
    for f in body.filters or ():
        if f.key == "RESOURCE_SPEC":
            spec = f.value
        elif f.key == "CHARGING_MODE" and f.value in CHARGING_MODES:
            charging = f.value
        else:
            raise bad_parameter(
                "filters: RESOURCE_SPEC, or CHARGING_MODE with one of " + ", ".join(CHARGING_MODES)
            )
    return spec, charging


@router.post("/v2/products/resource-specs-price/query")
def list_resource_specs_price(
    request: Request, body: PricesQuery, customer: Customer = Caller
) -> dict[str, Any]:
    spec, charging = _price_filter(body)
    index = read(request, lambda conn, _now: catalog(conn))
    infos = []
    for ref in _refs(index, body.cloud_service_type, body.resource_type):
        prices = ref.spec.prices.get(customer.currency)
        if prices is None or spec not in (None, ref.spec.code):
            continue
        items = [
            i for i in price_items(ref, prices, customer.currency)
            if charging in (None, i["charging_mode"])
        ]  # fmt: skip
        if not items:
            continue
        info = _names(index, ref)
        if body.need_attributes:
            info["attributes"] = []  # the catalog has no spec attributes beyond its name
        if body.need_price:
            info["price_lists"] = items
        infos.append(info)
    page, next_marker = _page(infos, body.marker, body.limit)
    return {
        "page_info": {"next_marker": next_marker},
        "region_code": body.region_code,
        "resource_spec_infos": page,
    }
