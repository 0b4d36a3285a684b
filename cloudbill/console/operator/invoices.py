"""Operator console: invoices of every customer — the requests to review (start, issue,
reject with a reason), returns to confirm, and each issued document's PDF. Each action is one
form applied once, written to the audit trail with the operator user who did it."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from ...api.shared import invoices as shared
from ...api.shared.params import Offset
from ...invoices import service as invoices
from ...invoices.model import Status
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
ACTIONS = {
    "start": "Invoice being issued",
    "issue": "Invoice issued",
    "reject": "Invoice rejected",
    "confirm_return": "Return confirmed",
}


def _page(request: Request, who: SignedIn, status: str, offset: int, shown: Shown) -> HTMLResponse:
    c = container_of(request)
    listed = shared.list_invoices(
        c, None, status=status or None, kind=None, limit=PAGE_SIZE_DEFAULT, offset=offset
    )
    page = Page(request, who, "Invoices", nav="invoices", shown=shown)
    return render(
        request,
        "operator/invoices.html",
        page,
        operator_console=True,
        invoices=listed,
        status=status,
        statuses=[s.value for s in Status],
        offset=offset,
        limit=PAGE_SIZE_DEFAULT,
    )


@router.get("/invoices", response_class=HTMLResponse)
def invoice_list(
    request: Request,
    status: str = "",
    offset: int = Offset,
    done: str | None = None,
    who: SignedIn = Depends(signed_in),
) -> Response:
    return _page(request, who, status, offset, after(container_of(request), who, done))


@router.post("/invoices/{invoice_id}/act")
def act(
    request: Request,
    invoice_id: str,
    form_key: str = Form("", max_length=64),
    action: str = Form("", max_length=16),
    reason: str = Form("", max_length=512),
    who: SignedIn = Depends(acting),
) -> Response:
    if action not in ACTIONS:
        raise CloudbillError(ErrorCode.INVALID_ARGUMENT, "action is " + ", ".join(ACTIONS))
    terms = shared.terms(container_of(request))

    def work(conn, now):  # type: ignore[no-untyped-def]
        done = invoices.act(conn, invoice_id, action, terms, now=now, reason=reason.strip() or None)
        audit(
            conn,
            who,
            f"invoice_{action}",
            done.customer_id,
            {"invoice_id": invoice_id, "reason": reason.strip() or None},
            now,
        )
        return _(request, ACTIONS[action]) + f": {done.number_text or invoice_id}"

    try:
        apply_form(container_of(request), who, form_key, work)
    except CloudbillError as error:
        if error.code is ErrorCode.INVOICE_NOT_FOUND:
            raise
        return _page(request, who, "", 0, Shown.refused(error, f"invoice-{invoice_id}"))
    return done_redirect(request, "/invoices", form_key)


@router.get("/invoices/{invoice_id}/pdf")
def pdf(request: Request, invoice_id: str, _who: SignedIn = Depends(signed_in)) -> Response:
    return shared.pdf(container_of(request), None, invoice_id)
