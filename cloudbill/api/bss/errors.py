"""Huawei's error shape, `{"error_code": "CBC.xxxx", "error_msg": "..."}`, for every refusal, and
the engine's stable codes translated to the CBC codes the BSS documentation lists."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from ...kernel.errors import CloudbillError, ErrorCode
from ..errors import database_failure
from .jsonnum import ExactJSONResponse

BAD_PARAMETER = "CBC.0100"  # 400: invalid or missing parameter
ILLEGAL_OPERATION = "CBC.0150"  # 403
ACCESS_DENIED = "CBC.0151"  # 403: no permission, wrong account, another domain
AUTH_FAILED = "CBC.0154"  # 401: AK/SK authentication failed or expired
FLOW_CONTROL = "CBC.0250"  # 429
INTERNAL = "CBC.0999"  # 500


class BssError(Exception):
    def __init__(
        self, status: int, code: str, message: str, retry_after_s: int | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.retry_after_s = retry_after_s  # sent as `Retry-After` (429, 503)


def not_found(message: str) -> BssError:
    # Huawei answers an unknown id as a bad parameter; another customer's id looks the same.
    return BssError(400, BAD_PARAMETER, message)


def bad_parameter(message: str) -> BssError:
    return BssError(400, BAD_PARAMETER, message)


# The engine's stable codes as Huawei's (HTTP status, CBC code), one table for every BSS route.
# A code not listed is about the request's parameters: 400 CBC.0100.
ENGINE_CODES: dict[ErrorCode, tuple[int, str]] = {
    ErrorCode.PAYLOAD_TOO_LARGE: (413, BAD_PARAMETER),
    ErrorCode.UNAUTHENTICATED: (401, AUTH_FAILED),
    ErrorCode.FORBIDDEN: (403, ACCESS_DENIED),
    ErrorCode.CUSTOMER_FROZEN: (403, ACCESS_DENIED),
    ErrorCode.CUSTOMER_IN_ARREARS: (403, ILLEGAL_OPERATION),
    # an expected refusal of the operation in the object's present state (a pending order,
    # a resource not yearly/monthly ...), never a server fault
    ErrorCode.INVALID_STATE: (403, ILLEGAL_OPERATION),
    ErrorCode.RESOURCE_NOT_FOUND: (400, "CBC.99003012"),  # resource ID does not exist
    ErrorCode.RESOURCE_RELEASED: (400, "CBC.30050009"),  # deleted after expiry
    ErrorCode.INSUFFICIENT_BALANCE: (400, "CBC.99005003"),
    ErrorCode.ORDER_CLOSED: (400, "CBC.99005010"),  # order status does not allow it
    # the same trans_id with a different request: the parameter trans_id is invalid
    ErrorCode.IDEMPOTENCY_CONFLICT: (400, "CBC.0101"),
    # an operation with no meaning here (enterprise projects): an illegal operation
    ErrorCode.ENTERPRISE_NOT_SUPPORTED: (403, ILLEGAL_OPERATION),
}


# -- orders (group 2 of the map): Huawei's codes for a refused order operation ----------------
# From the status-code tables of PayOrders, CancelCustomerOrder and ShowRefundOrderDetails.
INVALID_ORDER = "CBC.30000010"  # invalid order, e.g. none with that id (another customer's too)
ORDER_NOT_PAYABLE = "CBC.99003106"  # the order's status no longer allows payment
DISCOUNT_NOT_USABLE = "CBC.99003108"  # the chosen discount cannot be used for this order
ORDER_PAST_DEADLINE = "CBC.99003110"  # not paid by its payment deadline
COUPON_NOT_USABLE = "CBC.99003112"  # the coupon is used up or not usable now
ORDER_RESOURCES_CHANGED = "CBC.99003141"  # a resource of the order changed since it was made
BALANCE_TOO_LOW = "CBC.99005003"  # insufficient balance
ORDER_NOT_CANCELLABLE = "CBC.99005010"  # the order's status does not allow cancellation
NOT_A_REFUND_ORDER = "CBC.99005026"  # neither an unsubscription nor a downgrade order

# The engine's refusals of an order operation -> Huawei's code for that operation. Codes not
# named here go to ENGINE_CODES (e.g. arrears, a trans_id conflict).
ORDER_REFUSALS: Mapping[ErrorCode, str] = {ErrorCode.ORDER_NOT_FOUND: INVALID_ORDER}
CANCEL_REFUSALS: Mapping[ErrorCode, str] = {
    **ORDER_REFUSALS,
    ErrorCode.ORDER_CLOSED: ORDER_NOT_CANCELLABLE,
}
PAYMENT_REFUSALS: Mapping[ErrorCode, str] = {
    **ORDER_REFUSALS,
    ErrorCode.ORDER_ALREADY_PAID: ORDER_NOT_PAYABLE,
    ErrorCode.ORDER_CLOSED: ORDER_NOT_PAYABLE,  # cancelled; past its deadline is told apart
    ErrorCode.COUPON_NOT_APPLICABLE: COUPON_NOT_USABLE,
    ErrorCode.INSUFFICIENT_BALANCE: BALANCE_TOO_LOW,
    ErrorCode.INVALID_STATE: ORDER_RESOURCES_CHANGED,
}


@contextmanager
def engine_refusals(table: Mapping[ErrorCode, str]) -> Iterator[None]:
    """Inside: an engine refusal whose code the table names answers 400 with Huawei's code;
    any other goes to the listener's general translation."""
    try:
        yield
    except CloudbillError as error:
        code = table.get(error.code)
        if code is None:
            raise
        raise BssError(400, code, error.message) from None


def _from_engine(error: CloudbillError) -> BssError:
    if error.http_status >= 500:
        return BssError(error.http_status, INTERNAL, error.message, error.retry_after_s)
    status, code = ENGINE_CODES.get(error.code, (400, BAD_PARAMETER))
    return BssError(status, code, f"{error.code}: {error.message}")


def error_response(error: BssError) -> Response:
    response = ExactJSONResponse(
        status_code=error.status, content={"error_code": error.code, "error_msg": error.message}
    )
    if error.retry_after_s is not None:
        response.headers["Retry-After"] = str(error.retry_after_s)
    return response


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(BssError)
    async def _bss(_request: Request, exc: BssError) -> Response:
        return error_response(exc)

    @app.exception_handler(CloudbillError)
    async def _cloudbill(_request: Request, exc: CloudbillError) -> Response:
        return error_response(_from_engine(exc))

    @app.exception_handler(DBAPIError)
    @app.exception_handler(PoolTimeout)
    async def _database(_request: Request, exc: Exception) -> Response:
        refusal = database_failure(exc)
        return error_response(BssError(503, INTERNAL, refusal.message, refusal.retry_after_s))

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        field = ".".join(str(p) for p in first["loc"] if p not in ("body", "query"))
        return error_response(bad_parameter(f"{field}: {first['msg']}" if field else first["msg"]))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404:
            return error_response(BssError(404, "CBC.0100", "no such BSS operation"))
        if exc.status_code == 405:
            return error_response(BssError(405, "CBC.0100", "method not allowed"))
        return error_response(BssError(exc.status_code, BAD_PARAMETER, str(exc.detail)))

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, _exc: Exception) -> Response:
        return error_response(BssError(500, INTERNAL, "internal error"))
