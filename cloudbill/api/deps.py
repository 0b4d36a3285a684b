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
    c: Container = request.app.state.container
    if credentials is None or not c.operator_token_ok(credentials.credentials):
        raise CloudbillError(
            ErrorCode.UNAUTHENTICATED, "send the operator token as `Authorization: Bearer TOKEN`"
        )
