"""Bill storage in the Billing Center: the Overview card's switch, and the page with the bucket
settings, a Verify button that says beside the fields what failed, and the recent pushes.

Switching on verifies the bucket first (outside any transaction: the bucket is no part of it),
then applies the switch as a form, once."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from ...api.shared.access_keys import secret_box
from ...kernel.errors import CloudbillError, ErrorCode
from ...storage import service as storage
from ...storage.model import FileFormat, Problem, VerifyReport
from ...storage.views import config_view, push_view
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
from .overview import _overview

router = APIRouter()
PATH = "/bill-storage"
RECENT_PUSHES = 10
SWITCH_FIELD = "storage_enabled"
# The field a failed check is shown beside: what the customer has to change.
PROBLEM_FIELD = {
    Problem.BUCKET_NOT_FOUND: "bucket",
    Problem.ACCESS_DENIED: "access_key_id",
    Problem.ENDPOINT_UNREACHABLE: "endpoint_url",
}
TEXT_FIELDS = ("endpoint_url", "region", "bucket", "prefix", "access_key_id")


def _page(request: Request, who: SignedIn, shown: Shown = Shown()) -> HTMLResponse:
    c = container_of(request)

    def read(conn, _now):  # type: ignore[no-untyped-def]
        config, _last = storage.card(conn, who.customer_id)
        if config is None:
            return None, []
        return config_view(config), storage.pushes(conn, who.customer_id, limit=RECENT_PUSHES)

    config, pushes = c.read(read)
    page = Page(request, who, "Bill storage", nav="overview", shown=shown)
    return render(
        request,
        "bill_storage.html",
        page,
        config=config,
        pushes=[push_view(p) for p in pushes],
        formats=[f.value for f in FileFormat],
        **account_of(c, who),
    )


@router.get(PATH, response_class=HTMLResponse)
def storage_page(
    request: Request, done: str | None = None, who: SignedIn = Depends(signed_in)
) -> Response:
    return _page(request, who, after(container_of(request), who, done))


def _settings(request: Request, who: SignedIn, form_key: str, sent: dict[str, Any]) -> None:
    """Save the settings the form sent (once for its key); an empty secret keeps the saved
    one."""
    box = secret_box(request, container_of(request))

    def action(conn, now):  # type: ignore[no-untyped-def]
        storage.configure(conn, box, who.customer_id, now=now, **sent)
        return _(request, "Bill storage settings saved")

    apply_form(container_of(request), who, form_key, action)


def _sent(
    endpoint_url: str, region: str, bucket: str, prefix: str, access_key_id: str,
    secret_access_key: str, bills: list[str], file_format: str,
) -> dict[str, Any]:  # fmt: skip
    return {
        "endpoint_url": endpoint_url.strip(), "region": region.strip(),
        "bucket_name": bucket.strip(), "prefix": prefix, "access_key_id": access_key_id,
        "secret_access_key": secret_access_key or None, "bills": bills,
        "file_format": file_format,
    }  # fmt: skip


@router.post(PATH)
def save(
    request: Request,
    form_key: str = Form("", max_length=64),
    endpoint_url: str = Form("", max_length=600),
    region: str = Form("", max_length=100),
    bucket: str = Form("", max_length=100),
    prefix: str = Form("", max_length=500),
    access_key_id: str = Form("", max_length=200),
    secret_access_key: str = Form("", max_length=200),
    bills: list[str] = Form([]),
    file_format: str = Form("", max_length=16),
    verify: str = Form("", max_length=8),
    who: SignedIn = Depends(acting),
) -> Response:
    """Save the bucket settings; with the Verify button, also check the bucket they name and
    show what failed beside the field to change."""
    sent = _sent(endpoint_url, region, bucket, prefix, access_key_id, secret_access_key,
                 bills[:4], file_format)  # fmt: skip
    values = {"endpoint_url": endpoint_url, "region": region, "bucket": bucket,
              "prefix": prefix, "access_key_id": access_key_id, "bills": bills[:4],
              "file_format": file_format}  # fmt: skip
    try:
        _settings(request, who, form_key, sent)
    except CloudbillError as error:
        return _page(request, who, Shown.refused(error, "form", **values))
    if verify != "true":
        return done_redirect(request, PATH, form_key)
    c = container_of(request)
    report = storage.verify(c, secret_box(request, c), who.customer_id)
    return _page(request, who, _verified(request, report, values))


def _verified(request: Request, report: VerifyReport, values: dict[str, Any]) -> Shown:
    if report.ok:
        message = _(request, "Bucket verified: a test object was written, read back and deleted")
        return Shown(done=message, values={"verified": True})
    assert report.problem is not None
    where = PROBLEM_FIELD.get(report.problem, "form")
    text = f"{report.problem}: {_(request, 'the check failed at')} {report.step}: {report.message}"
    return Shown(200, {where: text}, values | {"verified": False})


@router.post(PATH + "/switch")
def switch(
    request: Request,
    form_key: str = Form("", max_length=64),
    enabled: str = Form("", max_length=8),
    back: str = Form("overview", max_length=16),
    who: SignedIn = Depends(acting),
) -> Response:
    """The bill storage switch (the Overview card's and the page's): on only with a bucket
    that passes its verification now."""
    c = container_of(request)
    on = enabled == "true"
    path = PATH if back == "storage" else "/"

    verified = ""

    def action(conn, now):  # type: ignore[no-untyped-def]
        if on:
            storage.switch_on(conn, who.customer_id, verified=verified, now=now)
            return _(request, "Bill storage on")
        storage.disable(conn, who.customer_id, now=now)
        return _(request, "Bill storage off")

    try:
        if on:
            report = storage.verify(c, secret_box(request, c), who.customer_id)
            if not report.ok:
                raise storage.unverified(report)
            verified = report.settings
        apply_form(c, who, form_key, action)
    except CloudbillError as error:
        shown = Shown.refused(error, SWITCH_FIELD)
        if error.code is ErrorCode.BILL_STORAGE_NOT_SET_UP or path == PATH:
            return _page(request, who, shown)
        return _overview(request, who, shown)
    return done_redirect(request, path, form_key)
