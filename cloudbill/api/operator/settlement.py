"""Operator routes: settlement runs, and running due jobs now."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Depends, Query
from sqlalchemy import func, select

from ...bootstrap import Container
from ...kernel.limits import PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX
from ...settle.service import SettleResult
from ...store.schema import settlement_run
from ...views import instant
from ...worker.jobs import run_due as run_jobs
from ..deps import container, require_operator

router = APIRouter(tags=["settlement"], dependencies=[Depends(require_operator)])


def result_view(r: SettleResult) -> dict[str, Any]:
    return {
        "hour": instant(r.hour), "settlement_id": r.settlement_id, "records": r.records,
        "late_records": r.late_records, "fees": r.fees, "customers": r.customers,
        "new_arrears": r.new_arrears,
    }  # fmt: skip


@router.get("/settlements")
def list_runs(
    limit: int = Query(PAGE_SIZE_DEFAULT, ge=1, le=PAGE_SIZE_MAX),
    offset: int = Query(0, ge=0),
    c: Container = Depends(container),
) -> dict[str, Any]:
    """Settled hours, newest first."""

    def work(conn, _now):  # type: ignore[no-untyped-def]
        total = conn.execute(select(func.count()).select_from(settlement_run)).scalar_one()
        rows = conn.execute(
            select(settlement_run).order_by(settlement_run.c.hour_start.desc())
            .limit(limit).offset(offset)
        ).all()  # fmt: skip
        return total, rows

    total, rows = c.read(work)
    return {
        "total": total,
        "items": [
            {"settlement_id": r.id, "hour": instant(r.hour_start), "watermark_seq": r.watermark_seq,
             "records": r.records, "late_records": r.late_records, "fees": r.fees,
             "customers": r.customers, "settled_at": instant(r.finished_at)}
            for r in rows
        ],
    }  # fmt: skip


@router.post("/settlements/run-due")
def run_due(c: Container = Depends(container)) -> dict[str, Any]:
    """Run the due jobs now (what the worker does on its own every minute): settle every due
    hour, then apply the arrears lifecycle."""
    report = run_jobs(c)
    return {
        "settled": [result_view(r) for r in report.settled],
        "transitions": [
            {
                "resource_id": t.resource_id,
                "from": str(t.from_status),
                "to": str(t.to_status),
                "at": instant(t.at),
                "reason": t.reason,
            }
            for t in report.transitions
        ],
        "postpaid_bills_issued": report.bills_issued,
        "overdue_customers": report.overdue_customers,
        "subscriptions": asdict(report.subscriptions),
    }
