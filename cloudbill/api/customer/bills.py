"""Customer routes: monthly bills and their CSV export, fee records, package usage, trend."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse

from ...bills.model import TREND_MONTHS_MAX
from ...bootstrap import Container
from ..deps import container
from ..keyauth import KeyCaller
from ..shared import bills as shared
from ..shared import costs as shared_costs
from ..shared.bills import FeeFilters, Member, fee_filters
from ..shared.params import MONTH_DOC, Limit, Offset
from .auth import caller

router = APIRouter(tags=["bills"])


@router.get("/bills/{month}")
def monthly_summary(
    month: str,
    member_id: str | None = Member,
    me: KeyCaller = Depends(caller),
    c: Container = Depends(container),
) -> Any:
    """The month's bill (YYYY-MM in your time zone): every fee, order, refund and adjustment;
    totals and lines by service, resource type, billing mode and bill type, with the rounding
    that makes the lines add up. An enterprise master's bill holds its unified members' records
    (by_customer_id lines); `member_id` shows one member's own."""
    return shared.monthly_summary(c, me.customer.id, month, member_id)


@router.get(
    "/bills/{month}/export.csv",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
def export_csv(
    month: str,
    member_id: str | None = Member,
    me: KeyCaller = Depends(caller),
    c: Container = Depends(container),
) -> Any:
    """Every fee record of the month as CSV (a customer_id column names each consumer)."""
    return shared.export_csv(c, me.customer.id, month, member_id)


@router.get("/fee-records")
def fee_records(
    filters: FeeFilters = Depends(fee_filters),
    me: KeyCaller = Depends(caller),
    c: Container = Depends(container),
) -> dict[str, Any]:
    """Your fee records per hour, or summed per day or per resource."""
    return shared.fee_records(c, me.customer.id, filters)


@router.get("/package-usage")
def package_usage(
    package_id: str | None = None,
    month: str | None = Query(None, description=MONTH_DOC),
    limit: int = Limit,
    offset: int = Offset,
    me: KeyCaller = Depends(caller),
    c: Container = Depends(container),
) -> dict[str, Any]:
    """What your resource packages covered, hour by hour."""
    return shared.package_usage(
        c, me.customer.id, package_id=package_id, month=month, limit=limit, offset=offset
    )


@router.get("/expenditure-trend")
def expenditure_trend(
    months: int = Query(6, ge=1, le=TREND_MONTHS_MAX),
    member_id: str | None = Member,
    me: KeyCaller = Depends(caller),
    c: Container = Depends(container),
) -> dict[str, Any]:
    """Amount and net amount of the last N months, zeros included."""
    return shared.expenditure_trend(c, me.customer.id, months, member_id)


@router.get("/costs")
def costs(
    params: shared_costs.CostParams = Depends(shared_costs.cost_params),
    me: KeyCaller = Depends(caller),
    c: Container = Depends(container),
) -> dict[str, Any]:
    """Your original or amortized costs by day or month, grouped by up to two dimensions,
    filtered in (`include`) or out (`exclude`): README, Cost analysis."""
    return shared_costs.costs(c, me.customer.id, params)
