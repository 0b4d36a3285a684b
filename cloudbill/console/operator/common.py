"""What the operator console's pages share: rendering an operator page, and applying an
operator's form once, audited under the operator user."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from ...kernel.errors import CloudbillError
from ..web import Page, Shown, SignedIn, apply_form, audit, container_of, done_redirect, render


def operator_page(
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


def applied(
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
