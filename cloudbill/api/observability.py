"""Every HTTP answer: a request id (the caller's `X-Request-Id` when it is a sane token, else a
new one) in the `X-Request-Id` header and on every log line of the request, one log event per
request with its route, status and duration, and the request counted in the metrics.

`observe` goes on the outermost application of a listener; `record_route` on an application
mounted inside it, so the metrics name the mounted route's template, not the mount."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Awaitable, Callable

import structlog
from fastapi import FastAPI, Request, Response
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..observe import logs
from ..observe.metrics import HTTP_LATENCY, HTTP_REQUESTS

Next = Callable[[Request], Awaitable[Response]]
SANE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
QUIET_PATHS = ("/health", "/ready", "/metrics")  # probes: logged at debug only
log = logs.get("cloudbill.http")


METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def _method(request: Request) -> str:
    """A metrics label: any other method token a client makes up counts as "other"."""
    return request.method if request.method in METHODS else "other"


def _pattern(template: str) -> re.Pattern[str]:
    """`/a/{id}/b` matches `/a/<one segment>/b`."""
    parts = re.split(r"\{[^/]+?\}", template)
    return re.compile("[^/]+".join(re.escape(part) for part in parts) + "$")


class RouteNames:
    """The route template a request answers to (`/operator/v1/customers/{customer_id}`), read
    from the application's own OpenAPI document: the label of a request in the metrics, never
    the raw path (ids would make a series per customer). A template of the request's method
    wins, literal segments before parameters (`/coupons/expire` before `/coupons/{id}`)."""

    def __init__(self, app: FastAPI, prefix: str = "") -> None:
        self._app, self._prefix = app, prefix
        self._patterns: list[tuple[re.Pattern[str], str, frozenset[str]]] | None = None

    def _compile(self) -> list[tuple[re.Pattern[str], str, frozenset[str]]]:
        paths = self._app.openapi().get("paths", {})
        found = [
            (_pattern(t), t, frozenset(m.upper() for m in operations))
            for t, operations in paths.items()
        ]
        return sorted(found, key=lambda p: (p[1].count("{"), -len(p[1])))

    def name(self, method: str, path: str) -> str:
        if self._patterns is None:
            self._patterns = self._compile()
        inner = path[len(self._prefix) :] if path.startswith(self._prefix) else path
        matches = [(t, methods) for pattern, t, methods in self._patterns if pattern.match(inner)]
        for template, methods in matches:
            if method in methods:
                return self._prefix + template
        if matches:
            return self._prefix + matches[0][0]  # a method the route does not take (405)
        return "other"  # docs, static files, unknown paths


def record_route(app: FastAPI, prefix: str, on_error: Callable[[str], Response]) -> None:
    """For an application mounted inside an observed one: tell the outer application which
    route answered, and answer a fault here (a mounted application's own error middleware
    would otherwise answer it in plain text, before the outer one sees it)."""
    names = RouteNames(app, prefix)

    @app.middleware("http")
    async def _record(request: Request, call_next: Next) -> Response:
        request.state.route_template = names.name(_method(request), request.url.path)
        try:
            return await call_next(request)
        except Exception:
            request_id = structlog.contextvars.get_contextvars().get("request_id", "")
            log.exception("request failed", method=request.method, path=request.url.path)
            return on_error(request_id)


def observe(
    app: FastAPI, api_of: Callable[[str], str], on_error: Callable[[str], Response]
) -> None:
    """`api_of(path)` names the API a path belongs to (a metrics label); `on_error(request id)`
    answers a fault that escaped every handler (it is logged with its traceback). A plain ASGI
    wrapper: a `@app.middleware("http")` costs every request a task group and a memory stream,
    and every request of every listener goes through this one."""
    app.add_middleware(_Observe, names=RouteNames(app), api_of=api_of, on_error=on_error)


class _Observe:
    def __init__(  # type: ignore[no-untyped-def]
        self, app: ASGIApp, *, names: RouteNames, api_of, on_error
    ) -> None:
        self.app, self.names, self.api_of, self.on_error = app, names, api_of, on_error

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = Headers(scope=scope).get("x-request-id", "")
        request_id = given if SANE_ID.fullmatch(given) else uuid.uuid4().hex
        logs.bind_request(request_id)
        started = time.perf_counter()
        answered: list[int] = []  # the status, once the answer has started

        async def send_observed(message: Message) -> None:
            if message["type"] == "http.response.start":
                answered.append(message["status"])
                MutableHeaders(scope=message)["X-Request-Id"] = request_id
            await send(message)

        path, method = scope["path"], scope["method"]
        try:
            await self.app(scope, receive, send_observed)
        except Exception:
            log.exception("request failed", method=method, path=path)
            if answered:  # too late for another answer: the server closes the connection
                raise
            await self.on_error(request_id)(scope, receive, send_observed)
        finally:
            elapsed = time.perf_counter() - started
            label = method if method in METHODS else "other"
            route = scope.get("state", {}).get("route_template") or self.names.name(label, path)
            api = self.api_of(path)
            status = answered[0] if answered else 500
            HTTP_REQUESTS.labels(api, route, label, str(status)).inc()
            HTTP_LATENCY.labels(api, route, label).observe(elapsed)
            (log.debug if path in QUIET_PATHS else log.info)(
                "request", method=method, route=route, status=status,
                duration_ms=round(elapsed * 1000, 1),
            )  # fmt: skip
            logs.unbind_request()
