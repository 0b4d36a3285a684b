"""Request dependencies: the container and operator authentication."""

from __future__ import annotations

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ..bootstrap import Container
from ..kernel.errors import CloudbillError, ErrorCode

_bearer = HTTPBearer(auto_error=False, description="the operator token")


def container(request: Request) -> Container:
    return request.app.state.container


def require_operator(
    request: Request,
    credentials: HTTPAuthorizationCredentials | None = Depends(_bearer),
) -> None:
    state = request.app.state
    c: Container = state.container
    source = request.client.host if request.client else "unknown"
    if state.limits.auth_blocked(state.listener, source, None):
        raise CloudbillError(
            ErrorCode.RATE_LIMITED,
            "too many failed authentications from this address; try again later",
            retry_after_s=state.limits.failures.retry_after_s,
        )
    if credentials is None or not c.operator_token_ok(credentials.credentials):
        state.limits.auth_failed(state.listener, source, None)
        raise CloudbillError(
            ErrorCode.UNAUTHENTICATED, "send the operator token as `Authorization: Bearer TOKEN`"
        )
