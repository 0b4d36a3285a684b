"""What every request must be before anything else looks at it (authentication included):

* a body no larger than the bound, enforced while it is read: a declared Content-Length past
  the bound is refused at once, and a body sent without one (chunked) as soon as it passes the
  bound, so memory never holds more than the bound of one request, whoever sends it;
* no control characters in its text: NUL, which PostgreSQL cannot store in text, and the other
  C0 controls but tab, line feed and carriage return, whether percent-encoded in the path or
  query or escaped (`\\u0000`) in a JSON body. Names, ids, references and reasons are text a
  person reads; a control character in one is an attack or a bug, refused with a stable code.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import unquote_to_bytes

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..kernel.errors import CloudbillError, ErrorCode

# A JSON escape of a control character, with the backslashes before it (an even run is
# escaped backslashes, not an escape).
_JSON_CONTROL = re.compile(rb"(\\+)u00(?:0[0-8bBcCeEfF]|1[0-9a-fA-F])")
_RAW_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_TAIL = 64  # bytes of the previous chunk kept, so an escape split between chunks is seen


def too_large(max_bytes: int) -> CloudbillError:
    return CloudbillError(
        ErrorCode.PAYLOAD_TOO_LARGE, f"the request body is larger than {max_bytes} bytes"
    )


def control_character(where: str) -> CloudbillError:
    return CloudbillError(
        ErrorCode.INVALID_ARGUMENT,
        f"the request's {where} holds a control character (NUL, or another below space but "
        "tab and line breaks): text fields refuse them",
    )


def _has_json_control(data: bytes) -> bool:
    return any(len(m.group(1)) % 2 == 1 for m in _JSON_CONTROL.finditer(data))


class RequestGuard:
    """ASGI middleware (`app.add_middleware(RequestGuard, max_bytes=…, refuse=…)`): `refuse`
    turns a CloudbillError into this listener's error answer. A body refused while it is read
    leaves the application seeing the client gone; whatever it would still answer is dropped."""

    def __init__(
        self, app: ASGIApp, *, max_bytes: int, refuse: Callable[[CloudbillError], Response]
    ) -> None:
        self.app, self.max_bytes, self.refuse = app, max_bytes, refuse

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        early = self._before_the_body(scope)
        if early is not None:
            await self.refuse(early)(scope, receive, send)
            return
        seen, tail, refused = 0, b"", False

        async def guarded() -> Message:
            nonlocal seen, tail, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                chunk = message.get("body", b"")
                seen += len(chunk)
                problem = None
                if seen > self.max_bytes:
                    problem = too_large(self.max_bytes)
                elif _has_json_control(tail + chunk) or _RAW_CONTROL.search(chunk):
                    problem = control_character("body")
                tail = (tail + chunk)[-_TAIL:]
                if problem is not None:
                    refused = True
                    await self.refuse(problem)(scope, receive, send)
                    return {"type": "http.disconnect"}
            return message

        async def unless_refused(message: Message) -> None:
            if not refused:
                await send(message)

        try:
            await self.app(scope, guarded, unless_refused)
        except Exception:
            if not refused:
                raise  # the application's own fault; after a refusal, only the client's

    def _before_the_body(self, scope: Scope) -> CloudbillError | None:
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            return too_large(self.max_bytes)
        raw_path = scope.get("raw_path") or scope.get("path", "").encode()
        for where, raw in (("path", raw_path), ("query", scope.get("query_string", b""))):
            if _RAW_CONTROL.search(unquote_to_bytes(raw)):
                return control_character(where)
        return None


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isdigit() else None
    return None
