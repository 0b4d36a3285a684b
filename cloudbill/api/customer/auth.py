"""Who is calling the customer API: the customer of an access key, proven by HTTP Basic (AK as
user name, SK as password) or by an SDK-HMAC-SHA256 signature as the BSS listener verifies it."""

from __future__ import annotations

from fastapi import Depends, Request
from fastapi.security import HTTPBasic, HTTPBasicCredentials

from ...kernel.errors import CloudbillError, ErrorCode
from ..bss.signing import ALGORITHM
from ..keyauth import KeyCaller, KeyRefused, Refusal, verify_basic, verify_signed

_basic = HTTPBasic(
    auto_error=False,
    description="access key (AK) as the user name, secret key (SK) as the password",
)
HOW = (
    "authenticate with HTTP Basic (AK as user name, SK as password) or an SDK-HMAC-SHA256 signature"
)


def _refused(refused: KeyRefused) -> CloudbillError:
    if refused.reason is Refusal.RATE_LIMITED:
        return CloudbillError(
            ErrorCode.RATE_LIMITED, refused.message, retry_after_s=refused.retry_after_s
        )
    return CloudbillError(ErrorCode.UNAUTHENTICATED, refused.message)


async def caller(
    request: Request, basic: HTTPBasicCredentials | None = Depends(_basic)
) -> KeyCaller:
    """The calling key and its customer; any refusal is a 401 (or 429) and changes nothing."""
    scheme = request.headers.get("authorization", "").strip().split(" ", 1)[0]
    try:
        if scheme == ALGORITHM:
            return await verify_signed(request)
        if basic is not None:
            return await verify_basic(request, basic.username, basic.password)
    except KeyRefused as refused:
        raise _refused(refused) from None
    raise CloudbillError(ErrorCode.UNAUTHENTICATED, HOW)
