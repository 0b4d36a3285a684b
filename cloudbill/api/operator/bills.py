"""Operator routes: bills, fee records, expenditure trend, exports."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query

from ...bills.model import TREND_MONTHS_MAX
from ...bootstrap import Container
from ..deps import container, require_operator
from ..shared import bills as shared
from ..shared import costs as shared_costs
from ..shared.bills import FeeFilters, fee_filters
from ..shared.params import MONTH_DOC, Limit, Offset

router = APIRouter(tags=["bills"], dependencies=[Depends(require_operator)])


@router.get("/customers/{customer_id}/bills/{month}")
def monthly_summary(customer_id: str, month: str, c: Container = Depends(container)) -> Any:
    """The month's bill (usage fees, orders, refunds, adjustments): totals (each rounded once),
    and lines by service, resource type, billing mode and bill type, each breakdown with the
    rounding adjustment that makes its lines add up."""
    return shared.monthly_summary(c, customer_id, month)


@router.get("/customers/{customer_id}/fee-records")
def fee_records(
    customer_id: str,
    filters: FeeFilters = Depends(fee_filters),
    c: Container = Depends(container),
) -> dict[str, Any]:
    return shared.fee_records(c, customer_id, filters)


@router.get("/customers/{customer_id}/package-usage")
def package_usage(
    customer_id: str,
    package_id: str | None = None,
    month: str | None = Query(None, description=MONTH_DOC),
    limit: int = Limit,
    offset: int = Offset,
    c: Container = Depends(container),
) -> dict[str, Any]:
    return shared.package_usage(
        c, customer_id, package_id=package_id, month=month, limit=limit, offset=offset
    )


@router.get("/customers/{customer_id}/expenditure-trend")
def expenditure_trend(
    customer_id: str,
    months: int = Query(6, ge=1, le=TREND_MONTHS_MAX),
    c: Container = Depends(container),
) -> dict[str, Any]:
    """Amount and net amount (amount minus cash coupons) of the last N months, zeros included."""
    return shared.expenditure_trend(c, customer_id, months)


@router.get("/customers/{customer_id}/costs")
def costs(
    customer_id: str,
    params: shared_costs.CostParams = Depends(shared_costs.cost_params),
    c: Container = Depends(container),
) -> dict[str, Any]:
    """The customer's original or amortized costs by day or month (README, Cost analysis)."""
    return shared_costs.costs(c, customer_id, params)


@router.get("/customers/{customer_id}/bills/{month}/export.csv")
def export_csv(customer_id: str, month: str, c: Container = Depends(container)) -> Any:
    """Every fee record of the month as CSV, streamed in chunks."""
    return shared.export_csv(c, customer_id, month)
