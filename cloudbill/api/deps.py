"""Request dependencies: the container and operator authentication."""

from __future__ import annotations

import secrets

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
    expected = request.app.state.operator_token
    if credentials is None or not secrets.compare_digest(
        credentials.credentials.encode(), expected.encode()
    ):
        raise CloudbillError(
            ErrorCode.UNAUTHENTICATED, "send the operator token as `Authorization: Bearer TOKEN`"
        )
