"""Operator console: the customers (search, filters), a customer's page (its overview as the
customer sees it, resources, orders, balance history, users) and what an operator does to it:
record a top-up, adjust, freeze and unfreeze, set the credit limit, invite a user. Each action
is one form applied once, and the audit trail names the operator user who did it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ...api.shared.accounts import history
from ...api.shared.dashboard import dashboard
from ...api.shared.orders import list_orders
from ...api.shared.params import Offset
from ...api.shared.resources import list_resources
from ...customers import service as customers
from ...customers.model import CustomerStatus
from ...kernel.errors import CloudbillError, ErrorCode
from ...kernel.limits import PAGE_SIZE_DEFAULT
from ...users import service as users
from ...users.model import UserKind
from ...views import customer_view, overview_view
from ..web import (
    Outcome,
    Page,
    Shown,
    SignedIn,
    _,
    acting,
    after,
    apply_form,
    audit,
    container_of,
    done_redirect,
    render,
    signed_in,
)

router = APIRouter()
SHOWN_ROWS = 20  # of each list on a customer's page; the customer's own pages page through all

# The list's filters as the operator needs them: in arrears, frozen, post-paid.
FILTERS: dict[str, dict[str, Any]] = {
    "": {},
    "in_arrears": {"in_arrears": True},
    "frozen": {"status": "frozen"},
    "postpaid": {"payment_mode": "postpaid"},
}


@router.get("/")
def home(request: Request, _who: SignedIn = Depends(signed_in)) -> Response:
    return RedirectResponse(f"{request.app.state.surface.root}/customers", status_code=303)


@router.get("/customers", response_class=HTMLResponse)
def customer_list(
    request: Request,
    q: str = "",
    filter: str = "",
    offset: int = Offset,
    who: SignedIn = Depends(signed_in),
) -> Response:
    if filter not in FILTERS:
        shown = ", ".join(f for f in FILTERS if f)
        raise CloudbillError(ErrorCode.INVALID_ARGUMENT, f"filter is one of {shown}")
    rows, total = container_of(request).read(
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
    request: Request, who: SignedIn, customer_id: str, shown: Shown = Shown()
) -> HTMLResponse:
    c = container_of(request)
    d = dashboard(c, customer_id)
    profile = c.read(lambda conn, _now: customer_view(customers.get(conn, customer_id)))
    rows = {"limit": SHOWN_ROWS, "offset": 0}
    page = Page(request, who, d["name"], nav="customers", shown=shown)
    return render(
        request,
        "operator/customer.html",
        page,
        operator_console=True,
        dashboard=d,
        profile=profile,
        resources=list_resources(c, customer_id, rows),
        orders=list_orders(c, customer_id, status=None, order_type=None, **rows),
        history=history(c, customer_id, **rows),
        people=c.read(lambda conn, _now: users.list_users(conn, UserKind.CUSTOMER, customer_id)),
        invitation=shown.values.get("invitation"),
    )


@router.get("/customers/{customer_id}", response_class=HTMLResponse)
def customer_page(
    request: Request, customer_id: str, done: str | None = None, who: SignedIn = Depends(signed_in)
) -> Response:
    return _customer_page(request, who, customer_id, after(container_of(request), who, done))


def _act(
    request: Request,
    who: SignedIn,
    customer_id: str,
    form_key: str,
    action: Any,
    *,
    name: str | None,
    where: str,
    values: dict[str, Any],
) -> Response:
    """Apply an operator's form on a customer once; a refusal shows the customer's page again
    with the message beside the field, and an unknown customer is a missing page. `name`: the
    action's name in the audit trail, recorded with the form's fields under the operator user
    (None: the service records it itself, naming the operator user). What the outcome shows
    `once` (a secret link) is on this answer only: it is kept nowhere."""

    def audited(conn, now):  # type: ignore[no-untyped-def]
        message = action(conn, now)
        if name is not None:
            audit(conn, who, f"console.{name}", customer_id, values, now)
        return message

    try:
        outcome = apply_form(container_of(request), who, form_key, audited)
    except CloudbillError as error:
        if error.code is ErrorCode.CUSTOMER_NOT_FOUND:
            raise
        return _customer_page(request, who, customer_id, Shown.refused(error, where, **values))
    if outcome.once:
        shown = Shown(done=outcome.message, values=dict(outcome.once))
        return _customer_page(request, who, customer_id, shown)
    return done_redirect(request, f"/customers/{customer_id}", form_key)


@router.post("/customers/{customer_id}/top-up")
def top_up(
    request: Request,
    customer_id: str,
    form_key: str = Form("", max_length=64),
    amount: str = Form("", max_length=40),
    reference: str = Form("", max_length=128),
    who: SignedIn = Depends(acting),
) -> Response:
    """Money received: writes off debt first (restoring frozen resources), then adds to the
    balance. The payment's reference makes it idempotent beyond this form too."""
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

    values = {"amount": amount, "reference": reference}
    return _act(
        request, who, customer_id, form_key, action, name="top_up", where="amount", values=values
    )


@router.post("/customers/{customer_id}/adjust")
def adjust(
    request: Request,
    customer_id: str,
    form_key: str = Form("", max_length=64),
    direction: str = Form("", max_length=16),
    adjust_amount: str = Form("", max_length=40),
    reason: str = Form("", max_length=512),
    who: SignedIn = Depends(acting),
) -> Response:
    """A correction for services: a charge (paid like a fee) or a credit (paid in like a
    top-up), with its reason; billed as an adjustment."""

    def action(conn, now):  # type: ignore[no-untyped-def]
        customers.adjust(
            conn,
            customer_id,
            adjust_amount.strip(),
            direction=direction,
            reason=reason.strip(),
            reference=f"console-{form_key}",
            now=now,
        )
        return _(request, "Adjustment recorded") + f": {direction} {adjust_amount.strip()}"

    values = {"direction": direction, "adjust_amount": adjust_amount, "reason": reason}
    return _act(
        request,
        who,
        customer_id,
        form_key,
        action,
        name="adjust",
        where="adjust_amount",
        values=values,
    )


@router.post("/customers/{customer_id}/status")
def set_status(
    request: Request,
    customer_id: str,
    form_key: str = Form("", max_length=64),
    status: str = Form("", max_length=16),
    status_reason: str = Form("", max_length=512),
    who: SignedIn = Depends(acting),
) -> Response:
    """Freeze the account (no fee-incurring operation) or unfreeze it, with a reason."""

    def action(conn, now):  # type: ignore[no-untyped-def]
        try:
            target = CustomerStatus(status)
        except ValueError:
            raise CloudbillError(
                ErrorCode.INVALID_ARGUMENT, "status is active or frozen", field="status_reason"
            ) from None
        if not status_reason.strip():
            raise CloudbillError(ErrorCode.INVALID_ARGUMENT, "say why", field="status_reason")
        customers.set_status(
            conn, customer_id, target, reason=status_reason.strip(), now=now, actor=who.actor
        )
        return _(request, "Account status set") + f": {target}"

    values = {"status": status, "status_reason": status_reason}
    return _act(
        request,
        who,
        customer_id,
        form_key,
        action,
        name=None,  # customer.frozen / customer.unfrozen, under the operator user
        where="status_reason",
        values=values,
    )


@router.post("/customers/{customer_id}/credit-limit")
def credit_limit(
    request: Request,
    customer_id: str,
    form_key: str = Form("", max_length=64),
    limit: str = Form("", max_length=40),
    who: SignedIn = Depends(acting),
) -> Response:
    """A post-paid customer's credit limit."""

    def action(conn, now):  # type: ignore[no-untyped-def]
        customers.update(
            conn, customer_id, {"credit_limit": limit.strip()}, now=now, actor=who.actor
        )
        return _(request, "Credit limit set") + f": {limit.strip()}"

    return _act(
        request,
        who,
        customer_id,
        form_key,
        action,
        name=None,  # customer.updated, under the operator user
        where="limit",
        values={"limit": limit},
    )


@router.post("/customers/{customer_id}/users")
def invite_user(
    request: Request,
    customer_id: str,
    form_key: str = Form("", max_length=64),
    email: str = Form("", max_length=300),
    role: str = Form("admin", max_length=16),
    who: SignedIn = Depends(acting),
) -> Response:
    """A console user for the customer, invited: the link is shown on this answer only."""
    wall = container_of(request).wall.now()
    base = str(request.base_url).rstrip("/").removesuffix("/operator/console")

    def action(conn, _now):  # type: ignore[no-untyped-def]
        made = users.create(
            conn,
            kind=UserKind.CUSTOMER,
            customer_id=customer_id,
            email=email,
            role=role,
            actor=who.actor,
            now=wall,
        )
        link = f"{base}/console/invitation?token={made.invitation}"
        return Outcome(
            _(request, "Invitation made for") + f" {made.user.email}", once={"invitation": link}
        )

    values = {"email": email, "role": role}
    return _act(
        request,
        who,
        customer_id,
        form_key,
        action,
        name=None,  # user.invited, under the operator user
        where="email",
        values=values,
    )
