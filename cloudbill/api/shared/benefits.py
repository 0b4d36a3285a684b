"""Resource packages and cash coupons of one customer, or, for the operator, of anyone.

`owner` scopes a lookup by id: the customer API passes the caller, so another customer's package
or coupon answers exactly like one that does not exist; the operator passes None.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from ...benefits import service
from ...benefits.views import (
    coupon_usage_view,
    coupon_view,
    package_balance_view,
    package_usage_view,
)
from ...bootstrap import Container
from ...kernel.periods import parse_instant


def _at(at: str | None, now: datetime) -> datetime:
    return now if at is None else parse_instant(at)


def list_packages(
    c: Container,
    customer_id: str,
    *,
    include_expired: bool,
    at: str | None,
    limit: int,
    offset: int,
) -> dict[str, Any]:
    rows, total = c.read(
        lambda conn, now: service.list_packages(
            conn,
            customer_id,
            at=_at(at, now),
            include_expired=include_expired,
            limit=limit,
            offset=offset,
        )
    )
    return {"total": total, "items": [package_balance_view(r) for r in rows]}


def show_package(
    c: Container, package_id: str, *, at: str | None, limit: int, offset: int, owner: str | None
) -> dict[str, Any]:
    def work(conn, now):  # type: ignore[no-untyped-def]
        balance = service.get_package(conn, package_id, at=_at(at, now), customer_id=owner)
        rows, total = service.package_usage(conn, package_id, limit, offset, customer_id=owner)
        usage = {"total": total, "items": [package_usage_view(r) for r in rows]}
        return {**package_balance_view(balance), "usage": usage}

    return c.read(work)


def list_coupons(
    c: Container, customer_id: str, *, status: str | None, limit: int, offset: int
) -> dict[str, Any]:
    rows, total = c.read(
        lambda conn, _now: service.list_coupons(
            conn, customer_id, status=status, limit=limit, offset=offset
        )
    )
    return {"total": total, "items": [coupon_view(r) for r in rows]}


def coupon_with_usage(
    conn: Connection, coupon_id: str, limit: int, offset: int, *, owner: str | None
) -> dict[str, Any]:
    coupon = service.get_coupon(conn, coupon_id, customer_id=owner)
    rows, total = service.coupon_usage(conn, coupon_id, limit, offset, customer_id=owner)
    items = [coupon_usage_view(r, coupon.currency) for r in rows]
    return {**coupon_view(coupon), "usage": {"total": total, "items": items}}
