"""The Account Overview page (the seed, card by card), the balance alert switch, Top up /
Repayment and Withdraw."""

from __future__ import annotations

import json
from dataclasses import replace

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from ...api.shared.dashboard import dashboard, funds
from ...api.shared.invoices import invoiceable
from ...customers import service as customers
from ...kernel.errors import CloudbillError
from ...notify import alerts
from ..web import (
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

router = APIRouter()


def _overview(request: Request, who: SignedIn, shown: Shown = Shown()) -> HTMLResponse:
    c = container_of(request)
    d = dashboard(c, who.customer_id)
    page = Page(request, who, "Overview", nav="overview", shown=shown)
    trend = [
        {"month": m["month"], "amount": m["amount_exact"], "net_amount": m["net_amount_exact"]}
        for m in d["trend"]["months"]
    ]
    labels = {"amount": _(request, "Amount"), "net_amount": _(request, "Net Amount")}
    chart = {"currency": d["currency"], "months": trend, "labels": labels}
    return render(
        request,
        "overview.html",
        page,
        dashboard=d,
        invoicing=invoiceable(c, who.customer_id),
        account_name=d["name"],
        trend_json=json.dumps(chart).replace("<", "\\u003c"),
    )


@router.get("/", response_class=HTMLResponse)
def overview(
    request: Request, done: str | None = None, who: SignedIn = Depends(signed_in)
) -> Response:
    return _overview(request, who, after(container_of(request), who, done))


@router.post("/alert")
def set_alert(
    request: Request,
    form_key: str = Form("", max_length=64),
    enabled: str = Form("", max_length=8),
    threshold: str = Form("", max_length=40),
    who: SignedIn = Depends(acting),
) -> Response:
    """The Alert slider and its threshold. With htmx only the card is answered."""
    on = enabled == "true"
    wanted = threshold.strip() or None

    def action(conn, now):  # type: ignore[no-untyped-def]
        alerts.configure(conn, who.customer_id, enabled=on, threshold=wanted, now=now)
        return _(request, "Balance alert on") if on else _(request, "Balance alert off")

    partial = request.headers.get("hx-request") == "true"
    try:
        message = apply_form(container_of(request), who, form_key, action).message
    except CloudbillError as error:
        shown = Shown.refused(error, "threshold", threshold=threshold)
        return _alert_card(request, who, shown) if partial else _overview(request, who, shown)
    if partial:
        return _alert_card(request, who, Shown(done=message))
    return done_redirect(request, "/", form_key)


def _alert_card(request: Request, who: SignedIn, shown: Shown) -> HTMLResponse:
    d = funds(container_of(request), who.customer_id)
    # htmx swaps only a successful answer in: a refused form is answered 200 with its message
    # beside the field (a fault of the server keeps its status).
    status = shown.http_status if shown.http_status >= 500 else 200
    page = Page(request, who, "Overview", shown=replace(shown, http_status=status))
    return render(request, "_card_alert.html", page, dashboard=d, alert_saved=shown.done)


@router.get("/top-up", response_class=HTMLResponse)
def top_up(request: Request, who: SignedIn = Depends(signed_in)) -> Response:
    """How to pay the provider: top-ups are recorded by the operator or a payment
    integration when the money arrives."""
    c = container_of(request)
    d = funds(c, who.customer_id)
    title = "Repayment" if d["payment_mode"] == "postpaid" else "Top up"
    page = Page(request, who, title, nav="overview")
    return render(
        request,
        "top_up.html",
        page,
        dashboard=d,
        account_name=d["name"],
        instructions=c.settings.console_payment_instructions,
    )


def _withdraw_page(request: Request, who: SignedIn, shown: Shown = Shown()) -> HTMLResponse:
    d = funds(container_of(request), who.customer_id)
    page = Page(request, who, "Withdraw", nav="overview", shown=shown)
    return render(request, "withdraw.html", page, dashboard=d, account_name=d["name"])


@router.get("/withdraw", response_class=HTMLResponse)
def withdraw_form(
    request: Request, done: str | None = None, who: SignedIn = Depends(signed_in)
) -> Response:
    return _withdraw_page(request, who, after(container_of(request), who, done))


@router.post("/withdraw")
def withdraw(
    request: Request,
    form_key: str = Form("", max_length=64),
    amount: str = Form("", max_length=40),
    who: SignedIn = Depends(acting),
) -> Response:
    """A withdrawal of the withdrawable balance, refused with its reason (in arrears, frozen,
    more than is withdrawable)."""

    def action(conn, now):  # type: ignore[no-untyped-def]
        customers.withdraw(
            conn, who.customer_id, amount.strip(), reference=f"console-{form_key}", now=now
        )
        return _(request, "Withdrawal recorded") + f": {amount.strip()}"

    try:
        apply_form(container_of(request), who, form_key, action)
    except CloudbillError as error:
        return _withdraw_page(request, who, Shown.refused(error, "amount", amount=amount))
    return done_redirect(request, "/withdraw", form_key)
