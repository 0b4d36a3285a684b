"""The two consoles as FastAPI applications mounted beside the APIs: the customers' Billing
Center at /console and the operator console at /operator/console. HTML in, HTML out; refusals
are pages, never JSON."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..bootstrap import Container
from ..kernel.errors import CloudbillError, ErrorCode
from ..observe import logs
from ..ratelimit import limits as ratelimit
from ..store.busy import busy_error
from . import auth
from .customer import ROUTERS as CUSTOMER_ROUTERS
from .operator import ROUTERS as OPERATOR_ROUTERS
from .web import (
    CUSTOMER,
    OPERATOR,
    STATIC,
    Page,
    Shown,
    SignInRequired,
    Surface,
    environment,
    refusal_status,
    render,
    secure_headers,
    sign_in_redirect,
)

log = logs.get("cloudbill.console")


def _refusal_page(request: Request, error: CloudbillError) -> Response:
    page = Page(request, None, "Refused", shown=Shown(refusal_status(error)))
    response = render(request, "refused.html", page, error=error)
    if error.retry_after_s is not None:
        response.headers["Retry-After"] = str(error.retry_after_s)
    return response


def _fault_page(request: Request, exc: Exception) -> Response:
    """A fault of cloudbill's: logged with its traceback, answered as a page (500) that names
    the request id the log has it under."""
    request_id = logs.request_id() or "-"
    log.error("console fault", error=type(exc).__name__, exc_info=exc)
    error = CloudbillError(
        ErrorCode.INTERNAL, f"internal error; the server log has it under request id {request_id}"
    )
    page = Page(request, None, "Refused", shown=Shown(500))
    return render(request, "refused.html", page, error=error)


def _install_handlers(app: FastAPI) -> None:
    @app.exception_handler(SignInRequired)
    async def _sign_in(request: Request, _exc: SignInRequired) -> Response:
        return sign_in_redirect(request)

    @app.exception_handler(CloudbillError)
    async def _refused(request: Request, exc: CloudbillError) -> Response:
        return _refusal_page(request, exc)

    @app.exception_handler(DBAPIError)
    @app.exception_handler(PoolTimeout)
    async def _database(request: Request, exc: Exception) -> Response:
        refusal = busy_error(exc)
        if refusal is None:
            return _fault_page(request, exc)
        return _refusal_page(request, refusal)

    @app.exception_handler(Exception)
    async def _fault(request: Request, exc: Exception) -> Response:
        return _fault_page(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        where = ".".join(str(p) for p in first["loc"] if p not in ("body", "query", "path"))
        message = f"{where}: {first['msg']}" if where else str(first["msg"])
        return _refusal_page(request, CloudbillError(ErrorCode.INVALID_ARGUMENT, message))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        code = {404: ErrorCode.NOT_FOUND, 405: ErrorCode.METHOD_NOT_ALLOWED}.get(
            exc.status_code, ErrorCode.INVALID_ARGUMENT
        )
        error = CloudbillError(code, "no such page" if exc.status_code == 404 else str(exc.detail))
        response = _refusal_page(request, error)
        response.status_code = exc.status_code
        return response

    @app.middleware("http")
    async def _headers(request: Request, call_next):  # type: ignore[no-untyped-def]
        return secure_headers(await call_next(request))


def create_console_app(container: Container, surface: Surface) -> FastAPI:
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    app.state.container = container
    app.state.surface = surface
    app.state.templates = environment(container)
    app.state.limits = ratelimit.build(container.settings, container.db)
    app.state.listener = f"console-{surface.kind}"
    _install_handlers(app)
    app.include_router(auth.router)
    for router in CUSTOMER_ROUTERS if surface is CUSTOMER else OPERATOR_ROUTERS:
        app.include_router(router)
    return app


def mount_consoles(app: FastAPI, container: Container) -> None:
    """Both consoles, their static files, and / leading to the customers' console."""
    app.mount("/console/static", StaticFiles(directory=STATIC), name="console-static")
    app.mount(OPERATOR.root, create_console_app(container, OPERATOR))
    app.mount(CUSTOMER.root, create_console_app(container, CUSTOMER))

    @app.get("/", include_in_schema=False)
    def _home() -> RedirectResponse:
        return RedirectResponse(f"{CUSTOMER.root}/", status_code=307)
