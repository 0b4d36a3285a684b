"""Orders: Unpaid Orders (pay one or several together with the balance and chosen cash
coupons, cancel), an order's details, and every order of the account."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from ...api.shared.benefits import list_coupons
from ...api.shared.orders import list_orders, show
from ...api.shared.params import Offset
from ...kernel.errors import CloudbillError, ErrorCode
from ...kernel.limits import PAGE_SIZE_DEFAULT
from ...orders import service as orders
from ...orders.model import OrderStatus
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
from .common import account_of

router = APIRouter()
COUPONS_OFFERED_MAX = 100  # a payment takes at most this many coupons (as the APIs)
LOOKUP_FAILURES = (ErrorCode.ORDER_NOT_FOUND, ErrorCode.NOT_FOUND)


@router.get("/orders", response_class=HTMLResponse)
def order_list(
    request: Request,
    status: str = OrderStatus.PENDING_PAYMENT,
    offset: int = Offset,
    done: str | None = None,
    who: SignedIn = Depends(signed_in),
) -> Response:
    """Unpaid Orders by default; `status=` any other status, or empty for every order."""
    return _list_page(request, who, status, offset, after(container_of(request), who, done))


def _list_page(request: Request, who: SignedIn, status: str, offset: int, shown: Shown) -> Response:
    c = container_of(request)
    shown_orders = list_orders(
        c,
        who.customer_id,
        status=status or None,
        order_type=None,
        limit=PAGE_SIZE_DEFAULT,
        offset=offset,
    )
    unpaid = status == OrderStatus.PENDING_PAYMENT
    # Unpaid orders can be paid together, the chosen coupons shared over them pro rata.
    coupons = (
        list_coupons(c, who.customer_id, status="active", limit=COUPONS_OFFERED_MAX, offset=0)
        if unpaid
        else {"items": []}
    )
    title = "Unpaid Orders" if unpaid else "Orders"
    page = Page(request, who, title, nav="orders", shown=shown)
    return render(
        request,
        "orders.html",
        page,
        orders=shown_orders,
        status=status,
        offset=offset,
        limit=PAGE_SIZE_DEFAULT,
        statuses=[s.value for s in OrderStatus],
        coupons=coupons["items"],
        coupons_per_payment=c.settings.coupons_per_payment,
        **account_of(c, who),
    )


@router.post("/orders/pay")
def pay_selected(
    request: Request,
    form_key: str = Form("", max_length=64),
    order_id: list[str] = Form([], max_length=PAGE_SIZE_DEFAULT),
    coupon_id: list[str] = Form([], max_length=COUPONS_OFFERED_MAX),
    who: SignedIn = Depends(acting),
) -> Response:
    """Pay the selected unpaid orders together, all or none: each chosen coupon is shared over
    them pro rata by amount (the remainder on the last), then the balance (and credit)."""
    order_ids, coupon_ids = list(order_id), list(coupon_id)

    def action(conn, now):  # type: ignore[no-untyped-def]
        paid = orders.pay_together(
            conn,
            who.customer_id,
            order_ids,
            coupon_ids=coupon_ids,
            reference=f"console-{form_key}",
            coupons_max=container_of(request).settings.coupons_per_payment,
            now=now,
        )
        return _(request, "Orders paid") + ": " + ", ".join(o.id for o in paid)

    try:
        apply_form(container_of(request), who, form_key, action)
    except CloudbillError as error:
        shown = Shown.refused(error, "pay", coupon_ids=coupon_ids, order_ids=order_ids)
        return _list_page(request, who, OrderStatus.PENDING_PAYMENT, 0, shown)
    return done_redirect(request, "/orders", form_key)


def _order_page(request: Request, who: SignedIn, order_id: str, shown: Shown) -> HTMLResponse:
    c = container_of(request)
    order = show(c, who.customer_id, order_id)
    coupons = list_coupons(c, who.customer_id, status="active", limit=COUPONS_OFFERED_MAX, offset=0)
    page = Page(request, who, f"Order {order['id']}", nav="orders", shown=shown)
    return render(
        request, "order.html", page, order=order, coupons=coupons["items"], **account_of(c, who)
    )


@router.get("/orders/{order_id}", response_class=HTMLResponse)
def order_page(
    request: Request, order_id: str, done: str | None = None, who: SignedIn = Depends(signed_in)
) -> Response:
    return _order_page(request, who, order_id, after(container_of(request), who, done))


@router.post("/orders/{order_id}/pay")
def pay(
    request: Request,
    order_id: str,
    form_key: str = Form("", max_length=64),
    coupon_id: list[str] = Form([], max_length=COUPONS_OFFERED_MAX),
    who: SignedIn = Depends(acting),
) -> Response:
    """Pay with the chosen cash coupons first, then the balance (and credit)."""
    coupon_ids = list(coupon_id)

    def action(conn, now):  # type: ignore[no-untyped-def]
        paid = orders.pay(
            conn,
            who.customer_id,
            order_id,
            coupon_ids=coupon_ids,
            reference=f"console-{form_key}",
            coupons_max=container_of(request).settings.coupons_per_payment,
            now=now,
        )
        return _(request, "Order paid") + f": {paid.id}"

    try:
        apply_form(container_of(request), who, form_key, action)
    except CloudbillError as error:
        if error.code in LOOKUP_FAILURES:
            raise
        shown = Shown.refused(error, "pay", coupon_ids=coupon_ids)
        return _order_page(request, who, order_id, shown)
    return done_redirect(request, f"/orders/{order_id}", form_key)


@router.post("/orders/{order_id}/cancel")
def cancel(
    request: Request,
    order_id: str,
    form_key: str = Form("", max_length=64),
    reason: str = Form("", max_length=256),
    who: SignedIn = Depends(acting),
) -> Response:
    def action(conn, now):  # type: ignore[no-untyped-def]
        orders.cancel(conn, who.customer_id, order_id, reason=reason.strip() or None, now=now)
        return _(request, "Order cancelled") + f": {order_id}"

    try:
        apply_form(container_of(request), who, form_key, action)
    except CloudbillError as error:
        if error.code in LOOKUP_FAILURES:
            raise
        return _order_page(request, who, order_id, Shown.refused(error, "cancel"))
    return done_redirect(request, f"/orders/{order_id}", form_key)
