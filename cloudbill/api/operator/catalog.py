"""Operator routes: catalog versions, browsing, and price inquiries."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

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
async def load_catalog(request: Request, c=Depends(container)) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """Load a catalog document (YAML or JSON body) as a new version and activate it."""
    raw = await request.body()
    if len(raw) > CATALOG_FILE_MAX_BYTES:
        raise CloudbillError(ErrorCode.CATALOG_INVALID, "catalog document is too large")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise CloudbillError(ErrorCode.CATALOG_INVALID, "catalog must be UTF-8 text") from None
    document = loader.parse_text(text, source="request")  # JSON is valid YAML
    result = c.write(lambda conn, now: catalog_service.load(conn, document, source="api", now=now))
    return {"version": result.version, "checksum": result.checksum, "created": result.created}


@router.post("/catalog/versions/{version}/activate")
def activate(version: str, c=Depends(container)) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    c.write(lambda conn, _now: catalog_service.activate_version(conn, version))
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
