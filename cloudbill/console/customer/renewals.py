"""Renewals: the tabs (manual, auto-renew, to pay-per-use or release at expiry), the filters
(expiring within 7/15/30 days, expired, frozen), renewing one or several resources (an order
to pay, its price shown before paying), auto-renew and the expiry policy."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from ...api.shared.orders import _terms, renewals
from ...bootstrap import Container
from ...kernel.errors import CloudbillError, ErrorCode
from ...kernel.limits import PAGE_SIZE_DEFAULT
from ...orders import service as orders
from ...orders.model import OrderSource
from ...subscriptions import service as subscriptions
from ...subscriptions.rules import ExpirePolicy
from ...subscriptions.service import MODES
from ..web import (
    Outcome,
    Page,
    Viewer,
    _,
    acting,
    apply_form,
    done_redirect,
    field_errors,
    outcome_message,
    refusal_status,
    render,
    viewer,
)
from .common import account_of

router = APIRouter()
WINDOWS = (7, 15, 30)
PERIODS = ("1-month", "2-month", "3-month", "6-month", "1-year", "2-year", "3-year")


def _c(request: Request) -> Container:
    return request.app.state.container


def _period(text: str, field: str = "period") -> tuple[str, int]:
    count, _sep, unit = text.partition("-")
    if text not in PERIODS:
        raise CloudbillError(
            ErrorCode.INVALID_ARGUMENT, "choose a renewal period from the list", field=field
        )
    return unit, int(count)


def _page(
    request: Request,
    who: Viewer,
    *,
    view: str = "all",
    days: int = 30,
    mode: str = "",
    offset: int = 0,
    done: str | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    c = _c(request)
    found = renewals(
        c,
        who.customer_id,
        view=view,
        within_days=days,
        mode=mode or None,
        limit=PAGE_SIZE_DEFAULT,
        offset=offset,
    )
    page = Page(request, who, "Renewals", nav="renewals", done=done, errors=errors or {})
    return render(
        request,
        "renewals.html",
        page,
        http_status=status,
        found=found,
        view=view,
        days=days,
        mode=mode,
        modes=MODES,
        windows=WINDOWS,
        periods=PERIODS,
        policies=[p.value for p in ExpirePolicy],
        offset=offset,
        limit=PAGE_SIZE_DEFAULT,
        **account_of(c, who),
    )


def _refused(request: Request, who: Viewer, error: CloudbillError, where: str) -> HTMLResponse:
    """The page again (every subscribed resource), the refusal beside the form it came from."""
    if error.code in (ErrorCode.RESOURCE_NOT_FOUND, ErrorCode.NOT_FOUND) and where != "resource_id":
        raise error
    return _page(request, who, errors=field_errors(error, where), status=refusal_status(error))


@router.get("/renewals", response_class=HTMLResponse)
def renewal_page(
    request: Request,
    view: str = "expiring",
    days: int = 30,
    mode: str = "",
    offset: int = 0,
    done: str | None = None,
    who: Viewer = Depends(viewer),
) -> Response:
    return _page(
        request,
        who,
        view=view,
        days=days,
        mode=mode,
        offset=offset,
        done=outcome_message(_c(request), who, done),
    )


@router.post("/renewals/renew")
async def renew(
    request: Request,
    form_key: str = Form("", max_length=64),
    period: str = Form("", max_length=16),
    who: Viewer = Depends(acting),
) -> Response:
    """A renewal order for the ticked resources; the order page then shows its price and
    takes the payment (or the cancellation)."""
    form = await request.form()
    chosen = [str(v) for v in form.getlist("resource_id")][: PAGE_SIZE_DEFAULT + 1]
    c = _c(request)

    def action(conn, now):  # type: ignore[no-untyped-def]
        unit, count = _period(period)
        if not chosen:
            raise CloudbillError(
                ErrorCode.INVALID_ARGUMENT, "tick the resources to renew", field="resource_id"
            )
        order = orders.create_renewal(
            conn,
            who.customer_id,
            chosen,
            period_unit=unit,
            period_count=count,
            reference=f"console-{form_key}",
            source=OrderSource.CUSTOMER,
            terms=_terms(c),
            now=now,
        )
        return Outcome(
            _(request, "Renewal order created: check its price and pay it"), f"/orders/{order.id}"
        )

    try:
        outcome = apply_form(c, who, form_key, action)
    except CloudbillError as error:
        return _refused(request, who, error, "resource_id")
    return done_redirect(request, outcome.path or "/renewals", form_key)


@router.post("/renewals/{resource_id}/auto-renew")
def auto_renew(
    request: Request,
    resource_id: str,
    form_key: str = Form("", max_length=64),
    enabled: str = Form("", max_length=8),
    period: str = Form("1-month", max_length=16),
    who: Viewer = Depends(acting),
) -> Response:
    c = _c(request)
    on = enabled == "true"

    def action(conn, now):  # type: ignore[no-untyped-def]
        unit, count = _period(period, f"auto-{resource_id}") if on else (None, None)
        subscriptions.set_auto_renew(
            conn,
            who.customer_id,
            resource_id,
            enabled=on,
            period_unit=unit,
            period_count=count,
            now=now,
        )
        return (
            _(request, "Auto-renew on") if on else _(request, "Auto-renew off")
        ) + f": {resource_id}"

    try:
        apply_form(c, who, form_key, action)
    except CloudbillError as error:
        return _refused(request, who, error, f"auto-{resource_id}")
    return done_redirect(request, "/renewals", form_key, view="all")


@router.post("/renewals/{resource_id}/expire-policy")
def expire_policy(
    request: Request,
    resource_id: str,
    form_key: str = Form("", max_length=64),
    policy: str = Form("", max_length=32),
    who: Viewer = Depends(acting),
) -> Response:
    c = _c(request)

    def action(conn, now):  # type: ignore[no-untyped-def]
        subscriptions.set_expire_policy(conn, who.customer_id, resource_id, policy=policy, now=now)
        return _(request, "Expiry policy set") + f": {resource_id} → {policy}"

    try:
        apply_form(c, who, form_key, action)
    except CloudbillError as error:
        return _refused(request, who, error, f"policy-{resource_id}")
    return done_redirect(request, "/renewals", form_key, view="all")
