"""Errors as JSON: `{"error": {"code": ..., "message": ..., "details": ...}}` with a 4xx status."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..kernel.errors import CloudbillError, ErrorCode
from ..observe import logs
from ..store.busy import busy_error

log = logs.get("cloudbill.api")


def error_response(error: CloudbillError) -> JSONResponse:
    response = JSONResponse(status_code=error.http_status, content={"error": error.to_dict()})
    if error.retry_after_s is not None:
        response.headers["Retry-After"] = str(error.retry_after_s)
    return response


def database_failure(exc: Exception) -> CloudbillError:
    """A busy or unreachable database as its 503 refusal; any other database failure is
    raised on, to be answered and logged as a fault."""
    refusal = busy_error(exc)
    if refusal is None:
        raise exc
    log.warning("database busy; request refused with 503", detail=refusal.message)
    return refusal


def internal_error(request_id: str) -> JSONResponse:
    """A fault of cloudbill's that escaped every handler (it is logged under the request id)."""
    return error_response(
        CloudbillError(
            ErrorCode.INTERNAL,
            f"internal error; the server log has it under request id {request_id}",
        )
    )


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(CloudbillError)
    async def _cloudbill(_request: Request, exc: CloudbillError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(DBAPIError)
    @app.exception_handler(PoolTimeout)
    async def _database(_request: Request, exc: Exception) -> JSONResponse:
        return error_response(database_failure(exc))

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            {"field": ".".join(str(p) for p in err["loc"] if p != "body"), "problem": err["msg"]}
            for err in exc.errors()[:20]
        ]
        first = problems[0] if problems else {"field": "", "problem": "invalid request"}
        message = f"{first['field']}: {first['problem']}" if first["field"] else first["problem"]
        return error_response(
            CloudbillError(ErrorCode.INVALID_ARGUMENT, message, problems=problems)
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {
            401: ErrorCode.UNAUTHENTICATED,
            403: ErrorCode.FORBIDDEN,
            404: ErrorCode.NOT_FOUND,
            405: ErrorCode.METHOD_NOT_ALLOWED,
        }.get(exc.status_code, ErrorCode.INVALID_ARGUMENT)
        error = CloudbillError(code, str(exc.detail))
        return JSONResponse(status_code=exc.status_code, content={"error": error.to_dict()})
