"""The interactive API docs, served offline: FastAPIOffline ships Swagger UI and ReDoc in its
wheel; a Content-Security-Policy on the doc pages keeps the browser on this server (ReDoc's
footer would otherwise fetch its logo from a CDN), so the docs look the same with no internet."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

DOC_PAGES = ("/docs", "/redoc", "/docs/oauth2-redirect")
POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self' 'unsafe-inline'; worker-src 'self' blob:; connect-src 'self'"
)


def keep_docs_local(app: FastAPI, prefix: str = "") -> None:
    """The policy header on the doc pages, added as the answer starts: a plain ASGI wrapper
    (a `@app.middleware("http")` costs every request a task group and a memory stream)."""
    pages = {prefix + page for page in DOC_PAGES}
    app.add_middleware(_DocsPolicy, pages=pages)


class _DocsPolicy:
    def __init__(self, app: ASGIApp, *, pages: set[str]) -> None:
        self.app, self.pages = app, pages

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in self.pages:
            await self.app(scope, receive, send)
            return

        async def send_with_policy(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["Content-Security-Policy"] = POLICY
            await send(message)

        await self.app(scope, receive, send_with_policy)
