"""A bound on request bodies, enforced while they are read and before anything else looks at
them (authentication included): a declared Content-Length past the bound is refused at once,
and a body sent without one (chunked) is cut off as soon as it passes the bound. Memory never
holds more than the bound of one request, whoever sends it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..kernel.errors import CloudbillError, ErrorCode


def too_large(max_bytes: int) -> CloudbillError:
    return CloudbillError(
        ErrorCode.PAYLOAD_TOO_LARGE, f"the request body is larger than {max_bytes} bytes"
    )


class BodyLimit:
    """ASGI middleware (`app.add_middleware(BodyLimit, max_bytes=…, refuse=…)`): `refuse()`
    answers a body past the bound, at once when its length is declared, else as soon as the
    body read so far passes the bound; the application then sees the client gone, and whatever
    it would still answer is dropped."""

    def __init__(self, app: ASGIApp, *, max_bytes: int, refuse: Callable[[], Response]) -> None:
        self.app, self.max_bytes, self.refuse = app, max_bytes, refuse

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await self.refuse()(scope, receive, send)
            return
        seen, refused = 0, False

        async def bounded() -> Message:
            nonlocal seen, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    refused = True
                    await self.refuse()(scope, receive, send)
                    return {"type": "http.disconnect"}
            return message

        async def unless_refused(message: Message) -> None:
            if not refused:
                await send(message)

        try:
            await self.app(scope, bounded, unless_refused)
        except Exception:
            if not refused:
                raise  # the application's own fault; after a refusal, only the client's


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            text: Any = value.decode("latin-1").strip()
            return int(text) if text.isdigit() else None
    return None
