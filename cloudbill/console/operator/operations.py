"""Operator console: how the billing center runs. Status (settlement lag, held customers,
webhook and notice backlogs), settlement runs (and running the due jobs now), customers set
aside by settlement (and voiding a wrong usage record), provider webhooks' dead letters and
customer notices (retry), catalog versions (check, load, activate), the simulated clock, and
the audit trail."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, Response

from ...api.shared.params import Offset, RowId
from ...catalog import loader
from ...catalog import repo as catalog_repo
from ...catalog import service as catalog_service
from ...catalog.index import CatalogIndex
from ...customers import service as customers
from ...kernel.errors import CloudbillError, ErrorCode
from ...kernel.ids import new_id
from ...kernel.limits import CATALOG_FILE_MAX_BYTES, CLOCK_ADVANCE_MAX_DAYS, PAGE_SIZE_DEFAULT
from ...notify import webhooks
from ...notify.notices import operator as notices
from ...settle import holds
from ...settle import repo as settle_repo
from ...store import clock_repo
from ...worker import health
from ...worker.jobs import run_due
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


def _page(
    request: Request,
    who: SignedIn,
    template: str,
    title: str,
    nav: str,
    shown: Shown = Shown(),
    **context: Any,
) -> HTMLResponse:
    page = Page(request, who, title, nav=nav, shown=shown)
    return render(request, f"operator/{template}", page, operator_console=True, **context)


def _applied(
    request: Request,
    who: SignedIn,
    form_key: str,
    action: Any,
    *,
    name: str,
    where: str,
    details: dict[str, Any],
    back: str,
    refused: Any,
) -> Response:
    """Apply an operator's form once, audited under the operator user; a refusal shows the
    page again (`refused(shown)`) with the message beside `where`."""

    def audited(conn, now):  # type: ignore[no-untyped-def]
        message = action(conn, now)
        audit(conn, who, f"console.{name}", None, details, now)
        return message

    try:
        apply_form(container_of(request), who, form_key, audited)
    except CloudbillError as error:
        return refused(Shown.refused(error, where, **details))
    return done_redirect(request, back, form_key)


# -- status and settlement -------------------------------------------------------------------


@router.get("/status", response_class=HTMLResponse)
def status(request: Request, who: SignedIn = Depends(signed_in)) -> Response:
    c = container_of(request)
    figures = c.read(lambda conn, now: health.figures(conn, c.settings, now=now))
    clock = c.read(lambda conn, _now: clock_repo.read_clock(conn))
    return _page(
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
    return _page(
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
    return _page(
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

    return _applied(
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


# -- webhooks and notices --------------------------------------------------------------------


def _deliveries(
    request: Request, who: SignedIn, shown: Shown, status: str = "dead", offset: int = 0
) -> HTMLResponse:
    c = container_of(request)
    dead_total, dead = c.read(
        lambda conn, _now: webhooks.dead_letters(conn, limit=PAGE_SIZE_DEFAULT, offset=0)
    )
    total, rows = c.read(
        lambda conn, _now: notices.list_notices(
            conn,
            status=None if status in ("", "all") else status,
            limit=PAGE_SIZE_DEFAULT,
            offset=offset,
        )
    )
    return _page(
        request,
        who,
        "deliveries.html",
        "Webhooks and notices",
        "deliveries",
        shown,
        dead=dead,
        dead_total=dead_total,
        notices=[notices.view(r) for r in rows],
        total=total,
        status=status,
        offset=offset,
        limit=PAGE_SIZE_DEFAULT,
        endpoint=c.settings.webhook_url,
    )


@router.get("/deliveries", response_class=HTMLResponse)
def deliveries(
    request: Request,
    status: str = "dead",
    offset: int = Offset,
    done: str | None = None,
    who: SignedIn = Depends(signed_in),
) -> Response:
    return _deliveries(request, who, after(container_of(request), who, done), status, offset)


@router.post("/deliveries/webhooks/{event_id}/retry")
def retry_webhook(
    request: Request,
    event_id: int = RowId,
    form_key: str = Form("", max_length=64),
    who: SignedIn = Depends(acting),
) -> Response:
    wall = container_of(request).wall.now()

    def action(conn, _now):  # type: ignore[no-untyped-def]
        if not webhooks.retry_dead(conn, event_id, now=wall):
            raise CloudbillError(ErrorCode.NOT_FOUND, f"no dead-lettered event {event_id}")
        return _(request, "Event will be delivered again") + f": {event_id}"

    return _applied(
        request,
        who,
        form_key,
        action,
        name="retry_webhook",
        where=f"event-{event_id}",
        details={"event_id": event_id},
        back="/deliveries",
        refused=lambda shown: _deliveries(request, who, shown),
    )


@router.post("/deliveries/notices/{notice_id}/retry")
def retry_notice(
    request: Request,
    notice_id: int = RowId,
    form_key: str = Form("", max_length=64),
    who: SignedIn = Depends(acting),
) -> Response:
    c = container_of(request)

    def action(conn, now):  # type: ignore[no-untyped-def]
        notices.retry(conn, notice_id, c.settings, now=now)
        return _(request, "Notice will be sent again") + f": {notice_id}"

    return _applied(
        request,
        who,
        form_key,
        action,
        name="retry_notice",
        where=f"notice-{notice_id}",
        details={"notice_id": notice_id},
        back="/deliveries",
        refused=lambda shown: _deliveries(request, who, shown),
    )


# -- catalog ---------------------------------------------------------------------------------


def _catalog(request: Request, who: SignedIn, shown: Shown) -> HTMLResponse:
    rows = container_of(request).read(lambda conn, _now: catalog_repo.list_versions(conn))
    return _page(request, who, "catalog.html", "Catalog", "catalog", shown, versions=rows)


@router.get("/catalog", response_class=HTMLResponse)
def catalog(
    request: Request, done: str | None = None, who: SignedIn = Depends(signed_in)
) -> Response:
    return _catalog(request, who, after(container_of(request), who, done))


def _document(upload: UploadFile):  # type: ignore[no-untyped-def]
    raw = upload.file.read(CATALOG_FILE_MAX_BYTES + 1)
    if len(raw) > CATALOG_FILE_MAX_BYTES:
        raise CloudbillError(
            ErrorCode.CATALOG_INVALID, "the catalog file is too large", field="document"
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise CloudbillError(
            ErrorCode.CATALOG_INVALID,
            "a catalog file is UTF-8 text (YAML or JSON)",
            field="document",
        ) from None
    return loader.parse_text(text, source=upload.filename or "upload")


@router.post("/catalog/check")
def check_catalog(
    request: Request, document: UploadFile = File(...), who: SignedIn = Depends(acting)
) -> Response:
    """Validate a catalog file and list what it would break if activated now; changes
    nothing."""
    c = container_of(request)
    try:
        parsed = _document(document)
        c.read(
            lambda conn, now: catalog_service.refuse_if_breaking(
                conn, CatalogIndex(parsed), now=now
            )
        )
    except CloudbillError as error:
        return _catalog(
            request, who, Shown.refused(error, "document", breaks=error.details.get("breaks", []))
        )
    said = _(request, "The catalog is valid and breaks nothing in use") + f": {parsed.version}"
    return _catalog(request, who, Shown(done=said))


@router.post("/catalog/load")
def load_catalog(
    request: Request,
    form_key: str = Form("", max_length=64),
    allow_breaking: str = Form("", max_length=8),
    document: UploadFile = File(...),
    who: SignedIn = Depends(acting),
) -> Response:
    """Load a catalog file as a new version and activate it (refused with the list of what it
    would break, unless the operator allows it knowingly)."""
    try:
        parsed = _document(document)
    except CloudbillError as error:
        return _catalog(request, who, Shown.refused(error, "document"))
    breaking = allow_breaking == "true"

    def action(conn, now):  # type: ignore[no-untyped-def]
        result = catalog_service.load(
            conn, parsed, source=f"console:{document.filename}", now=now, allow_breaking=breaking
        )
        return _(request, "Catalog version active") + f": {result.version}"

    return _applied(
        request,
        who,
        form_key,
        action,
        name="load_catalog",
        where="document",
        details={"version": parsed.version, "allow_breaking": breaking},
        back="/catalog",
        refused=lambda shown: _catalog(request, who, shown),
    )


@router.post("/catalog/versions/{version}/activate")
def activate(
    request: Request,
    version: str,
    form_key: str = Form("", max_length=64),
    allow_breaking: str = Form("", max_length=8),
    who: SignedIn = Depends(acting),
) -> Response:
    breaking = allow_breaking == "true"

    def action(conn, now):  # type: ignore[no-untyped-def]
        catalog_service.activate_version(conn, version, now=now, allow_breaking=breaking)
        return _(request, "Catalog version active") + f": {version}"

    return _applied(
        request,
        who,
        form_key,
        action,
        name="activate_catalog",
        where=f"version-{version}",
        details={"version": version, "allow_breaking": breaking},
        back="/catalog",
        refused=lambda shown: _catalog(request, who, shown),
    )


# -- clock and audit -------------------------------------------------------------------------


def _clock(request: Request, who: SignedIn, shown: Shown) -> HTMLResponse:
    mode, now = container_of(request).read(lambda conn, _now: clock_repo.read_clock(conn))
    return _page(
        request,
        who,
        "clock.html",
        "Clock",
        "clock",
        shown,
        mode=mode,
        now=now,
        simulated=mode == clock_repo.SIMULATED,
        max_days=CLOCK_ADVANCE_MAX_DAYS,
    )


@router.get("/clock", response_class=HTMLResponse)
def clock(
    request: Request, done: str | None = None, who: SignedIn = Depends(signed_in)
) -> Response:
    return _clock(request, who, after(container_of(request), who, done))


@router.post("/clock/advance")
def advance(
    request: Request,
    form_key: str = Form("", max_length=64),
    days: str = Form("0", max_length=8),
    hours: str = Form("0", max_length=8),
    who: SignedIn = Depends(acting),
) -> Response:
    """Simulated mode only: move billing time forward; the worker then catches up every job
    deterministically (demos and rehearsals)."""

    def action(conn, _now):  # type: ignore[no-untyped-def]
        try:
            step = timedelta(days=int(days or 0), hours=int(hours or 0))
        except (ValueError, OverflowError):
            raise CloudbillError(
                ErrorCode.INVALID_ARGUMENT, "whole days and hours", field="days"
            ) from None
        if step <= timedelta(0) or step > timedelta(days=CLOCK_ADVANCE_MAX_DAYS):
            raise CloudbillError(
                ErrorCode.INVALID_ARGUMENT,
                f"advance by 1 hour to {CLOCK_ADVANCE_MAX_DAYS} days",
                field="days",
            )
        moved = clock_repo.advance(conn, step)
        return _(request, "Billing time is now") + f" {moved.isoformat()}"

    return _applied(
        request,
        who,
        form_key,
        action,
        name="advance_clock",
        where="days",
        details={"days": days, "hours": hours},
        back="/clock",
        refused=lambda shown: _clock(request, who, shown),
    )


@router.get("/audit", response_class=HTMLResponse)
def audit_trail(
    request: Request,
    customer_id: str = "",
    actor: str = "",
    offset: int = Offset,
    who: SignedIn = Depends(signed_in),
) -> Response:
    rows, total = container_of(request).read(
        lambda conn, _now: customers.audit_trail(
            conn,
            customer_id=customer_id or None,
            actor=actor or None,
            limit=PAGE_SIZE_DEFAULT,
            offset=offset,
        )
    )
    return _page(
        request,
        who,
        "audit.html",
        "Audit trail",
        "audit",
        rows=rows,
        total=total,
        customer_id=customer_id,
        actor=actor,
        offset=offset,
        limit=PAGE_SIZE_DEFAULT,
    )
