"""The account's own records and people: balance history, notifications received, access
keys (the secret shown once) and console users (invite, role, disable)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from ...api.shared import access_keys as shared_keys
from ...api.shared.accounts import history
from ...api.shared.params import Offset
from ...credentials import service as credentials
from ...credentials.views import issued_key_view
from ...kernel.errors import CloudbillError, ErrorCode
from ...kernel.limits import PAGE_SIZE_DEFAULT
from ...notify.notices import operator as notices
from ...users import service as users
from ...users.model import UserKind
from ..web import (
    Outcome,
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


@router.get("/history", response_class=HTMLResponse)
def balance_history(
    request: Request, offset: int = Offset, who: SignedIn = Depends(signed_in)
) -> Response:
    c = container_of(request)
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
def notifications(
    request: Request, offset: int = Offset, who: SignedIn = Depends(signed_in)
) -> Response:
    c = container_of(request)
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
    items = [notices.customer_view(r) for r in rows]
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
    request: Request, who: SignedIn, shown: Shown = Shown(), issued: dict[str, Any] | None = None
) -> HTMLResponse:
    c = container_of(request)
    keys = shared_keys.list_keys(c, who.customer_id)
    page = Page(request, who, "Access Keys", nav="access-keys", shown=shown)
    return render(
        request, "access_keys.html", page, keys=keys["items"], issued=issued, **account_of(c, who)
    )


@router.get("/access-keys", response_class=HTMLResponse)
def access_keys(
    request: Request, done: str | None = None, who: SignedIn = Depends(signed_in)
) -> Response:
    return _keys_page(request, who, after(container_of(request), who, done))


@router.post("/access-keys")
def create_key(
    request: Request,
    form_key: str = Form("", max_length=64),
    description: str = Form("", max_length=600),
    who: SignedIn = Depends(acting),
) -> Response:
    """A new AK/SK pair: the secret is on this answer only, never stored in the clear nor in
    the record of the form (a second submit of the form says the key was made, without it)."""
    c = container_of(request)
    box = shared_keys.secret_box(request, c)

    def action(conn, now):  # type: ignore[no-untyped-def]
        made = credentials.create(
            conn, who.customer_id, box=box, now=now, description=description.strip() or None
        )
        said = _(request, "Access key created") + f": {made.key.id}"
        return Outcome(said, once=issued_key_view(made))

    try:
        outcome = apply_form(c, who, form_key, action)
    except CloudbillError as error:
        return _keys_page(request, who, Shown.refused(error, "description"))
    if not outcome.once:  # the form was applied before: its secret was shown then
        return done_redirect(request, "/access-keys", form_key)
    return _keys_page(request, who, Shown(done=outcome.message), outcome.once)


@router.post("/access-keys/{access_key}/{action}")
def change_key(
    request: Request,
    access_key: str,
    action: str,
    form_key: str = Form("", max_length=64),
    who: SignedIn = Depends(acting),
) -> Response:
    if action not in ("disable", "enable", "delete"):
        raise CloudbillError(ErrorCode.NOT_FOUND, "no such action")

    def apply(conn, now):  # type: ignore[no-untyped-def]
        if action == "delete":
            credentials.delete(conn, access_key, customer_id=who.customer_id)
        else:
            enable = action == "enable"
            credentials.set_enabled(conn, access_key, enable, now=now, customer_id=who.customer_id)
        return f"{access_key}: " + _(request, action + "d")

    try:
        apply_form(container_of(request), who, form_key, apply)
    except CloudbillError as error:
        if error.code is ErrorCode.ACCESS_KEY_NOT_FOUND:
            raise
        return _keys_page(request, who, Shown.refused(error, f"key-{access_key}"))
    return done_redirect(request, "/access-keys", form_key)


# -- console users ---------------------------------------------------------------------------

USER_CHANGES: dict[str, dict[str, Any]] = {
    "make-admin": {"role": "admin"},
    "make-viewer": {"role": "viewer"},
    "disable": {"enabled": False},
    "enable": {"enabled": True},
    "delete": {},
}


def _users_page(
    request: Request, who: SignedIn, shown: Shown = Shown(), invitation: str | None = None
) -> HTMLResponse:
    c = container_of(request)
    people = c.read(lambda conn, _now: users.list_users(conn, UserKind.CUSTOMER, who.customer_id))
    page = Page(request, who, "Users", nav="users", shown=shown)
    return render(
        request, "users.html", page, people=people, invitation=invitation, **account_of(c, who)
    )


@router.get("/users", response_class=HTMLResponse)
def user_list(
    request: Request, done: str | None = None, who: SignedIn = Depends(signed_in)
) -> Response:
    return _users_page(request, who, after(container_of(request), who, done))


@router.post("/users")
def invite(
    request: Request,
    form_key: str = Form("", max_length=64),
    email: str = Form("", max_length=300),
    name: str = Form("", max_length=200),
    role: str = Form("viewer", max_length=16),
    who: SignedIn = Depends(acting),
) -> Response:
    """Invite a person: the invitation link is shown once, to be passed on to the invitee."""
    c = container_of(request)
    wall = c.wall.now()

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
        said = _(request, "Invitation made for") + f" {made.user.email}"
        return Outcome(said, once={"token": made.invitation or ""})

    try:
        outcome = apply_form(c, who, form_key, action)
    except CloudbillError as error:
        shown = Shown.refused(error, "email", email=email, name=name, role=role)
        return _users_page(request, who, shown)
    if not outcome.once:
        return done_redirect(request, "/users", form_key)
    base = str(request.base_url).rstrip("/")
    invitation = f"{base}/invitation?token={outcome.once['token']}"
    return _users_page(request, who, Shown(done=outcome.message), invitation)


@router.post("/users/{user_id}/{action}")
def change_user(
    request: Request,
    user_id: str,
    action: str,
    form_key: str = Form("", max_length=64),
    who: SignedIn = Depends(acting),
) -> Response:
    if action not in USER_CHANGES:
        raise CloudbillError(ErrorCode.NOT_FOUND, "no such action")
    wall = container_of(request).wall.now()

    def apply(conn, _now):  # type: ignore[no-untyped-def]
        user = users.get(conn, user_id, kind=UserKind.CUSTOMER, customer_id=who.customer_id)
        if user.id == who.user.id:
            raise CloudbillError(
                ErrorCode.INVALID_STATE,
                "another admin changes your own user",
                field=f"user-{user_id}",
            )
        if action == "delete":
            users.delete(conn, user, actor=who.actor, now=wall)
        else:
            users.update(conn, user, actor=who.actor, now=wall, **USER_CHANGES[action])
        return Outcome(f"{user.email}: " + _(request, action.replace("-", " ")))

    try:
        apply_form(container_of(request), who, form_key, apply)
    except CloudbillError as error:
        if error.code is ErrorCode.USER_NOT_FOUND:
            raise
        return _users_page(request, who, Shown.refused(error, f"user-{user_id}"))
    return done_redirect(request, "/users", form_key)
