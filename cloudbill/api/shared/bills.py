"""One customer's bills: monthly summary and CSV export, fee records, package usage, trend."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

from fastapi import Query
from fastapi.responses import StreamingResponse

from ...bills import export, service
from ...bills.model import EXPORT_CHUNK_ROWS, Granularity
from ...bills.views import fee_view, package_use_view, summary_view, trend_view
from ...bootstrap import Container
from .params import MONTH_DOC, Limit, Offset


@dataclass(frozen=True, slots=True)
class FeeFilters:
    month: str | None
    start: str | None
    end: str | None
    resource_id: str | None
    service: str | None
    usage_type: str | None
    billing_mode: str | None
    bill_type: str | None
    granularity: str
    limit: int
    offset: int
    member_id: str | None = None


MEMBER_DOC = (
    "an enterprise member's id: that member's own records only (yours, or an active member's); "
    "without it an enterprise master sees its unified members' records with its own"
)
Member = Query(None, description=MEMBER_DOC)


def fee_filters(
    month: str | None = Query(None, description=MONTH_DOC),
    start: str | None = Query(None, description="ISO 8601 instant; with end, instead of month"),
    end: str | None = Query(None, description="ISO 8601 instant, exclusive"),
    resource_id: str | None = None,
    service_code: str | None = Query(None, alias="service"),
    usage_type: str | None = None,
    billing_mode: str | None = Query(None, description="pay_per_use or yearly_monthly"),
    bill_type: str | None = Query(
        None,
        description="a bill type (usage, new_purchase, renewal, auto_renewal, conversion, "
        "upgrade, downgrade_refund, unsubscription_refund, unsubscription_fee, compensation, "
        "deduction) or a category (consumption, refund, adjustment)",
    ),
    granularity: str = Query(Granularity.HOUR.value, description="hour, day or resource"),
    limit: int = Limit,
    offset: int = Offset,
    member_id: str | None = Member,
) -> FeeFilters:
    """The fee-record query parameters, as a dependency both APIs declare."""
    return FeeFilters(
        month,
        start,
        end,
        resource_id,
        service_code,
        usage_type,
        billing_mode,
        bill_type,
        granularity,
        limit,
        offset,
        member_id,
    )


def monthly_summary(
    c: Container, customer_id: str, month: str, member_id: str | None = None
) -> Any:
    rounding = c.settings.bill_rounding
    summary = c.read(
        lambda conn, _now: service.monthly_summary(
            conn, customer_id, month, rounding=rounding, member_id=member_id
        )
    )
    return summary_view(summary)


def fee_records(c: Container, customer_id: str, filters: FeeFilters) -> dict[str, Any]:
    rows, total = c.read(
        lambda conn, _now: service.fee_records(conn, customer_id, **asdict(filters))
    )
    return {
        "granularity": filters.granularity,
        "total": total,
        "items": [fee_view(r) for r in rows],
    }


def package_usage(
    c: Container,
    customer_id: str,
    *,
    package_id: str | None,
    month: str | None,
    limit: int,
    offset: int,
) -> dict[str, Any]:
    rows, total = c.read(
        lambda conn, _now: service.package_usage_records(
            conn, customer_id, package_id=package_id, month=month, limit=limit, offset=offset
        )
    )
    return {"total": total, "items": [package_use_view(r) for r in rows]}


def expenditure_trend(
    c: Container, customer_id: str, months: int, member_id: str | None = None
) -> dict[str, Any]:
    rounding = c.settings.bill_rounding
    trend = c.read(
        lambda conn, now: service.expenditure_trend(
            conn, customer_id, months=months, now=now, rounding=rounding, member_id=member_id
        )
    )
    return trend_view(customer_id, trend)


def export_csv(
    c: Container, customer_id: str, month: str, member_id: str | None = None
) -> StreamingResponse:
    # Validate before the response starts: afterwards a failure could only cut the body short.
    plan = c.read(
        lambda conn, _now: export.plan_export(conn, customer_id, month, member_id=member_id)
    )

    def body() -> Iterator[str]:
        with c.db.read() as conn:
            yield from export.csv_chunks(conn, plan, chunk_size=EXPORT_CHUNK_ROWS)

    return StreamingResponse(
        body(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{plan.filename}"'},
    )
