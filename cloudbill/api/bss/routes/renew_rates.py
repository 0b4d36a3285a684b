"""The renewal price inquiry (group 7 of docs/bss-api-map.md): what renewing each of the
customer's yearly/monthly resources for a period would cost, priced exactly as the renewal
order prices it (orders/pricing.py, the operator's rounding)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Connection, select

from ....catalog.index import CatalogIndex
from ....catalog.model import BillingMode
from ....catalog.pricing import Quote
from ....customers.model import Customer
from ....kernel.errors import CloudbillError, ErrorCode
from ....orders.pricing import period_quote
from ....orders.service import Terms
from ....resources import service as resources
from ....resources.model import Resource, ResourceStatus
from ....resources.repo import to_resource
from ....store.schema import resource
from ....subscriptions import rules as sub_rules
from ..errors import BssError
from ..jsonnum import ExactRoute
from .common import Caller, catalog, order_terms, read
from .ratings import (
    DUPLICATE_IDS,
    PERIOD_UNIT,
    discount_offer,
    group_by_discount,
    total_amounts,
)

router = APIRouter(route_class=ExactRoute)
RESOURCE_IDS_MAX = 10
ATTACHED_MAX = 100  # resources attached to one resource priced with it
NO_SUCH_RESOURCE = "CBC.30050009"  # does not exist, or was deleted after expiry
PERIOD_NOT_AVAILABLE = "CBC.30050008"


class RenewRate(BaseModel):
    model_config = ConfigDict(extra="ignore")
    resource_ids: list[str] = Field(min_length=1, max_length=RESOURCE_IDS_MAX)
    period_type: Literal[2, 3]
    period_num: int = Field(ge=1)
    include_relative_resources: bool = False


class _Failed(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def _renewable(conn: Connection, customer: Customer, resource_id: str) -> Resource:
    """The customer's subscribed resource; anyone else's answers as one that does not exist."""
    try:
        r = resources.get(conn, resource_id, customer_id=customer.id)
    except CloudbillError:
        r = None
    if r is None or r.status is ResourceStatus.RELEASED or r.billing_mode != "yearly_monthly":
        raise _Failed(NO_SUCH_RESOURCE, f"no yearly/monthly resource {resource_id!r}")
    return r


def _attached(conn: Connection, r: Resource) -> list[Resource]:
    rows = conn.execute(
        select(resource)
        .where(
            resource.c.parent_id == r.id,
            resource.c.customer_id == r.customer_id,
            resource.c.billing_mode == str(BillingMode.YEARLY_MONTHLY),
            resource.c.status != str(ResourceStatus.RELEASED),
        )
        .order_by(resource.c.id)
        .limit(ATTACHED_MAX)
    ).all()
    return [to_resource(row) for row in rows]


def _price(
    index: CatalogIndex, customer: Customer, r: Resource, body: RenewRate, terms: Terms
) -> Quote:
    try:
        return period_quote(
            index,
            customer,
            resource_type=r.resource_type,
            spec=r.spec,
            period_unit=str(PERIOD_UNIT[body.period_type]),
            period_count=body.period_num,
            rounding=terms.rounding,
        )
    except CloudbillError as exc:
        if exc.code is ErrorCode.CATALOG_ITEM_NOT_FOUND:
            raise _Failed(PERIOD_NOT_AVAILABLE, exc.message) from None
        raise


@router.post("/v2/bills/ratings/period-resources/renew-rate")
def list_renew_rate_on_period(
    request: Request, body: RenewRate, customer: Customer = Caller
) -> dict[str, Any]:
    """Per resource (with its attached resources when asked), its renewal amount; resources
    that cannot be priced are listed as failures, the others still answered."""
    if len(set(body.resource_ids)) != len(body.resource_ids):
        raise BssError(400, DUPLICATE_IDS, "resource_ids: a resource is named twice")
    sub_rules.check_period(str(PERIOD_UNIT[body.period_type]), body.period_num)
    terms = order_terms(request)

    def work(conn, _now):  # type: ignore[no-untyped-def]
        index = catalog(conn)
        priced: list[tuple[str, Quote]] = []
        results, failed = [], []
        for rid in body.resource_ids:
            try:
                r = _renewable(conn, customer, rid)
                group = [r, *(_attached(conn, r) if body.include_relative_resources else [])]
                quotes = [_price(index, customer, x, body, terms) for x in group]
            except _Failed as exc:
                failed.append(
                    {"error_code": exc.code, "error_msg": exc.message, "resource_id": rid}
                )
                continue
            priced.extend((rid, q) for q in quotes)
            results.append({"resource_id": rid, "amount": total_amounts(quotes)["amount"]})
        return priced, results, failed

    priced, results, failed = read(request, work)
    quotes = [q for _rid, q in priced]
    return {
        "currency": customer.currency,
        "renew_inquiry_results": results,
        "official_website_rating_result": {
            "official_website_amount": total_amounts(quotes)["official_website_amount"]
        },
        "optional_discount_rating_results": [
            discount_offer(discount_id, [q for _rid, q in items])
            for discount_id, items in group_by_discount(priced).items()
        ],
        "fail_resource_infos": failed,
    }
