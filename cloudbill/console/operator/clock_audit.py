"""Operator console: the simulated clock (advance billing time) and the audit trail."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from ...api.shared.params import Offset
from ...customers import service as customers
from ...kernel.errors import CloudbillError, ErrorCode
from ...kernel.limits import CLOCK_ADVANCE_MAX_DAYS, PAGE_SIZE_DEFAULT
from ...store import clock_repo
from ..web import (
    Shown,
    SignedIn,
    _,
    acting,
    after,
    container_of,
    signed_in,
)
from .common import applied, operator_page

router = APIRouter()


def _clock(request: Request, who: SignedIn, shown: Shown) -> HTMLResponse:
    mode, now = container_of(request).read(lambda conn, _now: clock_repo.read_clock(conn))
    return operator_page(
        request,
        who,
        "clock.html",
        "Clock",
        "clock",
        shown,
        mode=mode,
        now=now,
        simulated=mode == clock_repo.SIMULATED,
        max_days=CLOCK_ADVANCE_MAX_DAYS,
    )


@router.get("/clock", response_class=HTMLResponse)
def clock(
    request: Request, done: str | None = None, who: SignedIn = Depends(signed_in)
) -> Response:
    return _clock(request, who, after(container_of(request), who, done))


@router.post("/clock/advance")
def advance(
    request: Request,
    form_key: str = Form("", max_length=64),
    days: str = Form("0", max_length=8),
    hours: str = Form("0", max_length=8),
    who: SignedIn = Depends(acting),
) -> Response:
    """Simulated mode only: move billing time forward; the worker then catches up every job
    deterministically (demos and rehearsals)."""

    def action(conn, _now):  # type: ignore[no-untyped-def]
        try:
            step = timedelta(days=int(days or 0), hours=int(hours or 0))
        except (ValueError, OverflowError):
            raise CloudbillError(
                ErrorCode.INVALID_ARGUMENT, "whole days and hours", field="days"
            ) from None
        if step <= timedelta(0) or step > timedelta(days=CLOCK_ADVANCE_MAX_DAYS):
            raise CloudbillError(
                ErrorCode.INVALID_ARGUMENT,
                f"advance by 1 hour to {CLOCK_ADVANCE_MAX_DAYS} days",
                field="days",
            )
        moved = clock_repo.advance(conn, step)
        return _(request, "Billing time is now") + f" {moved.isoformat()}"

    return applied(
        request,
        who,
        form_key,
        action,
        name="advance_clock",
        where="days",
        details={"days": days, "hours": hours},
        back="/clock",
        refused=lambda shown: _clock(request, who, shown),
    )


@router.get("/audit", response_class=HTMLResponse)
def audit_trail(
    request: Request,
    customer_id: str = "",
    actor: str = "",
    offset: int = Offset,
    who: SignedIn = Depends(signed_in),
) -> Response:
    rows, total = container_of(request).read(
        lambda conn, _now: customers.audit_trail(
            conn,
            customer_id=customer_id or None,
            actor=actor or None,
            limit=PAGE_SIZE_DEFAULT,
            offset=offset,
        )
    )
    return operator_page(
        request,
        who,
        "audit.html",
        "Audit trail",
        "audit",
        rows=rows,
        total=total,
        customer_id=customer_id,
        actor=actor,
        offset=offset,
        limit=PAGE_SIZE_DEFAULT,
    )
