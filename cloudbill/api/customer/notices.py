"""Customer routes: the emails and SMS cloudbill sent you (or tried to)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path, Query

from ...bootstrap import Container
from ...notify.notices import operator as notices
from ..deps import container
from ..keyauth import KeyCaller
from ..shared.params import Limit, Offset
from .auth import caller

router = APIRouter(tags=["notices"])
NOTICE_ID_MAX = 2**63 - 1  # the id column is a 64-bit integer


@router.get("/notices")
def list_notices(
    status: str | None = Query(None, description="pending, sent, dead or skipped"),
    channel: str | None = Query(None, description="email or sms"),
    limit: int = Limit,
    offset: int = Offset,
    me: KeyCaller = Depends(caller),
    c: Container = Depends(container),
) -> dict[str, Any]:
    """Notices sent to you, newest first."""
    total, rows = c.read(
        lambda conn, _now: notices.list_notices(
            conn,
            customer_id=me.customer.id,
            status=status,
            channel=channel,
            limit=limit,
            offset=offset,
        )
    )
    return {"total": total, "items": [notices.customer_view(r) for r in rows]}


@router.get("/notices/{notice_id}")
def show_notice(
    notice_id: int = Path(ge=1, le=NOTICE_ID_MAX),
    me: KeyCaller = Depends(caller),
    c: Container = Depends(container),
) -> dict[str, Any]:
    owner = me.customer.id
    return notices.customer_view(
        c.read(lambda conn, _now: notices.get(conn, notice_id, customer_id=owner))
    )
