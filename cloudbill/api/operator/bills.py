"""Operator routes: bills, fee records, expenditure trend, exports."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse

from ...bills import export, service
from ...bills.model import EXPORT_CHUNK_ROWS, TREND_MONTHS_MAX, Granularity
from ...bills.views import fee_view, package_use_view, summary_view, trend_view
from ...bootstrap import Container
from ...kernel.limits import PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX
from ..deps import container, require_operator

router = APIRouter(tags=["bills"], dependencies=[Depends(require_operator)])

MONTH_DOC = "calendar month in the customer's time zone, YYYY-MM"


@router.get("/customers/{customer_id}/bills/{month}")
def monthly_summary(customer_id: str, month: str, c: Container = Depends(container)) -> Any:
    """The month's bill: totals (each rounded once), and lines by service, resource type and
    billing mode, each breakdown with the rounding adjustment that makes its lines add up."""
    rounding = c.settings.bill_rounding
    summary = c.read(
        lambda conn, _now: service.monthly_summary(conn, customer_id, month, rounding=rounding)
    )
    return summary_view(summary)


@router.get("/customers/{customer_id}/fee-records")
def fee_records(
    customer_id: str,
    month: str | None = Query(None, description=MONTH_DOC),
    start: str | None = Query(None, description="ISO 8601 instant; with end, instead of month"),
    end: str | None = Query(None, description="ISO 8601 instant, exclusive"),
    resource_id: str | None = None,
    service_code: str | None = Query(None, alias="service"),
    usage_type: str | None = None,
    granularity: str = Query(Granularity.HOUR.value, description="hour, day or resource"),
    limit: int = Query(PAGE_SIZE_DEFAULT, ge=1, le=PAGE_SIZE_MAX),
    offset: int = Query(0, ge=0),
    c: Container = Depends(container),
) -> dict[str, Any]:
    rows, total = c.read(
        lambda conn, _now: service.fee_records(
            conn, customer_id, month=month, start=start, end=end, resource_id=resource_id,
            service=service_code, usage_type=usage_type, granularity=granularity,
            limit=limit, offset=offset,
        )
    )  # fmt: skip
    return {"granularity": granularity, "total": total, "items": [fee_view(r) for r in rows]}


@router.get("/customers/{customer_id}/package-usage")
def package_usage(
    customer_id: str,
    package_id: str | None = None,
    month: str | None = Query(None, description=MONTH_DOC),
    limit: int = Query(PAGE_SIZE_DEFAULT, ge=1, le=PAGE_SIZE_MAX),
    offset: int = Query(0, ge=0),
    c: Container = Depends(container),
) -> dict[str, Any]:
    rows, total = c.read(
        lambda conn, _now: service.package_usage_records(
            conn, customer_id, package_id=package_id, month=month, limit=limit, offset=offset
        )
    )
    return {"total": total, "items": [package_use_view(r) for r in rows]}


@router.get("/customers/{customer_id}/expenditure-trend")
def expenditure_trend(
    customer_id: str,
    months: int = Query(6, ge=1, le=TREND_MONTHS_MAX),
    c: Container = Depends(container),
) -> dict[str, Any]:
    """Amount and net amount (amount minus cash coupons) of the last N months, zeros included."""
    rounding = c.settings.bill_rounding
    trend = c.read(
        lambda conn, now: service.expenditure_trend(
            conn, customer_id, months=months, now=now, rounding=rounding
        )
    )
    return trend_view(customer_id, trend)


@router.get("/customers/{customer_id}/bills/{month}/export.csv")
def export_csv(customer_id: str, month: str, c: Container = Depends(container)) -> Any:
    """Every fee record of the month as CSV, streamed in chunks."""
    # Validate before the response starts: afterwards a failure could only cut the body short.
    plan = c.read(lambda conn, _now: export.plan_export(conn, customer_id, month))

    def body() -> Iterator[str]:
        with c.db.read() as conn:
            yield from export.csv_chunks(conn, plan, chunk_size=EXPORT_CHUNK_ROWS)

    return StreamingResponse(
        body(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{plan.filename}"'},
    )
