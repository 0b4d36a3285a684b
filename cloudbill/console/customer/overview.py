"""The Account Overview page (the seed, card by card), the balance alert switch, Top up /
Repayment and Withdraw."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from ...api.shared.dashboard import dashboard
from ...bootstrap import Container
from ...customers import service as customers
from ...kernel.errors import CloudbillError
from ...notify import alerts
from ..web import (
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

router = APIRouter()


def _c(request: Request) -> Container:
    return request.app.state.container


def _overview(
    request: Request,
    who: Viewer,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    done: str | None = None,
) -> HTMLResponse:
    d = dashboard(_c(request), who.customer_id)
    page = Page(
        request,
        who,
        "Overview",
        nav="overview",
        errors=errors or {},
        values=values or {},
        done=done,
    )
    trend = [
        {"month": m["month"], "amount": m["amount_exact"], "net_amount": m["net_amount_exact"]}
        for m in d["trend"]["months"]
    ]
    labels = {"amount": _(request, "Amount"), "net_amount": _(request, "Net Amount")}
    return render(
        request,
        "overview.html",
        page,
        http_status=status,
        dashboard=d,
        account_name=d["name"],
        trend_json=json.dumps(
            {"currency": d["currency"], "months": trend, "labels": labels}
        ).replace("<", "\\u003c"),
    )


@router.get("/", response_class=HTMLResponse)
def overview(request: Request, done: str | None = None, who: Viewer = Depends(viewer)) -> Response:
    return _overview(request, who, done=outcome_message(_c(request), who, done))


@router.post("/alert")
def set_alert(
    request: Request,
    form_key: str = Form("", max_length=64),
    enabled: str = Form("", max_length=8),
    threshold: str = Form("", max_length=40),
    who: Viewer = Depends(acting),
) -> Response:
    """The Alert slider and its threshold. With htmx only the card is answered."""
    c = _c(request)
    on = enabled == "true"
    wanted = threshold.strip() or None

    def action(conn, now):  # type: ignore[no-untyped-def]
        alerts.configure(conn, who.customer_id, enabled=on, threshold=wanted, now=now)
        return _(request, "Balance alert on") if on else _(request, "Balance alert off")

    partial = request.headers.get("hx-request") == "true"
    try:
        message = apply_form(c, who, form_key, action).message
    except CloudbillError as error:
        errors = field_errors(error, "threshold")
        if partial:
            return _alert_card(
                request,
                who,
                errors=errors,
                values={"threshold": threshold},
                status=refusal_status(error),
            )
        return _overview(
            request,
            who,
            status=refusal_status(error),
            errors=errors,
            values={"threshold": threshold},
        )
    if partial:
        return _alert_card(request, who, saved=message)
    return done_redirect(request, "/", form_key)


def _alert_card(
    request: Request,
    who: Viewer,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    saved: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    d = dashboard(_c(request), who.customer_id)
    page = Page(request, who, "Overview", errors=errors or {}, values=values or {})
    # An htmx swap of a refused form still has to be shown: answer 200 with the message.
    html = render(request, "_card_alert.html", page, dashboard=d, alert_saved=saved)
    html.status_code = 200 if status < 500 else status
    return html


@router.get("/top-up", response_class=HTMLResponse)
def top_up(request: Request, who: Viewer = Depends(viewer)) -> Response:
    """How to pay the provider: top-ups are recorded by the operator or a payment
    integration when the money arrives."""
    c = _c(request)
    d = dashboard(c, who.customer_id)
    page = Page(
        request, who, "Repayment" if d["payment_mode"] == "postpaid" else "Top up", nav="overview"
    )
    return render(
        request,
        "top_up.html",
        page,
        dashboard=d,
        account_name=d["name"],
        instructions=c.settings.console_payment_instructions,
    )


@router.get("/withdraw", response_class=HTMLResponse)
def withdraw_form(
    request: Request, done: str | None = None, who: Viewer = Depends(viewer)
) -> Response:
    return _withdraw_page(request, who, done=outcome_message(_c(request), who, done))


def _withdraw_page(
    request: Request,
    who: Viewer,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    done: str | None = None,
) -> HTMLResponse:
    d = dashboard(_c(request), who.customer_id)
    page = Page(
        request,
        who,
        "Withdraw",
        nav="overview",
        errors=errors or {},
        values=values or {},
        done=done,
    )
    return render(
        request, "withdraw.html", page, http_status=status, dashboard=d, account_name=d["name"]
    )


@router.post("/withdraw")
def withdraw(
    request: Request,
    form_key: str = Form("", max_length=64),
    amount: str = Form("", max_length=40),
    who: Viewer = Depends(acting),
) -> Response:
    c = _c(request)

    def action(conn, now):  # type: ignore[no-untyped-def]
        tx = customers.withdraw(
            conn, who.customer_id, amount.strip(), reference=f"console-{form_key}", now=now
        )
        return (
            _(request, "Withdrawal recorded")
            + f" ({tx.result.get('currency', '')} {amount.strip()})"
        )

    try:
        apply_form(c, who, form_key, action)
    except CloudbillError as error:
        return _withdraw_page(
            request,
            who,
            status=refusal_status(error),
            errors=field_errors(error, "amount"),
            values={"amount": amount},
        )
    return done_redirect(request, "/withdraw", form_key)
