"""Enterprise accounts in the Billing Center. A master: its members with their accounting
mode, status and balances, an invitation form, allocation and recall to an independent member
(the refusal beside the field it names), and the movements made. A member: its invitation
(accept or decline) or its association. Every figure comes from the API's shared functions."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from ...api.shared import enterprise as shared
from ...api.shared.params import Offset
from ...customers import service as customers
from ...enterprise import allocation, service
from ...enterprise.model import AccountingMode, AllocationKind, Direction
from ...kernel.errors import CloudbillError, ErrorCode
from ...kernel.limits import PAGE_SIZE_DEFAULT
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
PATH = "/enterprise"


def _page(request: Request, who: SignedIn, offset: int = 0, shown: Shown = Shown()) -> Response:
    c = container_of(request)
    page = Page(request, who, "Enterprise", nav="enterprise", shown=shown)
    members = shared.members(c, who.customer_id, limit=PAGE_SIZE_DEFAULT, offset=offset)
    return render(
        request,
        "enterprise.html",
        page,
        members=members,
        mine=shared.my_association(c, who.customer_id),
        moves=shared.history(c, who.customer_id, limit=PAGE_SIZE_DEFAULT, offset=0),
        modes=[m.value for m in AccountingMode],
        kinds=[k.value for k in AllocationKind],
        offset=offset,
        limit=PAGE_SIZE_DEFAULT,
        **account_of(c, who),
    )


@router.get(PATH, response_class=HTMLResponse)
def enterprise_page(
    request: Request,
    offset: int = Offset,
    done: str | None = None,
    who: SignedIn = Depends(signed_in),
) -> Response:
    return _page(request, who, offset, after(container_of(request), who, done))


@router.post(PATH + "/invite")
def invite(
    request: Request,
    form_key: str = Form("", max_length=64),
    member_id: str = Form("", max_length=128),
    mode: str = Form("", max_length=16),
    who: SignedIn = Depends(acting),
) -> Response:
    def action(conn, now):  # type: ignore[no-untyped-def]
        member = customers.resolve(conn, member_id.strip())
        made = service.invite(conn, master_id=who.customer_id, member_id=member, mode=mode, now=now)
        return _(request, "Invitation sent") + f": {made.member_id}"

    try:
        apply_form(container_of(request), who, form_key, action)
    except CloudbillError as error:
        shown = Shown.refused(error, "member_id", member_id=member_id, mode=mode)
        return _page(request, who, shown=shown)
    return done_redirect(request, PATH, form_key)


@router.post(PATH + "/move")
def move(
    request: Request,
    form_key: str = Form("", max_length=64),
    association_id: str = Form("", max_length=32),
    direction: str = Form("", max_length=16),
    kind: str = Form("", max_length=16),
    amount: str = Form("", max_length=40),
    coupon_id: str = Form("", max_length=32),
    who: SignedIn = Depends(acting),
) -> Response:
    """Allocate or recall; the form's own key is the movement's request id, so a second
    submit of the same form moves nothing twice."""

    def action(conn, now):  # type: ignore[no-untyped-def]
        try:
            way = Direction(direction)
        except ValueError:
            raise CloudbillError(
                ErrorCode.INVALID_ARGUMENT, "allocate or recall", field="direction"
            ) from None
        done = allocation.move(
            conn, association_id=association_id, kind=kind, direction=way, amount=amount,
            request_id=form_key, coupon_id=coupon_id.strip() or None,
            master_id=who.customer_id, now=now,
        )  # fmt: skip
        return _(request, "Allocated" if way is Direction.ALLOCATE else "Recalled") + (
            f": {kind} {amount} ({done.member_id})"
        )

    try:
        apply_form(container_of(request), who, form_key, action)
    except CloudbillError as error:
        values = {"association_id": association_id, "direction": direction, "kind": kind,
                  "amount": amount, "coupon_id": coupon_id}  # fmt: skip
        return _page(request, who, shown=Shown.refused(error, "amount", **values))
    return done_redirect(request, PATH, form_key)


@router.post(PATH + "/{association_id}/{action}")
def answer(
    request: Request,
    association_id: str,
    action: str,
    form_key: str = Form("", max_length=64),
    who: SignedIn = Depends(acting),
) -> Response:
    """The member accepts or declines; the master cancels its invitation."""
    if action not in ("accept", "decline", "cancel"):
        raise CloudbillError(ErrorCode.NOT_FOUND, "no such action")

    def work(conn, now):  # type: ignore[no-untyped-def]
        if action == "cancel":
            service.cancel(conn, association_id=association_id, master_id=who.customer_id, now=now)
            return _(request, "Invitation cancelled")
        use_case = service.accept if action == "accept" else service.decline
        use_case(conn, member_id=who.customer_id, association_id=association_id, now=now)
        return _(request, "Invitation accepted" if action == "accept" else "Invitation declined")

    try:
        apply_form(container_of(request), who, form_key, work)
    except CloudbillError as error:
        if error.code is ErrorCode.ENTERPRISE_ASSOCIATION_NOT_FOUND:
            raise
        return _page(request, who, shown=Shown.refused(error, f"association-{association_id}"))
    return done_redirect(request, PATH, form_key)
