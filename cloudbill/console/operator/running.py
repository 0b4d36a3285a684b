"""Operator console: Status (settlement lag, held customers, backlogs), settlement runs
(and running the due jobs now), and customers set aside by settlement (void a wrong usage
record)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from ...api.shared.params import Offset
from ...kernel.errors import CloudbillError, ErrorCode
from ...kernel.ids import new_id
from ...kernel.limits import PAGE_SIZE_DEFAULT
from ...settle import holds
from ...settle import repo as settle_repo
from ...store import clock_repo
from ...worker import health
from ...worker.jobs import run_due
from ..web import (
    Shown,
    SignedIn,
    _,
    acting,
    after,
    apply_form,
    audit,
    container_of,
    done_redirect,
    signed_in,
)
from .common import applied, operator_page

router = APIRouter()


@router.get("/status", response_class=HTMLResponse)
def status(request: Request, who: SignedIn = Depends(signed_in)) -> Response:
    c = container_of(request)
    figures = c.read(lambda conn, now: health.figures(conn, c.settings, now=now))
    clock = c.read(lambda conn, _now: clock_repo.read_clock(conn))
    return operator_page(
        request,
        who,
        "status.html",
        "Status",
        "status",
        figures=figures,
        clock_mode=clock[0],
        clock_now=clock[1],
    )


def _settlements(request: Request, who: SignedIn, shown: Shown, offset: int = 0) -> HTMLResponse:
    c = container_of(request)
    total, runs = c.read(
        lambda conn, _now: settle_repo.list_runs(conn, limit=PAGE_SIZE_DEFAULT, offset=offset)
    )
    lag = c.read(lambda conn, now: health.lag(conn, c.settings, now=now))
    return operator_page(
        request,
        who,
        "settlements.html",
        "Settlements",
        "settlements",
        shown,
        runs=runs,
        total=total,
        lag=lag,
        offset=offset,
        limit=PAGE_SIZE_DEFAULT,
    )


@router.get("/settlements", response_class=HTMLResponse)
def settlements(
    request: Request,
    offset: int = Offset,
    done: str | None = None,
    who: SignedIn = Depends(signed_in),
) -> Response:
    return _settlements(request, who, after(container_of(request), who, done), offset)


@router.post("/settlements/run-due")
def run_due_now(request: Request, who: SignedIn = Depends(acting)) -> Response:
    """What the worker does every minute, now: each job is keyed by its period, so running it
    again, or beside the worker, settles nothing twice. The answer is a redirect to the page
    that says what was done (a reload runs nothing)."""
    c = container_of(request)
    report = run_due(c)
    figures = {"hours_settled": len(report.settled), "transitions": len(report.transitions)}
    said = _(request, "Due jobs run") + ": " + ", ".join(f"{k} {v}" for k, v in figures.items())
    key = new_id()

    def record(conn, now):  # type: ignore[no-untyped-def]
        audit(conn, who, "console.run_due", None, figures, now)
        return said

    apply_form(c, who, key, record)
    return done_redirect(request, "/settlements", key)


@router.get("/holds", response_class=HTMLResponse)
def held(
    request: Request,
    include_released: bool = False,
    offset: int = Offset,
    done: str | None = None,
    who: SignedIn = Depends(signed_in),
) -> Response:
    return _holds(request, who, after(container_of(request), who, done), include_released, offset)


def _holds(
    request: Request, who: SignedIn, shown: Shown, include_released: bool = False, offset: int = 0
) -> HTMLResponse:
    total, rows = container_of(request).read(
        lambda conn, _now: holds.list_holds(
            conn, include_released=include_released, limit=PAGE_SIZE_DEFAULT, offset=offset
        )
    )
    return operator_page(
        request,
        who,
        "holds.html",
        "Set aside",
        "holds",
        shown,
        rows=rows,
        total=total,
        include_released=include_released,
        offset=offset,
        limit=PAGE_SIZE_DEFAULT,
    )


@router.post("/holds/void")
def void_usage(
    request: Request,
    form_key: str = Form("", max_length=64),
    record_id: str = Form("", max_length=128),
    reason: str = Form("", max_length=512),
    who: SignedIn = Depends(acting),
) -> Response:
    """Set a wrong usage record of a held customer aside for good (never billed)."""

    def action(conn, now):  # type: ignore[no-untyped-def]
        if not reason.strip():
            raise CloudbillError(ErrorCode.INVALID_ARGUMENT, "say why", field="reason")
        holds.void_usage(conn, record_id.strip(), reason=reason.strip(), now=now)
        return _(request, "Usage record voided") + f": {record_id.strip()}"

    return applied(
        request,
        who,
        form_key,
        action,
        name="void_usage",
        where="record_id",
        details={"record_id": record_id, "reason": reason},
        back="/holds",
        refused=lambda shown: _holds(request, who, shown),
    )
