"""Operator routes: settlement runs, and running due jobs now."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from ...bootstrap import Container
from ...kernel.limits import DESCRIPTION_MAX_CHARS
from ...settle import holds
from ...settle import repo as settle_repo
from ...settle.service import SettleResult
from ...views import instant
from ...worker.jobs import run_due as run_jobs
from ..deps import container, require_operator
from ..shared.params import Limit, Offset

router = APIRouter(tags=["settlement"], dependencies=[Depends(require_operator)])


def result_view(r: SettleResult) -> dict[str, Any]:
    return {
        "hour": instant(r.hour), "settlement_id": r.settlement_id, "records": r.records,
        "late_records": r.late_records, "fees": r.fees, "customers": r.customers,
        "new_arrears": r.new_arrears,
    }  # fmt: skip


@router.get("/settlements")
def list_runs(
    limit: int = Limit,
    offset: int = Offset,
    c: Container = Depends(container),
) -> dict[str, Any]:
    """Settled hours, newest first."""

    total, rows = c.read(lambda conn, _now: settle_repo.list_runs(conn, limit=limit, offset=offset))
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


def hold_view(row) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    return {
        "id": row.id, "customer_id": row.customer_id, "since_hour": instant(row.since_hour),
        "code": row.code, "reason": row.reason, "held_at": instant(row.held_at),
        "last_tried_at": instant(row.last_tried_at), "attempts": row.attempts,
        "released_at": instant(row.released_at) if row.released_at else None,
        "released_settlement_id": row.released_settlement_id,
    }  # fmt: skip


@router.get("/settlement-holds")
def list_holds(
    include_released: bool = Query(False, description="also the holds released since"),
    limit: int = Limit,
    offset: int = Offset,
    c: Container = Depends(container),
) -> dict[str, Any]:
    """Customers settlement set aside (newest first): their hours wait, with the reason, while
    every other customer is billed; each run tries them again and settles the held hours once
    the cause is mended (the catalog, or `POST /usage-records/{record_id}/void`)."""
    total, rows = c.read(
        lambda conn, _now: holds.list_holds(
            conn, include_released=include_released, limit=limit, offset=offset
        )
    )
    return {"total": total, "items": [hold_view(r) for r in rows]}


class VoidBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=DESCRIPTION_MAX_CHARS)


@router.post("/usage-records/{record_id}/void")
def void_usage(record_id: str, body: VoidBody, c: Container = Depends(container)) -> dict[str, Any]:
    """Set a wrong usage record of a held customer aside for good (never billed: settlement
    leaves it out). Idempotent; a record of a customer not held, or one billed before the hold
    began, is refused (409 INVALID_STATE): billed usage is corrected with an adjustment."""
    record, void, _new = c.write(
        lambda conn, now: holds.void_usage(conn, record_id, reason=body.reason, now=now)
    )
    return void_view(record, void)


def void_view(record, void) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    return {
        "record_id": record.record_id, "customer_id": record.customer_id,
        "resource_id": record.resource_id, "usage_type": record.usage_type,
        "quantity": record.quantity, "unit": record.unit, "start": instant(record.start_at),
        "end": instant(record.end_at), "reason": void.reason, "voided_at": instant(void.voided_at),
    }  # fmt: skip
