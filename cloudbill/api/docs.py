"""The interactive API docs, served offline: FastAPIOffline ships Swagger UI and ReDoc in its
wheel; a Content-Security-Policy on the doc pages keeps the browser on this server (ReDoc's
footer would otherwise fetch its logo from a CDN), so the docs look the same with no internet."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response

DOC_PAGES = ("/docs", "/redoc", "/docs/oauth2-redirect")
POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self' 'unsafe-inline'; worker-src 'self' blob:; connect-src 'self'"
)


def keep_docs_local(app: FastAPI, prefix: str = "") -> None:
    pages = {prefix + page for page in DOC_PAGES}

    @app.middleware("http")
    async def _policy(request: Request, call_next: Callable[[Request], Awaitable[Response]]):  # type: ignore[no-untyped-def]
        response = await call_next(request)
        if request.url.path in pages:
            response.headers["Content-Security-Policy"] = POLICY
        return response
