"""Price inquiries: pay-per-use and yearly/monthly subscription (group 7 of the map), priced by
the catalog with the calling customer's best discount, exactly as settlement and orders would."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, TypeVar

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from ....catalog import service as catalog_service
from ....catalog.index import CatalogIndex
from ....catalog.model import PeriodUnit
from ....catalog.pricing import Quote
from ....customers.model import Customer
from ....kernel.errors import CloudbillError, ErrorCode
from ..errors import BssError, bad_parameter
from ..jsonnum import ExactRoute
from .common import MONEY_MEASURE_ID, Caller, catalog, read

router = APIRouter(route_class=ExactRoute)
PRODUCTS_MAX = 100
DUPLICATE_IDS = "CBC.30050012"
PERIOD_UNIT = {2: PeriodUnit.MONTH, 3: PeriodUnit.YEAR}  # Huawei period types 2 month, 3 year
T = TypeVar("T")


class _Product(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: str = Field(min_length=1, max_length=64)
    cloud_service_type: str | None = Field(None, max_length=128)
    resource_type: str = Field(min_length=1, max_length=128)
    resource_spec: str = Field(min_length=1, max_length=128)
    region: str = Field(min_length=1, max_length=64)
    available_zone: str | None = Field(None, max_length=64)
    resource_size: int | None = Field(None, ge=1, le=1_000_000)
    size_measure_id: int | None = None
    subscription_num: int = Field(1, ge=1, le=1000)


class DemandProduct(_Product):
    usage_factor: str = Field(min_length=1, max_length=64)
    usage_value: Decimal = Field(ge=0, le=Decimal(10) ** 12)
    usage_measure_id: int


class RateOnDemand(BaseModel):
    model_config = ConfigDict(extra="ignore")
    project_id: str = Field(min_length=1, max_length=64)
    inquiry_precision: int | None = Field(None, ge=0, le=1)
    product_infos: list[DemandProduct] = Field(min_length=1, max_length=PRODUCTS_MAX)


class PeriodProduct(_Product):
    period_type: int
    period_num: int = Field(ge=1)
    fee_installment_mode: str | None = None


class RateOnPeriod(BaseModel):
    model_config = ConfigDict(extra="ignore")
    project_id: str = Field(min_length=1, max_length=64)
    product_infos: list[PeriodProduct] = Field(min_length=1, max_length=PRODUCTS_MAX)


def _unique_ids(products: list[Any]) -> None:
    if len({p.id for p in products}) != len(products):
        raise BssError(400, DUPLICATE_IDS, "product ids must be unique within one inquiry")


def _spec(index: CatalogIndex, p: _Product) -> str:
    """Huawei appends the OS to ECS flavors (`s6.large.2.linux`); the catalog prices flavors."""
    if (p.resource_type, p.resource_spec) not in index.specs:
        for suffix in (".linux", ".win"):
            base = p.resource_spec.removesuffix(suffix)
            if base != p.resource_spec and (p.resource_type, base) in index.specs:
                return base
    return p.resource_spec


def _usage_type(index: CatalogIndex, factor: str) -> str:
    for usage in index.usage_types.values():
        if factor.lower() in (usage.code.lower(), (usage.huawei_code or "").lower()):
            return usage.code
    raise bad_parameter(f"usage_factor {factor!r} is not a usage type of the catalog")


def _unit(index: CatalogIndex, measure_id: int) -> str:
    for unit in index.units.values():
        if unit.huawei_measure_id == measure_id:
            return unit.code
    raise bad_parameter(f"usage_measure_id {measure_id} is not a measure unit of the catalog")


def quote_amounts(q: Quote) -> dict[str, Decimal]:
    return {
        "amount": q.amount.to_decimal(),
        "discount_amount": q.discount.to_decimal(),
        "official_website_amount": q.official.to_decimal(),
    }


def total_amounts(quotes: list[Quote]) -> dict[str, Decimal]:
    total = {"amount": Decimal(0), "discount_amount": Decimal(0)}
    total["official_website_amount"] = Decimal(0)
    for q in quotes:
        for key, value in quote_amounts(q).items():
            total[key] += value
    return total


@router.post("/v2/bills/ratings/on-demand-resources")
def list_on_demand_resource_ratings(
    request: Request, body: RateOnDemand, customer: Customer = Caller
) -> dict[str, Any]:
    _unique_ids(body.product_infos)

    def work(conn, _now):  # type: ignore[no-untyped-def]
        index = catalog(conn)
        quotes = []
        for p in body.product_infos:
            quote, _qty, _pricing_unit = catalog_service.inquire_pay_per_use(
                index,
                resource_type=p.resource_type,
                spec=_spec(index, p),
                usage_type=_usage_type(index, p.usage_factor),
                quantity=p.usage_value * p.subscription_num,
                unit=_unit(index, p.usage_measure_id),
                currency=customer.currency,
                customer_id=customer.id,
                customer_level=customer.level,
            )
            quotes.append(quote)
        return quotes

    quotes = _catalog_read(request, work)
    results = [
        {
            "id": p.id,
            "product_id": f"{p.resource_type}:{p.resource_spec}",
            **quote_amounts(q),
            "measure_id": MONEY_MEASURE_ID,
            "discount_rating_results": _discounts(q),
        }
        for p, q in zip(body.product_infos, quotes, strict=True)
    ]
    return {
        **total_amounts(quotes),
        "measure_id": MONEY_MEASURE_ID,
        "currency": customer.currency,
        "product_rating_results": results,
    }


def _discounts(q: Quote) -> list[dict[str, Any]]:
    if q.discount_id is None:
        return []
    return [
        {
            "discount_id": q.discount_id,
            "amount": q.discount.to_decimal(),
            "measure_id": MONEY_MEASURE_ID,
            "discount_name": q.discount_name or q.discount_id,
        }
    ]


def _catalog_read(request: Request, work: Any) -> Any:
    try:
        return read(request, work)
    except CloudbillError as exc:
        if exc.code in (ErrorCode.CATALOG_ITEM_NOT_FOUND, ErrorCode.NO_CATALOG):
            raise bad_parameter(exc.message) from None
        raise


@router.post("/v2/bills/ratings/period-resources/subscribe-rate")
def list_rate_on_period_detail(
    request: Request, body: RateOnPeriod, customer: Customer = Caller
) -> dict[str, Any]:
    _unique_ids(body.product_infos)
    for p in body.product_infos:
        if p.period_type not in PERIOD_UNIT:
            raise bad_parameter("period_type: cloudbill sells by month (2) or year (3)")
    rounding = request.app.state.container.settings.bill_rounding

    def work(conn, _now):  # type: ignore[no-untyped-def]
        index = catalog(conn)
        return [
            catalog_service.inquire_period(
                index,
                resource_type=p.resource_type,
                spec=_spec(index, p),
                period_unit=PERIOD_UNIT[p.period_type],
                period_count=p.period_num,
                subscriptions=p.subscription_num,
                currency=customer.currency,
                rounding=rounding,
                customer_id=customer.id,
                customer_level=customer.level,
            )
            for p in body.product_infos
        ]

    quotes = _catalog_read(request, work)
    pairs = list(zip(body.product_infos, quotes, strict=True))
    official = {
        "official_website_amount": total_amounts(quotes)["official_website_amount"],
        "measure_id": MONEY_MEASURE_ID,
        "product_rating_results": [
            {
                "id": p.id,
                "product_id": f"{p.resource_type}:{p.resource_spec}",
                "official_website_amount": q.official.to_decimal(),
                "measure_id": MONEY_MEASURE_ID,
            }
            for p, q in pairs
        ],
    }
    return {
        "official_website_rating_result": official,
        "optional_discount_rating_results": _optional_discounts(pairs),
        "currency": customer.currency,
    }


def group_by_discount(pairs: list[tuple[T, Quote]]) -> dict[str, list[tuple[T, Quote]]]:
    """The priced items under each discount that applies to them."""
    by_discount: dict[str, list[tuple[T, Quote]]] = {}
    for item, q in pairs:
        if q.discount_id is not None:
            by_discount.setdefault(q.discount_id, []).append((item, q))
    return by_discount


def discount_offer(discount_id: str, quotes: list[Quote]) -> dict[str, Any]:
    """One optional discount's result over the quotes it applies to; the catalog's one best
    discount per product is the only offer, so each is the best offer."""
    return {
        "discount_id": discount_id,
        **total_amounts(quotes),
        "discount_name": quotes[0].discount_name or discount_id,
        "best_offer": 1,
    }


def _optional_discounts(pairs: list[tuple[PeriodProduct, Quote]]) -> list[dict[str, Any]]:
    return [
        {
            **discount_offer(discount_id, [q for _p, q in items]),
            "measure_id": MONEY_MEASURE_ID,
            "product_rating_results": [
                {
                    "id": p.id,
                    "product_id": f"{p.resource_type}:{p.resource_spec}",
                    **quote_amounts(q),
                    "measure_id": MONEY_MEASURE_ID,
                }
                for p, q in items
            ],
        }
        for discount_id, items in group_by_discount(pairs).items()
    ]
