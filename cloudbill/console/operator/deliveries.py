"""Operator console: provider webhooks given up on and customer notices, retried."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import HTMLResponse, Response

from ...api.shared.params import Offset
from ...kernel.errors import CloudbillError, ErrorCode
from ...kernel.limits import INT64_MAX, PAGE_SIZE_DEFAULT
from ...notify import webhooks
from ...notify.notices import operator as notices
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


def _deliveries(
    request: Request, who: SignedIn, shown: Shown, status: str = "dead", offset: int = 0
) -> HTMLResponse:
    c = container_of(request)
    dead_total, dead = c.read(
        lambda conn, _now: webhooks.dead_letters(conn, limit=PAGE_SIZE_DEFAULT, offset=0)
    )
    total, rows = c.read(
        lambda conn, _now: notices.list_notices(
            conn,
            status=None if status in ("", "all") else status,
            limit=PAGE_SIZE_DEFAULT,
            offset=offset,
        )
    )
    return operator_page(
        request,
        who,
        "deliveries.html",
        "Webhooks and notices",
        "deliveries",
        shown,
        dead=dead,
        dead_total=dead_total,
        notices=[notices.view(r) for r in rows],
        total=total,
        status=status,
        offset=offset,
        limit=PAGE_SIZE_DEFAULT,
        endpoint=c.settings.webhook_url,
    )


@router.get("/deliveries", response_class=HTMLResponse)
def deliveries(
    request: Request,
    status: str = "dead",
    offset: int = Offset,
    done: str | None = None,
    who: SignedIn = Depends(signed_in),
) -> Response:
    return _deliveries(request, who, after(container_of(request), who, done), status, offset)


@router.post("/deliveries/webhooks/{event_id}/retry")
def retry_webhook(
    request: Request,
    event_id: int = Path(ge=1, le=INT64_MAX),
    form_key: str = Form("", max_length=64),
    who: SignedIn = Depends(acting),
) -> Response:
    wall = container_of(request).wall.now()

    def action(conn, _now):  # type: ignore[no-untyped-def]
        if not webhooks.retry_dead(conn, event_id, now=wall):
            raise CloudbillError(ErrorCode.NOT_FOUND, f"no dead-lettered event {event_id}")
        return _(request, "Event will be delivered again") + f": {event_id}"

    return applied(
        request,
        who,
        form_key,
        action,
        name="retry_webhook",
        where=f"event-{event_id}",
        details={"event_id": event_id},
        back="/deliveries",
        refused=lambda shown: _deliveries(request, who, shown),
    )


@router.post("/deliveries/notices/{notice_id}/retry")
def retry_notice(
    request: Request,
    notice_id: int = Path(ge=1, le=INT64_MAX),
    form_key: str = Form("", max_length=64),
    who: SignedIn = Depends(acting),
) -> Response:
    c = container_of(request)

    def action(conn, now):  # type: ignore[no-untyped-def]
        notices.retry(conn, notice_id, c.settings, now=now)
        return _(request, "Notice will be sent again") + f": {notice_id}"

    return applied(
        request,
        who,
        form_key,
        action,
        name="retry_notice",
        where=f"notice-{notice_id}",
        details={"notice_id": notice_id},
        back="/deliveries",
        refused=lambda shown: _deliveries(request, who, shown),
    )
