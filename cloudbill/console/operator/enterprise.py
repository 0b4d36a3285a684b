"""Operator console: enterprise associations of every customer (filter by status), with the
operator's actions: cancel an invitation, disassociate (refused, beside the row, while the
member still holds funds, credit, coupons or arrears)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from ...api.shared import enterprise as shared
from ...api.shared.params import Offset
from ...enterprise import service
from ...enterprise.model import AssociationStatus
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
    audit,
    container_of,
    done_redirect,
    render,
    signed_in,
)

router = APIRouter()
ACTIONS = {"cancel": "Invitation cancelled", "disassociate": "Disassociated"}


def _page(request: Request, who: SignedIn, status: str, offset: int, shown: Shown) -> HTMLResponse:
    c = container_of(request)
    listed = shared.list_associations(
        c, master_id=None, member_id=None, status=status or None,
        limit=PAGE_SIZE_DEFAULT, offset=offset,
    )  # fmt: skip
    page = Page(request, who, "Enterprise", nav="enterprise", shown=shown)
    return render(
        request,
        "operator/enterprise.html",
        page,
        operator_console=True,
        associations=listed,
        status=status,
        statuses=[s.value for s in AssociationStatus],
        offset=offset,
        limit=PAGE_SIZE_DEFAULT,
    )


@router.get("/enterprise", response_class=HTMLResponse)
def association_list(
    request: Request,
    status: str = "",
    offset: int = Offset,
    done: str | None = None,
    who: SignedIn = Depends(signed_in),
) -> Response:
    return _page(request, who, status, offset, after(container_of(request), who, done))


@router.post("/enterprise/{association_id}/act")
def act(
    request: Request,
    association_id: str,
    form_key: str = Form("", max_length=64),
    action: str = Form("", max_length=16),
    who: SignedIn = Depends(acting),
) -> Response:
    if action not in ACTIONS:
        raise CloudbillError(ErrorCode.INVALID_ARGUMENT, "action is " + ", ".join(ACTIONS))

    def work(conn, now):  # type: ignore[no-untyped-def]
        use_case = service.cancel if action == "cancel" else service.disassociate
        done = use_case(conn, association_id=association_id, now=now)
        audit(conn, who, f"enterprise_{action}", done.master_id,
              {"association_id": done.id, "member_id": done.member_id}, now)  # fmt: skip
        return _(request, ACTIONS[action]) + f": {done.member_id}"

    try:
        apply_form(container_of(request), who, form_key, work)
    except CloudbillError as error:
        if error.code is ErrorCode.ENTERPRISE_ASSOCIATION_NOT_FOUND:
            raise
        shown = Shown.refused(error, f"association-{association_id}")
        return _page(request, who, "", 0, shown)
    return done_redirect(request, "/enterprise", form_key)
