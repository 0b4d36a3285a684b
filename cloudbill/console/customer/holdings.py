"""What the account holds: resources (with status and status history), resource packages
(with their usage), cash coupons (with their usage)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from ...api.shared import benefits as shared_benefits
from ...api.shared.params import Offset
from ...api.shared.resources import list_resources, show
from ...kernel.limits import PAGE_SIZE_DEFAULT
from ..web import Page, SignedIn, container_of, render, signed_in
from .common import account_of

router = APIRouter()
RESOURCE_STATUSES = ("normal", "grace", "frozen", "released")


@router.get("/resources", response_class=HTMLResponse)
def resource_list(
    request: Request,
    status: str = "",
    billing_mode: str = "",
    offset: int = Offset,
    who: SignedIn = Depends(signed_in),
) -> Response:
    c = container_of(request)
    found = list_resources(
        c,
        who.customer_id,
        {
            "status": status or None,
            "billing_mode": billing_mode or None,
            "service": None,
            "parent_id": None,
            "limit": PAGE_SIZE_DEFAULT,
            "offset": offset,
        },
    )
    page = Page(request, who, "Resources", nav="resources")
    return render(
        request,
        "resources.html",
        page,
        found=found,
        status=status,
        billing_mode=billing_mode,
        statuses=RESOURCE_STATUSES,
        offset=offset,
        limit=PAGE_SIZE_DEFAULT,
        **account_of(c, who),
    )


@router.get("/resources/{resource_id}", response_class=HTMLResponse)
def resource_page(
    request: Request, resource_id: str, who: SignedIn = Depends(signed_in)
) -> Response:
    c = container_of(request)
    found = show(c, resource_id, owner=who.customer_id)
    page = Page(request, who, found["name"], nav="resources")
    return render(request, "resource.html", page, r=found, **account_of(c, who))


@router.get("/packages", response_class=HTMLResponse)
def package_list(
    request: Request,
    include_expired: bool = False,
    offset: int = Offset,
    who: SignedIn = Depends(signed_in),
) -> Response:
    c = container_of(request)
    found = shared_benefits.list_packages(
        c,
        who.customer_id,
        include_expired=include_expired,
        at=None,
        limit=PAGE_SIZE_DEFAULT,
        offset=offset,
    )
    page = Page(request, who, "Resource Packages", nav="packages")
    return render(
        request,
        "packages.html",
        page,
        found=found,
        include_expired=include_expired,
        offset=offset,
        limit=PAGE_SIZE_DEFAULT,
        **account_of(c, who),
    )


@router.get("/packages/{package_id}", response_class=HTMLResponse)
def package_page(
    request: Request, package_id: str, offset: int = Offset, who: SignedIn = Depends(signed_in)
) -> Response:
    c = container_of(request)
    found = shared_benefits.show_package(
        c, package_id, at=None, limit=PAGE_SIZE_DEFAULT, offset=offset, owner=who.customer_id
    )
    page = Page(request, who, "Resource Packages", nav="packages")
    return render(
        request,
        "package.html",
        page,
        p=found,
        offset=offset,
        limit=PAGE_SIZE_DEFAULT,
        **account_of(c, who),
    )


@router.get("/coupons", response_class=HTMLResponse)
def coupon_list(
    request: Request,
    status: str = "active",
    offset: int = Offset,
    who: SignedIn = Depends(signed_in),
) -> Response:
    c = container_of(request)
    found = shared_benefits.list_coupons(
        c,
        who.customer_id,
        status=None if status in ("", "all") else status,
        limit=PAGE_SIZE_DEFAULT,
        offset=offset,
    )
    page = Page(request, who, "Cash Coupons", nav="coupons")
    return render(
        request,
        "coupons.html",
        page,
        found=found,
        status=status,
        offset=offset,
        limit=PAGE_SIZE_DEFAULT,
        **account_of(c, who),
    )


@router.get("/coupons/{coupon_id}", response_class=HTMLResponse)
def coupon_page(
    request: Request, coupon_id: str, offset: int = Offset, who: SignedIn = Depends(signed_in)
) -> Response:
    c = container_of(request)
    found = c.read(
        lambda conn, _now: shared_benefits.coupon_with_usage(
            conn, coupon_id, PAGE_SIZE_DEFAULT, offset, owner=who.customer_id
        )
    )
    page = Page(request, who, "Cash Coupons", nav="coupons")
    return render(
        request,
        "coupon.html",
        page,
        cp=found,
        offset=offset,
        limit=PAGE_SIZE_DEFAULT,
        **account_of(c, who),
    )
