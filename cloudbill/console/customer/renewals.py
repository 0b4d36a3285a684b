"""Renewals: the tabs (manual, auto-renew, to pay-per-use or release at expiry), the filters
(expiring within 7/15/30 days, expired, frozen), renewing one or several resources (an order
to pay, its price shown before paying), auto-renew and the expiry policy."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from ...api.shared.orders import order_terms, renewals
from ...api.shared.params import Offset
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
    Shown,
    SignedIn,
    _,
    acting,
    after,
    apply_form,
    container_of,
    done_redirect,
    render,
    signed_in,
)
from .common import account_of

router = APIRouter()
WINDOWS = (7, 15, 30)
PERIODS = ("1-month", "2-month", "3-month", "6-month", "1-year", "2-year", "3-year")


def _period(text: str, field: str = "period") -> tuple[str, int]:
    count, _sep, unit = text.partition("-")
    if text not in PERIODS:
        raise CloudbillError(
            ErrorCode.INVALID_ARGUMENT, "choose a renewal period from the list", field=field
        )
    return unit, int(count)


def _page(
    request: Request,
    who: SignedIn,
    shown: Shown = Shown(),
    *,
    view: str = "all",
    days: int = 30,
    mode: str = "",
    offset: int = 0,
) -> HTMLResponse:
    c = container_of(request)
    found = renewals(
        c,
        who.customer_id,
        view=view,
        within_days=days,
        mode=mode or None,
        limit=PAGE_SIZE_DEFAULT,
        offset=offset,
    )
    page = Page(request, who, "Renewals", nav="renewals", shown=shown)
    return render(
        request,
        "renewals.html",
        page,
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


def _refused(request: Request, who: SignedIn, error: CloudbillError, where: str) -> HTMLResponse:
    """The page again (every subscribed resource), the refusal beside the form it came from;
    a resource that is not the caller's is a missing page, as for reading it."""
    lookup = error.code in (ErrorCode.RESOURCE_NOT_FOUND, ErrorCode.NOT_FOUND)
    if lookup and where != "resource_id":
        raise error
    return _page(request, who, Shown.refused(error, where))


@router.get("/renewals", response_class=HTMLResponse)
def renewal_page(
    request: Request,
    view: str = "expiring",
    days: int = 30,
    mode: str = "",
    offset: int = Offset,
    done: str | None = None,
    who: SignedIn = Depends(signed_in),
) -> Response:
    shown = after(container_of(request), who, done)
    return _page(request, who, shown, view=view, days=days, mode=mode, offset=offset)


@router.post("/renewals/renew")
def renew(
    request: Request,
    form_key: str = Form("", max_length=64),
    period: str = Form("", max_length=16),
    resource_id: list[str] = Form([], max_length=PAGE_SIZE_DEFAULT),
    who: SignedIn = Depends(acting),
) -> Response:
    """A renewal order for the ticked resources; the order page then shows its price and
    takes the payment (or the cancellation)."""
    chosen = list(resource_id)
    c = container_of(request)

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
            terms=order_terms(c),
            now=now,
        )
        message = _(request, "Renewal order created: check its price and pay it")
        return Outcome(message, f"/orders/{order.id}")

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
    who: SignedIn = Depends(acting),
) -> Response:
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
        said = _(request, "Auto-renew on") if on else _(request, "Auto-renew off")
        return f"{said}: {resource_id}"

    try:
        apply_form(container_of(request), who, form_key, action)
    except CloudbillError as error:
        return _refused(request, who, error, f"auto-{resource_id}")
    return done_redirect(request, "/renewals", form_key, view="all")


@router.post("/renewals/{resource_id}/expire-policy")
def expire_policy(
    request: Request,
    resource_id: str,
    form_key: str = Form("", max_length=64),
    policy: str = Form("", max_length=32),
    who: SignedIn = Depends(acting),
) -> Response:
    def action(conn, now):  # type: ignore[no-untyped-def]
        subscriptions.set_expire_policy(conn, who.customer_id, resource_id, policy=policy, now=now)
        return _(request, "Expiry policy set") + f": {resource_id} → {policy}"

    try:
        apply_form(container_of(request), who, form_key, action)
    except CloudbillError as error:
        return _refused(request, who, error, f"policy-{resource_id}")
    return done_redirect(request, "/renewals", form_key, view="all")
