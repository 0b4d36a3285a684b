"""Operator console: catalog versions — check, load and activate a file, refused with the
list of what it would break."""

from __future__ import annotations

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, Response

from ...catalog import loader
from ...catalog import repo as catalog_repo
from ...catalog import service as catalog_service
from ...catalog.index import CatalogIndex
from ...kernel.errors import CloudbillError, ErrorCode
from ...kernel.limits import CATALOG_FILE_MAX_BYTES
from ..web import (
    Shown,
    SignedIn,
    _,
    acting,
    after,
    container_of,
    signed_in,
)
from .common import applied, operator_page

router = APIRouter()


def _catalog(request: Request, who: SignedIn, shown: Shown) -> HTMLResponse:
    rows = container_of(request).read(lambda conn, _now: catalog_repo.list_versions(conn))
    return operator_page(request, who, "catalog.html", "Catalog", "catalog", shown, versions=rows)


@router.get("/catalog", response_class=HTMLResponse)
def catalog(
    request: Request, done: str | None = None, who: SignedIn = Depends(signed_in)
) -> Response:
    return _catalog(request, who, after(container_of(request), who, done))


def _document(upload: UploadFile):  # type: ignore[no-untyped-def]
    raw = upload.file.read(CATALOG_FILE_MAX_BYTES + 1)
    if len(raw) > CATALOG_FILE_MAX_BYTES:
        raise CloudbillError(
            ErrorCode.CATALOG_INVALID, "the catalog file is too large", field="document"
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise CloudbillError(
            ErrorCode.CATALOG_INVALID,
            "a catalog file is UTF-8 text (YAML or JSON)",
            field="document",
        ) from None
    return loader.parse_text(text, source=upload.filename or "upload")


@router.post("/catalog/check")
def check_catalog(
    request: Request, document: UploadFile = File(...), who: SignedIn = Depends(acting)
) -> Response:
    """Validate a catalog file and list what it would break if activated now; changes
    nothing."""
    c = container_of(request)
    try:
        parsed = _document(document)
        c.read(
            lambda conn, now: catalog_service.refuse_if_breaking(
                conn, CatalogIndex(parsed), now=now
            )
        )
    except CloudbillError as error:
        return _catalog(
            request, who, Shown.refused(error, "document", breaks=error.details.get("breaks", []))
        )
    said = _(request, "The catalog is valid and breaks nothing in use") + f": {parsed.version}"
    return _catalog(request, who, Shown(done=said))


@router.post("/catalog/load")
def load_catalog(
    request: Request,
    form_key: str = Form("", max_length=64),
    allow_breaking: str = Form("", max_length=8),
    document: UploadFile = File(...),
    who: SignedIn = Depends(acting),
) -> Response:
    """Load a catalog file as a new version and activate it (refused with the list of what it
    would break, unless the operator allows it knowingly)."""
    try:
        parsed = _document(document)
    except CloudbillError as error:
        return _catalog(request, who, Shown.refused(error, "document"))
    breaking = allow_breaking == "true"

    def action(conn, now):  # type: ignore[no-untyped-def]
        result = catalog_service.load(
            conn, parsed, source=f"console:{document.filename}", now=now, allow_breaking=breaking
        )
        return _(request, "Catalog version active") + f": {result.version}"

    return applied(
        request,
        who,
        form_key,
        action,
        name="load_catalog",
        where="document",
        details={"version": parsed.version, "allow_breaking": breaking},
        back="/catalog",
        refused=lambda shown: _catalog(request, who, shown),
    )


@router.post("/catalog/versions/{version}/activate")
def activate(
    request: Request,
    version: str,
    form_key: str = Form("", max_length=64),
    allow_breaking: str = Form("", max_length=8),
    who: SignedIn = Depends(acting),
) -> Response:
    breaking = allow_breaking == "true"

    def action(conn, now):  # type: ignore[no-untyped-def]
        catalog_service.activate_version(conn, version, now=now, allow_breaking=breaking)
        return _(request, "Catalog version active") + f": {version}"

    return applied(
        request,
        who,
        form_key,
        action,
        name="activate_catalog",
        where=f"version-{version}",
        details={"version": version, "allow_breaking": breaking},
        back="/catalog",
        refused=lambda shown: _catalog(request, who, shown),
    )
