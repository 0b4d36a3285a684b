"""Product catalog queries (group 8 of the map), answered from the active catalog version."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request

from ....catalog.index import CatalogIndex
from ....catalog.model import Dimension, MeasureUnit
from ....customers.model import Customer
from ..jsonnum import ExactRoute
from .common import MONEY_MEASURE_ID, Caller, Limit, Offset, catalog, read, service_type_code

router = APIRouter(route_class=ExactRoute)
# Huawei measure types per catalog dimension: 2 duration, 3 traffic, 4 quantity, 17 capacity-time.
MEASURE_TYPE = {
    Dimension.TIME: 2,
    Dimension.DATA: 3,
    Dimension.COUNT: 4,
    Dimension.DATA_TIME: 17,
}
CURRENCY_MEASURE_TYPE = 1


def _index(request: Request) -> CatalogIndex:
    return read(request, lambda conn, _now: catalog(conn))


def _page(items: list[Any], offset: int, limit: int) -> list[Any]:
    return items[offset : offset + limit]


@router.get("/v2/products/service-types")
def list_service_types(
    request: Request,
    _customer: Customer = Caller,
    offset: int = Offset,
    limit: int = Limit,
    service_type_name: str | None = Query(None, min_length=1, max_length=128),
) -> dict[str, Any]:
    index = _index(request)
    items = [
        {
            "service_type_name": s.name,
            "service_type_code": service_type_code(index, s.code),
            "abbreviation": s.code.upper(),
        }
        for s in index.services.values()
        if service_type_name is None or service_type_name.lower() in s.name.lower()
    ]
    return {"total_count": len(items), "service_types": _page(items, offset, limit)}


def _resource_types(index: CatalogIndex, service_code: str | None) -> list[tuple[Any, Any]]:
    wanted = None if service_code is None else service_code.lower()
    return [
        (service, rtype)
        for service, rtype in index.resource_types.values()
        if wanted is None or wanted == service_type_code(index, service.code).lower()
    ]


@router.get("/v2/products/resource-types")
def list_resource_types(
    request: Request,
    _customer: Customer = Caller,
    offset: int = Offset,
    limit: int = Limit,
) -> dict[str, Any]:
    index = _index(request)
    items = [
        {
            "resource_type_code": rtype.code,
            "resource_type_name": rtype.name,
            "resource_type_desc": rtype.name,
            "service_type_code": service_type_code(index, service.code),
        }
        for service, rtype in _resource_types(index, None)
    ]
    return {"total_count": len(items), "resource_types": _page(items, offset, limit)}


@router.get("/v2/products/service-resources")
def list_service_resources(
    request: Request,
    _customer: Customer = Caller,
    service_type_code: str | None = Query(None, max_length=128),
    offset: int = Offset,
    limit: int = Limit,
) -> dict[str, Any]:
    index = _index(request)
    items = [
        {
            "basic_info": {
                "resource_type_code": rtype.code,
                "product_owner_service": _service_code(index, service.code),
                "name": rtype.name,
                "description": rtype.name,
            }
        }
        for service, rtype in _resource_types(index, service_type_code)
    ]
    return {"total_count": len(items), "infos": _page(items, offset, limit)}


def _service_code(index: CatalogIndex, code: str) -> str:
    return service_type_code(index, code)


@router.get("/v2/products/usage-types")
def list_usage_types(
    request: Request,
    _customer: Customer = Caller,
    resource_type_code: str | None = Query(None, max_length=128),
    offset: int = Offset,
    limit: int = Limit,
) -> dict[str, Any]:
    index = _index(request)
    items = []
    for service, rtype in _resource_types(index, None):
        if resource_type_code is not None and rtype.code != resource_type_code:
            continue
        for code in rtype.usage_types:
            usage = index.usage_types[code]
            items.append(
                {
                    # The code the rating API's usage_factor takes (Huawei's where it has one).
                    "code": usage.huawei_code or usage.code,
                    "name": usage.name,
                    "resource_type_code": rtype.code,
                    "service_type_code": service_type_code(index, service.code),
                    "resource_type_name": rtype.name,
                    "service_type_name": service.name,
                }
            )
    return {"total_count": len(items), "usage_types": _page(items, offset, limit)}


def _huawei_units(index: CatalogIndex) -> list[MeasureUnit]:
    return [u for u in index.units.values() if u.huawei_measure_id is not None]


@router.get("/v2/bases/measurements")
def list_measure_units(request: Request, _customer: Customer = Caller) -> dict[str, Any]:
    index = _index(request)
    units = [
        {
            "measure_id": MONEY_MEASURE_ID,
            "measure_name": "currency (major unit)",
            "abbreviation": "CUR",
            "measure_type": CURRENCY_MEASURE_TYPE,
        }
    ]
    units += [
        {
            "measure_id": u.huawei_measure_id,
            "measure_name": u.name,
            "abbreviation": u.code,
            "measure_type": MEASURE_TYPE.get(u.dimension),
        }
        for u in _huawei_units(index)
    ]
    return {"measure_units": units}


@router.get("/v2/bases/conversions")
def list_conversions(
    request: Request,
    _customer: Customer = Caller,
    measure_type: int | None = Query(None, ge=0, le=1000),
) -> dict[str, Any]:
    """Every pair of catalog units of one dimension whose ratio is a whole number (GB -> MB:
    1024), in Huawei's measure ids."""
    index = _index(request)
    units = _huawei_units(index)
    conversions = []
    for big in units:
        for small in units:
            kind = MEASURE_TYPE.get(big.dimension)
            if big.dimension != small.dimension or big.factor <= small.factor:
                continue
            ratio = big.factor / small.factor
            if ratio != ratio.to_integral_value() or (measure_type not in (None, kind)):
                continue
            conversions.append(
                {
                    "measure_id": big.huawei_measure_id,
                    "ref_measure_id": small.huawei_measure_id,
                    "conversion_ratio": int(ratio),
                    "measure_type": kind,
                }
            )
    return {"conversions": conversions}
