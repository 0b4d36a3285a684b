"""Customer routes: your resource packages (with usage) and cash coupons (with history)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query

from ...bootstrap import Container
from ..deps import container
from ..keyauth import KeyCaller
from ..shared import benefits as shared
from ..shared.params import AT_DOC, Limit, Offset
from .auth import caller

router = APIRouter(tags=["packages and coupons"])


@router.get("/packages")
def list_packages(
    include_expired: bool = False,
    at: str | None = Query(None, description=AT_DOC),
    limit: int = Limit,
    offset: int = Offset,
    me: KeyCaller = Depends(caller),
    c: Container = Depends(container),
) -> dict[str, Any]:
    return shared.list_packages(
        c, me.customer.id, include_expired=include_expired, at=at, limit=limit, offset=offset
    )


@router.get("/packages/{package_id}")
def show_package(
    package_id: str,
    at: str | None = Query(None, description=AT_DOC),
    limit: int = Limit,
    offset: int = Offset,
    me: KeyCaller = Depends(caller),
    c: Container = Depends(container),
) -> dict[str, Any]:
    """A package's used and remaining quantity, and what settlement took from it."""
    return shared.show_package(
        c, package_id, at=at, limit=limit, offset=offset, owner=me.customer.id
    )


@router.get("/coupons")
def list_coupons(
    status: str | None = Query(None, examples=["active"]),
    limit: int = Limit,
    offset: int = Offset,
    me: KeyCaller = Depends(caller),
    c: Container = Depends(container),
) -> dict[str, Any]:
    return shared.list_coupons(c, me.customer.id, status=status, limit=limit, offset=offset)


@router.get("/coupons/{coupon_id}")
def show_coupon(
    coupon_id: str,
    limit: int = Limit,
    offset: int = Offset,
    me: KeyCaller = Depends(caller),
    c: Container = Depends(container),
) -> dict[str, Any]:
    """A coupon with its history: issued, used, expired, revoked, refunded."""
    owner = me.customer.id
    return c.read(
        lambda conn, _now: shared.coupon_with_usage(conn, coupon_id, limit, offset, owner=owner)
    )
