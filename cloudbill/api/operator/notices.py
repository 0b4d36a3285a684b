"""Operator routes: customer notices (email and SMS) — list, show with attempts, retry."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query

from ...bootstrap import Container
from ...kernel.limits import PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX
from ...notify.notices import operator
from ..deps import container, require_operator
from ..shared.params import Offset, RowId

router = APIRouter(tags=["notices"], dependencies=[Depends(require_operator)])


@router.get("/notices")
def list_notices(
    customer_id: str | None = None,
    status: str | None = Query(None, description="pending, sent, dead or skipped"),
    channel: str | None = Query(None, description="email or sms"),
    limit: int = Query(PAGE_SIZE_DEFAULT, ge=1, le=PAGE_SIZE_MAX),
    offset: int = Offset,
    c: Container = Depends(container),
) -> dict[str, Any]:
    """Notices to customers, newest first; `last_error` says why one failed or was skipped."""
    total, rows = c.read(
        lambda conn, _now: operator.list_notices(
            conn,
            customer_id=customer_id,
            status=status,
            channel=channel,
            limit=limit,
            offset=offset,
        )
    )
    return {"total": total, "items": [operator.view(r) for r in rows]}


@router.get("/notices/{notice_id}")
def show_notice(notice_id: int = RowId, c: Container = Depends(container)) -> dict[str, Any]:
    """One notice: what was sent (subject and text) and every delivery attempt."""

    def work(conn, _now):  # type: ignore[no-untyped-def]
        row = operator.get(conn, notice_id)
        return operator.view(row, operator.attempts(conn, notice_id))

    return c.read(work)


@router.post("/notices/{notice_id}/retry")
def retry_notice(notice_id: int = RowId, c: Container = Depends(container)) -> dict[str, Any]:
    """Send a dead notice again from its first attempt (re-rendered if its template failed)."""
    row = c.write(lambda conn, now: operator.retry(conn, notice_id, c.settings, now=now))
    return operator.view(row)
