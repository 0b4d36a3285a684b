"""Operator console: the customers (search, filters), a customer's page (its overview as the
customer sees it, resources, users) and the money actions on it (top-up)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ...api.shared.dashboard import dashboard
from ...api.shared.resources import list_resources
from ...bootstrap import Container
from ...customers import service as customers
from ...kernel.errors import CloudbillError, ErrorCode
from ...kernel.limits import PAGE_SIZE_DEFAULT
from ...users import service as users
from ...users.model import UserKind
from ...views import customer_view, overview_view
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

# The list's filters as the seed's operator needs them: in arrears, frozen, post-paid.
FILTERS = {
    "": {},
    "in_arrears": {"in_arrears": True},
    "frozen": {"status": "frozen"},
    "postpaid": {"payment_mode": "postpaid"},
}


def _c(request: Request) -> Container:
    return request.app.state.container


@router.get("/")
def home(request: Request, _who: Viewer = Depends(viewer)) -> Response:
    return RedirectResponse(f"{request.app.state.surface.root}/customers", status_code=303)


@router.get("/customers", response_class=HTMLResponse)
def customer_list(
    request: Request,
    q: str = "",
    filter: str = "",
    offset: int = 0,
    who: Viewer = Depends(viewer),
) -> Response:
    if filter not in FILTERS:
        raise CloudbillError(
            ErrorCode.INVALID_ARGUMENT, f"filter is one of {', '.join(f for f in FILTERS if f)}"
        )
    rows, total = _c(request).read(
        lambda conn, _now: customers.list_with_overviews(
            conn, search=q or None, limit=PAGE_SIZE_DEFAULT, offset=offset, **FILTERS[filter]
        )
    )
    items = [{**customer_view(cust), "overview": overview_view(o)} for cust, o in rows]
    page = Page(request, who, "Customers", nav="customers")
    return render(
        request,
        "operator/customers.html",
        page,
        operator_console=True,
        items=items,
        total=total,
        q=q,
        filter=filter,
        offset=offset,
        limit=PAGE_SIZE_DEFAULT,
        filters=list(FILTERS),
    )


def _customer_page(
    request: Request,
    who: Viewer,
    customer_id: str,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    done: str | None = None,
) -> HTMLResponse:
    c = _c(request)
    d = dashboard(c, customer_id)
    profile = c.read(lambda conn, _now: customer_view(customers.get(conn, customer_id)))
    resources = list_resources(c, customer_id, {"limit": PAGE_SIZE_DEFAULT, "offset": 0})
    people = c.read(lambda conn, _now: users.list_users(conn, UserKind.CUSTOMER, customer_id))
    page = Page(
        request,
        who,
        d["name"],
        nav="customers",
        errors=errors or {},
        values=values or {},
        done=done,
    )
    return render(
        request,
        "operator/customer.html",
        page,
        http_status=status,
        operator_console=True,
        dashboard=d,
        profile=profile,
        resources=resources,
        people=people,
    )


@router.get("/customers/{customer_id}", response_class=HTMLResponse)
def customer_page(
    request: Request, customer_id: str, done: str | None = None, who: Viewer = Depends(viewer)
) -> Response:
    return _customer_page(request, who, customer_id, done=outcome_message(_c(request), who, done))


@router.post("/customers/{customer_id}/top-up")
def top_up(
    request: Request,
    customer_id: str,
    form_key: str = Form("", max_length=64),
    amount: str = Form("", max_length=40),
    reference: str = Form("", max_length=128),
    who: Viewer = Depends(acting),
) -> Response:
    """Money received: writes off debt first (restoring frozen resources), then adds to the
    balance. The payment's reference makes it idempotent beyond this form too."""
    c = _c(request)
    ref = reference.strip() or f"console-{form_key}"

    def action(conn, now):  # type: ignore[no-untyped-def]
        customers.topup(
            conn,
            customer_id,
            amount.strip(),
            reference=ref,
            now=now,
            description=f"recorded by {who.actor}",
        )
        return _(request, "Top-up recorded") + f": {amount.strip()} ({ref})"

    try:
        apply_form(c, who, form_key, action)
    except CloudbillError as error:
        return _customer_page(
            request,
            who,
            customer_id,
            status=refusal_status(error),
            errors=field_errors(error, "amount"),
            values={"amount": amount, "reference": reference},
        )
    return done_redirect(request, f"/customers/{customer_id}", form_key)
