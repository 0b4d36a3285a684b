"""Operator routes: catalog versions, browsing, and price inquiries."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request

from ...catalog import loader, repo
from ...catalog import service as catalog_service
from ...kernel.errors import CloudbillError, ErrorCode
from ...kernel.limits import CATALOG_FILE_MAX_BYTES
from ...views import instant
from ..deps import container, require_operator
from ..shared import catalog as shared
from .schemas import PayPerUseInquiry, PeriodInquiry

router = APIRouter(tags=["catalog"], dependencies=[Depends(require_operator)])


@router.get("/catalog")
def active_catalog(c=Depends(container)) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    return shared.active_catalog(c)


@router.get("/catalog/versions")
def versions(c=Depends(container)) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    rows = c.read(lambda conn, _now: repo.list_versions(conn))
    return {
        "items": [
            {
                "version": r.version,
                "checksum": r.checksum,
                "source": r.source,
                "loaded_at": instant(r.loaded_at),
                "active": r.is_active,
            }
            for r in rows
        ]
    }


@router.post("/catalog/versions", status_code=201)
async def load_catalog(
    request: Request,
    allow_breaking: bool = Query(
        False,
        description="activate even if live resources, packages or waiting usage lose "
        "what they need (their customers are held by settlement until mended)",
    ),
    c=Depends(container),  # type: ignore[no-untyped-def]
) -> dict[str, Any]:
    """Load a catalog document (YAML or JSON body) as a new version and activate it. A version
    that drops or unprices what is in use is refused (409 CATALOG_IN_USE, `details.breaks`)."""
    raw = await request.body()
    if len(raw) > CATALOG_FILE_MAX_BYTES:
        raise CloudbillError(ErrorCode.CATALOG_INVALID, "catalog document is too large")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise CloudbillError(ErrorCode.CATALOG_INVALID, "catalog must be UTF-8 text") from None
    document = loader.parse_text(text, source="request")  # JSON is valid YAML
    result = c.write(
        lambda conn, now: catalog_service.load(
            conn, document, source="api", now=now, allow_breaking=allow_breaking
        )
    )
    return {"version": result.version, "checksum": result.checksum, "created": result.created}


@router.post("/catalog/versions/{version}/activate")
def activate(
    version: str,
    allow_breaking: bool = Query(False, description="as for loading a version"),
    c=Depends(container),  # type: ignore[no-untyped-def]
) -> dict[str, Any]:
    """Make an earlier version active (refused like a load when it breaks what is in use)."""
    c.write(
        lambda conn, now: catalog_service.activate_version(
            conn, version, now=now, allow_breaking=allow_breaking
        )
    )
    return {"version": version, "active": True}


@router.get("/catalog/services/{code}")
def show_service(code: str, c=Depends(container)) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    return shared.show_service(c, code)


@router.post("/catalog/inquiries/pay-per-use")
def inquire_pay_per_use(body: PayPerUseInquiry, c=Depends(container)) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    return shared.pay_per_use(c, body.model_dump())


@router.post("/catalog/inquiries/period")
def inquire_period(body: PeriodInquiry, c=Depends(container)) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    return shared.period(c, body.model_dump())
