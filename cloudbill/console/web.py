"""The console's plumbing: templates, who is signed in, CSRF, forms applied once, and how a
refusal is shown beside its field.

Pages are server-rendered; a form posts, and on success the answer is a redirect (303) to the
page that shows the result, carrying the form's key so the page can say what was done. A form
submitted twice (a double click, a reload of the POST) is applied once: its key is recorded in
the transaction that applied it (users.sessions.claim_form).
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import Connection

from ..bootstrap import Container
from ..customers import repo as customer_repo
from ..kernel.errors import CloudbillError, ErrorCode
from ..kernel.ids import new_id
from ..users import sessions
from ..users.model import Session, SessionPolicy, User, UserKind
from . import formatting
from .i18n import gettext, translations

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
STATIC_PREFIX = "/console/static"

# Pages may load only what cloudbill serves: no CDN, no inline script, no framing.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


@dataclass(frozen=True, slots=True)
class Surface:
    """One console: the customers' or the operators'."""

    kind: UserKind
    root: str  # URL path the console is mounted at
    cookie: str  # its session cookie's name


CUSTOMER = Surface(UserKind.CUSTOMER, "/console", "cloudbill_session")
OPERATOR = Surface(UserKind.OPERATOR, "/operator/console", "cloudbill_operator_session")


def policy(c: Container) -> SessionPolicy:
    s = c.settings
    return SessionPolicy(
        lifetime_s=s.console_session_hours * 3600,
        idle_s=s.console_idle_minutes * 60,
        lockout_failures=s.console_lockout_failures,
        lockout_s=s.console_lockout_minutes * 60,
    )


def environment(c: Container) -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    catalogue = translations(c.settings.console_locale)
    env.install_gettext_translations(catalogue, newstyle=True)  # type: ignore[attr-defined]
    # A word from data (a status, a mode, a title that may be a resource's name) in the
    # console's language: a plain string, escaped like any data. `_()` is for the templates'
    # own literals only: its result is trusted markup.
    env.filters["word"] = lambda value: catalogue.gettext(str(value))
    rounding = c.settings.bill_rounding
    env.filters["money"] = lambda v, cur: formatting.shown_money(v, cur, rounding)
    env.filters["exact"] = formatting.exact_money
    env.filters["nonzero"] = formatting.nonzero
    env.filters["local"] = formatting.local_time
    env.filters["day"] = lambda v, tz: formatting.local_time(v, tz, with_time=False)
    env.globals["static"] = lambda name: f"{STATIC_PREFIX}/{name}"
    return env


class SignInRequired(Exception):
    """No live session: the answer is the sign-in page (a redirect to it)."""


@dataclass
class SignedIn:
    """The person signed in to this console: its session (and so the CSRF token its forms
    carry) and, for a form being applied, the fingerprint of what the form sent."""

    session: Session
    surface: Surface
    fingerprint: str = ""

    @property
    def user(self) -> User:
        return self.session.user

    @property
    def customer_id(self) -> str:
        assert self.user.customer_id is not None
        return self.user.customer_id

    @property
    def can_change(self) -> bool:
        return self.user.can_change

    @property
    def actor(self) -> str:
        return f"{self.surface.kind}:{self.user.email}"


def signed_in(request: Request) -> SignedIn:
    """The signed-in user of this console (FastAPI dependency), or the sign-in page."""
    c: Container = request.app.state.container
    surface: Surface = request.app.state.surface
    token = request.cookies.get(surface.cookie, "")
    wall = c.wall.now()
    found = c.read(lambda conn, _now: sessions.resume(conn, token, surface.kind, now=wall))
    if found is None:
        raise SignInRequired()
    session, due = found
    if due:
        c.write(lambda conn, _now: sessions.touch(conn, session, policy=policy(c), now=wall))
    return SignedIn(session, surface)


# What a form sends besides its own fields: not part of what it asks for.
FORM_PLUMBING = ("csrf_token", "form_key")


async def acting(request: Request) -> SignedIn:
    """A signed-in admin posting a form of its own session (FastAPI dependency for every
    POST): the form's CSRF token must be the session's, and a viewer changes nothing."""
    who = await run_in_threadpool(signed_in, request)  # database reads: off the event loop
    form = await request.form()
    sent = str(form.get("csrf_token") or request.headers.get("x-csrf-token") or "")
    if not secrets.compare_digest(sent.encode(), who.session.csrf_token.encode()):
        raise CloudbillError(
            ErrorCode.CSRF_FAILED,
            "this form is out of date or not from this console: reload the page",
        )
    if not who.can_change:
        raise CloudbillError(ErrorCode.FORBIDDEN, "a viewer can look but not change anything")
    fields = sorted(
        (k, v if isinstance(v, str) else f"file:{v.filename}")
        for k, v in form.multi_items()
        if k not in FORM_PLUMBING
    )
    who.fingerprint = hashlib.sha256(json.dumps([request.url.path, fields]).encode()).hexdigest()
    return who


@dataclass(frozen=True, slots=True)
class Shown:
    """How a page is shown: plainly, again after a refused form (its status, the refusal by
    field, the values sent back into the form), or after an applied one (what it said)."""

    http_status: int = 200
    errors: dict[str, str] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)
    done: str | None = None

    @classmethod
    def refused(cls, error: CloudbillError, where: str = "form", **values: Any) -> Shown:
        """`where`: the field a refusal that names none is shown beside."""
        return cls(refusal_status(error), field_errors(error, where), values)


@dataclass
class Page:
    """What every template gets besides its own figures."""

    request: Request
    me: SignedIn | None  # who is signed in (None: the sign-in pages)
    title: str
    nav: str = ""
    shown: Shown = field(default_factory=Shown)

    @property
    def errors(self) -> dict[str, str]:
        return self.shown.errors

    @property
    def values(self) -> dict[str, Any]:
        return self.shown.values

    @property
    def done(self) -> str | None:
        return self.shown.done

    def form_key(self) -> str:
        return new_id()

    def url(self, path: str, **query: Any) -> str:
        return console_url(self.request, path, **query)


def console_url(request: Request, path: str, **query: Any) -> str:
    """A path of this console, with the query parameters that have a value (a list: the
    parameter repeated, once per value)."""
    root = request.app.state.surface.root
    shown = {k: v for k, v in query.items() if v not in (None, "", [], ())}
    return f"{root}{path}" + (f"?{urlencode(shown, doseq=True)}" if shown else "")


def container_of(request: Request) -> Container:
    return request.app.state.container


def render(request: Request, template: str, page: Page, **context: Any) -> HTMLResponse:
    env: Environment = request.app.state.templates
    html = env.get_template(template).render(page=page, me=page.me, **context)
    return HTMLResponse(html, status_code=page.shown.http_status)


def refusal_status(error: CloudbillError) -> int:
    return error.http_status if 400 <= error.http_status < 500 else 400


def field_errors(error: CloudbillError, default_field: str = "form") -> dict[str, str]:
    """The refusal as {field: "CODE: message"}: the field it names, else the form's top."""
    where = str(error.details.get("field") or default_field)
    return {where: f"{error.code}: {error.message}"}


def after(c: Container, who: SignedIn, form_key: str | None) -> Shown:
    """A page shown after the form `form_key` was applied (the `done` of its redirect)."""
    return Shown(done=outcome_message(c, who, form_key))


def outcome_message(c: Container, who: SignedIn, form_key: str | None) -> str | None:
    """What a form applied earlier said (the `done` of the page it redirected to)."""
    first = c.read(lambda conn, _now: sessions.outcome_of(conn, who.user, form_key or ""))
    return Outcome.load(first).message if first else None


@dataclass(frozen=True, slots=True)
class Outcome:
    """What an applied form said, where its answer leads (None: the form's own page), and
    what is shown on this answer only (a secret: an access key's, an invitation link) — kept
    nowhere, so a second submit of the form answers without it."""

    message: str
    path: str | None = None
    once: dict[str, Any] = field(default_factory=dict)

    def dump(self) -> str:
        return json.dumps({"message": self.message, "path": self.path})

    @classmethod
    def load(cls, text: str) -> Outcome:
        data = json.loads(text)
        return cls(str(data["message"]), data.get("path"))


def apply_form(
    c: Container,
    who: SignedIn,
    form_key: str,
    action: Callable[[Connection, datetime], str | Outcome],
) -> Outcome:
    """Apply `action` (which returns the message to show, or an Outcome) once for this form
    key, in one transaction with the claim of the key (users.sessions.claim_form): a second
    submit answers the first's outcome, the same key with other fields is refused."""
    wall = c.wall.now()

    def work(conn: Connection, now: datetime) -> Outcome:
        first = sessions.claim_form(conn, who.user, form_key, who.fingerprint, wall)
        if first is not None:
            return Outcome.load(first)
        done = action(conn, now)
        outcome = done if isinstance(done, Outcome) else Outcome(done)
        sessions.settle_form(conn, who.user, form_key, outcome.dump())
        return outcome

    return c.write(work)


def audit(conn: Connection, who: SignedIn, action: str, customer_id: str | None,
          details: dict[str, Any], now: datetime) -> None:  # fmt: skip
    """Who did what from the console (the audit trail names the person, not "operator")."""
    customer_repo.add_audit(conn, at=now, actor=who.actor, customer_id=customer_id,
                            action=action, details=details)  # fmt: skip


def done_redirect(request: Request, path: str, form_key: str, **query: Any) -> RedirectResponse:
    """The answer to an applied form: the page that shows its outcome (303, so a reload of
    it applies nothing)."""
    return RedirectResponse(console_url(request, path, **query, done=form_key), status_code=303)


def sign_in_redirect(request: Request) -> RedirectResponse:
    surface: Surface = request.app.state.surface
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"{surface.root}/sign-in?next={quote(target)}", status_code=303)


def secure_headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def _(request: Request, message: str) -> str:
    """A message of the console's own, in the console's language."""
    return gettext(message, request.app.state.container.settings.console_locale)
