"""The account's own records and people: balance history, notifications received, access
keys (the secret shown once) and console users (invite, role, disable)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from ...api.shared import access_keys as shared_keys
from ...api.shared.accounts import history
from ...bootstrap import Container
from ...credentials import service as credentials
from ...credentials.views import issued_key_view
from ...kernel.errors import CloudbillError, ErrorCode
from ...kernel.limits import PAGE_SIZE_DEFAULT
from ...notify.notices import operator as notices
from ...users import service as users
from ...users.model import UserKind
from ...views import instant
from ..web import (
    Outcome,
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
from .common import account_of

router = APIRouter()


def _c(request: Request) -> Container:
    return request.app.state.container


@router.get("/history", response_class=HTMLResponse)
def balance_history(request: Request, offset: int = 0, who: Viewer = Depends(viewer)) -> Response:
    c = _c(request)
    found = history(c, who.customer_id, limit=PAGE_SIZE_DEFAULT, offset=offset)
    page = Page(request, who, "Balance History", nav="history")
    return render(
        request,
        "history.html",
        page,
        found=found,
        offset=offset,
        limit=PAGE_SIZE_DEFAULT,
        **account_of(c, who),
    )


@router.get("/notifications", response_class=HTMLResponse)
def notifications(request: Request, offset: int = 0, who: Viewer = Depends(viewer)) -> Response:
    c = _c(request)
    total, rows = c.read(
        lambda conn, _now: notices.list_notices(
            conn,
            customer_id=who.customer_id,
            status=None,
            channel=None,
            limit=PAGE_SIZE_DEFAULT,
            offset=offset,
        )
    )
    items = [
        {
            "id": r.id,
            "kind": r.kind,
            "channel": r.channel,
            "recipient": r.recipient,
            "status": r.status,
            "sent_at": instant(r.sent_at),
            "created_at": instant(r.created_at),
            "subject": r.subject,
            "body": r.body,
        }
        for r in rows
    ]
    page = Page(request, who, "Notifications", nav="notifications")
    return render(
        request,
        "notifications.html",
        page,
        items=items,
        total=total,
        offset=offset,
        limit=PAGE_SIZE_DEFAULT,
        **account_of(c, who),
    )


# -- access keys -----------------------------------------------------------------------------


def _keys_page(
    request: Request,
    who: Viewer,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    issued: dict[str, Any] | None = None,
    done: str | None = None,
) -> HTMLResponse:
    c = _c(request)
    keys = shared_keys.list_keys(c, who.customer_id)
    page = Page(request, who, "Access Keys", nav="access-keys", errors=errors or {}, done=done)
    return render(
        request,
        "access_keys.html",
        page,
        http_status=status,
        keys=keys["items"],
        issued=issued,
        **account_of(c, who),
    )


@router.get("/access-keys", response_class=HTMLResponse)
def access_keys(
    request: Request, done: str | None = None, who: Viewer = Depends(viewer)
) -> Response:
    return _keys_page(request, who, done=outcome_message(_c(request), who, done))


@router.post("/access-keys")
def create_key(
    request: Request,
    form_key: str = Form("", max_length=64),
    description: str = Form("", max_length=600),
    who: Viewer = Depends(acting),
) -> Response:
    """A new AK/SK pair: the secret is on this answer only, never stored in the clear nor in
    the record of the form (a second submit of the form says the key was made, without it)."""
    c = _c(request)
    box = shared_keys.secret_box(request, c)
    shown: dict[str, Any] = {}

    def action(conn, now):  # type: ignore[no-untyped-def]
        issued = credentials.create(
            conn, who.customer_id, box=box, now=now, description=description.strip() or None
        )
        shown.update(issued_key_view(issued))
        return _(request, "Access key created") + f": {issued.key.id}"

    try:
        outcome = apply_form(c, who, form_key, action)
    except CloudbillError as error:
        return _keys_page(
            request, who, status=refusal_status(error), errors=field_errors(error, "description")
        )
    if not shown:  # the form was applied before: its secret was shown then
        return done_redirect(request, "/access-keys", form_key)
    return _keys_page(request, who, issued=shown, done=outcome.message)


@router.post("/access-keys/{access_key}/{action}")
def change_key(
    request: Request,
    access_key: str,
    action: str,
    form_key: str = Form("", max_length=64),
    who: Viewer = Depends(acting),
) -> Response:
    if action not in ("disable", "enable", "delete"):
        raise CloudbillError(ErrorCode.NOT_FOUND, "no such action")
    c = _c(request)

    def apply(conn, now):  # type: ignore[no-untyped-def]
        if action == "delete":
            credentials.delete(conn, access_key, customer_id=who.customer_id)
        else:
            credentials.set_enabled(
                conn, access_key, action == "enable", now=now, customer_id=who.customer_id
            )
        return f"{access_key}: " + _(request, action + "d")

    try:
        apply_form(c, who, form_key, apply)
    except CloudbillError as error:
        if error.code is ErrorCode.ACCESS_KEY_NOT_FOUND:
            raise
        return _keys_page(
            request,
            who,
            status=refusal_status(error),
            errors=field_errors(error, f"key-{access_key}"),
        )
    return done_redirect(request, "/access-keys", form_key)


# -- console users ---------------------------------------------------------------------------


def _users_page(
    request: Request,
    who: Viewer,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    invitation: str | None = None,
    done: str | None = None,
) -> HTMLResponse:
    c = _c(request)
    people = c.read(lambda conn, _now: users.list_users(conn, UserKind.CUSTOMER, who.customer_id))
    page = Page(
        request, who, "Users", nav="users", errors=errors or {}, values=values or {}, done=done
    )
    return render(
        request,
        "users.html",
        page,
        http_status=status,
        people=people,
        invitation=invitation,
        **account_of(c, who),
    )


@router.get("/users", response_class=HTMLResponse)
def user_list(request: Request, done: str | None = None, who: Viewer = Depends(viewer)) -> Response:
    return _users_page(request, who, done=outcome_message(_c(request), who, done))


@router.post("/users")
def invite(
    request: Request,
    form_key: str = Form("", max_length=64),
    email: str = Form("", max_length=300),
    name: str = Form("", max_length=200),
    role: str = Form("viewer", max_length=16),
    who: Viewer = Depends(acting),
) -> Response:
    """Invite a person: the invitation link is shown once, to be passed on to the invitee."""
    c = _c(request)
    wall = c.wall.now()
    link: dict[str, str] = {}

    def action(conn, _now):  # type: ignore[no-untyped-def]
        made = users.create(
            conn,
            kind=UserKind.CUSTOMER,
            customer_id=who.customer_id,
            email=email,
            name=name or None,
            role=role,
            actor=who.actor,
            now=wall,
        )
        link["token"] = made.invitation or ""
        return _(request, "Invitation made for") + f" {made.user.email}"

    try:
        outcome = apply_form(c, who, form_key, action)
    except CloudbillError as error:
        return _users_page(
            request,
            who,
            status=refusal_status(error),
            errors=field_errors(error, "email"),
            values={"email": email, "name": name, "role": role},
        )
    if not link:
        return done_redirect(request, "/users", form_key)
    base = str(request.base_url).rstrip("/")
    return _users_page(
        request, who, done=outcome.message, invitation=f"{base}/invitation?token={link['token']}"
    )


@router.post("/users/{user_id}/{action}")
def change_user(
    request: Request,
    user_id: str,
    action: str,
    form_key: str = Form("", max_length=64),
    who: Viewer = Depends(acting),
) -> Response:
    changes: dict[str, dict[str, Any]] = {
        "make-admin": {"role": "admin"},
        "make-viewer": {"role": "viewer"},
        "disable": {"enabled": False},
        "enable": {"enabled": True},
        "delete": {},
    }
    if action not in changes:
        raise CloudbillError(ErrorCode.NOT_FOUND, "no such action")
    c = _c(request)
    wall = c.wall.now()

    def apply(conn, _now):  # type: ignore[no-untyped-def]
        user = users.get(conn, user_id, kind=UserKind.CUSTOMER, customer_id=who.customer_id)
        if action == "delete":
            users.delete(conn, user, actor=who.actor, now=wall)
        else:
            users.update(conn, user, actor=who.actor, now=wall, **changes[action])
        return Outcome(f"{user.email}: " + _(request, action.replace("-", " ")))

    try:
        apply_form(c, who, form_key, apply)
    except CloudbillError as error:
        if error.code is ErrorCode.USER_NOT_FOUND:
            raise
        return _users_page(
            request,
            who,
            status=refusal_status(error),
            errors=field_errors(error, f"user-{user_id}"),
        )
    return done_redirect(request, "/users", form_key)
