"""One customer's original or amortized costs, for the customer and operator APIs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import Query

from ...bootstrap import Container
from ...costs import service
from ...costs.views import cost_view

DIMENSION_DOC = (
    "service, resource_type, region, billing_mode, usage_type, bill_type, spec, resource"
)


@dataclass(frozen=True, slots=True)
class CostParams:
    first: str
    last: str
    granularity: str
    cost_type: str
    amount_type: str
    group_by: list[str]
    include: list[str]
    exclude: list[str]


def cost_params(
    first: str = Query(..., description="YYYY-MM-DD by day, YYYY-MM by month (your time zone)"),
    last: str = Query(..., description="the last day or month, included"),
    granularity: str = Query("month", description="day (at most 90 days) or month (at most 18)"),
    cost_type: str = Query("original", description="original or amortized"),
    amount_type: str = Query("amount", description="amount (amount due) or net"),
    group_by: list[str] = Query([], max_length=2, description=f"up to two of: {DIMENSION_DOC}"),
    include: list[str] = Query([], max_length=8, description="dimension=value[,value…]"),
    exclude: list[str] = Query([], max_length=8, description="dimension=value[,value…]"),
) -> CostParams:
    return CostParams(first, last, granularity, cost_type, amount_type, group_by, include, exclude)


def costs(c: Container, customer_id: str, p: CostParams) -> dict[str, Any]:
    query = service.query_of(
        first=p.first, last=p.last, granularity=p.granularity, cost_type=p.cost_type,
        amount_type=p.amount_type, group_by=p.group_by,
        filters=service.filters_of_text(p.include, p.exclude),
    )  # fmt: skip
    report = c.read(lambda conn, _now: service.costs(conn, customer_id, query))
    return cost_view(customer_id, report)
