"""Signing in and out of a console, and accepting an invitation.

The sign-in form has no session yet to carry a CSRF token, so it carries a double-submit
token: the same random value in a cookie and in the form. Failed sign-ins count against the
user (lockout, users.sessions) and against the source address (the API's failed-authentication
budget), so neither guessing one user's password nor many users' passwords from one place
goes far.
"""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ..bootstrap import Container
from ..kernel.errors import CloudbillError, ErrorCode
from ..users import passwords, sessions
from ..users import service as users
from .web import Page, Shown, SignedIn, Surface, policy, render, signed_in

router = APIRouter()
SIGN_IN_COOKIE = "cloudbill_sign_in"


def _state(request: Request) -> tuple[Container, Surface]:
    return request.app.state.container, request.app.state.surface


def _safe_next(surface: Surface, target: str | None) -> str:
    """Only a path inside this console: never another site (an open redirect)."""
    if (
        target
        and target.startswith(surface.root + "/")
        and "//" not in target
        and "\\" not in target
    ):
        return target
    return surface.root + "/"


def _sign_in_page(
    request: Request, *, next_url: str, email: str = "", refusal: CloudbillError | None = None
) -> HTMLResponse:
    _c, surface = _state(request)
    token = secrets.token_urlsafe(24)
    shown = Shown.refused(refusal, "password", email=email) if refusal else Shown()
    page = Page(request, None, "Sign in", shown=shown)
    response = render(
        request,
        "sign_in.html",
        page,
        next_url=next_url,
        sign_in_token=token,
        operator=surface.root != "/console",
    )
    response.set_cookie(
        SIGN_IN_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        path=surface.root,
        secure=request.url.scheme == "https",
    )
    return response


@router.get("/sign-in", response_class=HTMLResponse)
def sign_in_form(request: Request, next: str | None = None) -> Response:
    _c, surface = _state(request)
    return _sign_in_page(request, next_url=_safe_next(surface, next))


@router.post("/sign-in")
def sign_in(
    request: Request,
    email: str = Form("", max_length=300),
    password: str = Form("", max_length=1024),
    sign_in_token: str = Form("", max_length=100),
    next_url: str = Form("", alias="next", max_length=2000),
) -> Response:
    c, surface = _state(request)
    target = _safe_next(surface, next_url)
    cookie = request.cookies.get(SIGN_IN_COOKIE, "")
    if not cookie or not secrets.compare_digest(cookie.encode(), sign_in_token.encode()):
        error = CloudbillError(ErrorCode.CSRF_FAILED, "the sign-in form expired: try again")
        return _sign_in_page(request, next_url=target, email=email, refusal=error)
    limits = request.app.state.limits
    source = request.client.host if request.client else "unknown"
    listener = f"console-{surface.kind}"
    if limits.auth_blocked(listener, source, None):
        error = CloudbillError(
            ErrorCode.RATE_LIMITED,
            "too many failed sign-ins from this address: try again later",
            retry_after_s=limits.failures.retry_after_s,
        )
        response = _sign_in_page(request, next_url=target, email=email, refusal=error)
        response.headers["Retry-After"] = str(error.retry_after_s)
        return response
    outcome = _check(c, surface, email, password)
    if outcome.refusal is not None or outcome.token is None:
        limits.auth_failed(listener, source, None)
        error = outcome.refusal or CloudbillError(ErrorCode.UNAUTHENTICATED, sessions.REFUSED)
        return _sign_in_page(request, next_url=target, email=email, refusal=error)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        surface.cookie,
        outcome.token,
        httponly=True,
        samesite="lax",
        path=surface.root,
        secure=request.url.scheme == "https",
        max_age=policy(c).lifetime_s,
    )
    response.delete_cookie(SIGN_IN_COOKIE, path=surface.root)
    return response


def _check(c: Container, surface: Surface, email: str, password: str) -> sessions.SignIn:
    """The password checked outside any transaction (Argon2 is slow: no lock waits on it),
    between reading the user and recording the outcome under its row lock."""
    found = c.read(lambda conn, _now: sessions.credentials(conn, surface.kind, email))
    user, encoded = found if found else (None, None)
    good = passwords.verify(encoded, password)
    rehash = passwords.hash_password(password) if good and passwords.needs_rehash(encoded) else None
    wall = c.wall.now()
    return c.write(
        lambda conn, _now: sessions.record(
            conn, user.id if user else None, good, rehash=rehash, policy=policy(c), now=wall
        )
    )


@router.post("/sign-out")
def sign_out(
    request: Request,
    csrf_token: str = Form("", max_length=100),
    who: SignedIn = Depends(signed_in),
) -> Response:
    c, surface = _state(request)
    sent = csrf_token
    if not secrets.compare_digest(sent.encode(), who.session.csrf_token.encode()):
        raise CloudbillError(ErrorCode.CSRF_FAILED, "reload the page and sign out again")
    c.write(lambda conn, _now: sessions.sign_out(conn, who.session))
    response = RedirectResponse(f"{surface.root}/sign-in", status_code=303)
    response.delete_cookie(surface.cookie, path=surface.root)
    return response


@router.get("/invitation", response_class=HTMLResponse)
def invitation_form(request: Request, token: str = "") -> Response:
    page = Page(request, None, "Accept the invitation")
    return render(request, "invitation.html", page, token=token[:100])


@router.post("/invitation")
def accept_invitation(
    request: Request,
    token: str = Form("", max_length=100),
    password: str = Form("", max_length=1024),
    password_again: str = Form("", max_length=1024),
) -> Response:
    c, surface = _state(request)
    wall = c.wall.now()
    try:
        if password != password_again:
            raise CloudbillError(
                ErrorCode.INVALID_ARGUMENT, "the two passwords differ", field="password_again"
            )
        c.write(
            lambda conn, _now: users.accept_invitation(
                conn, token, password, kind=surface.kind, now=wall
            )
        )
    except CloudbillError as error:
        page = Page(request, None, "Accept the invitation", shown=Shown.refused(error, "token"))
        return render(request, "invitation.html", page, token=token)
    return RedirectResponse(f"{surface.root}/sign-in?welcome=1", status_code=303)
