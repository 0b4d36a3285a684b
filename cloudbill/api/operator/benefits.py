"""Operator routes: resource packages and cash coupons."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError

from ...benefits import service
from ...benefits.views import coupon_view, package_balance_view
from ...bootstrap import Container
from ...kernel.clock import ensure_utc
from ...kernel.limits import PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX
from ...kernel.resets import ResetKind
from ..deps import container, require_operator
from ..shared import benefits as shared
from ..shared.params import AT_DOC, Limit, Offset
from .schemas import Amount, Reason

router = APIRouter(tags=["packages and coupons"], dependencies=[Depends(require_operator)])


def _iso_instant(value: object) -> datetime:
    # Only ISO 8601 text: pydantic would otherwise read numbers as Unix timestamps.
    try:
        if not isinstance(value, str):
            raise ValueError
        return ensure_utc(datetime.fromisoformat(value.strip().replace("Z", "+00:00")))
    except ValueError:
        raise PydanticCustomError(
            "iso_instant", "give an ISO 8601 instant as text, e.g. 2026-04-01T00:00:00Z"
        ) from None


Instant = Annotated[
    datetime,
    BeforeValidator(_iso_instant),
    Field(json_schema_extra={"type": "string", "format": "date-time"}),
]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PackageGrant(_Body):
    usage_type: str = Field(max_length=64, examples=["duration"])
    quantity: Amount
    unit: str = Field(max_length=32, examples=["h"])
    name: str | None = Field(None, max_length=128, description="default: quantity, unit, type")
    service: str | None = Field(None, max_length=64, examples=["ecs"])
    resource_type: str | None = Field(None, max_length=128)
    spec: str | None = Field(None, max_length=128)
    region: str | None = Field(None, max_length=64)
    reset_kind: ResetKind | None = Field(
        None, description="none (default), daily, monthly_purchase_day or monthly_calendar"
    )
    reset_hour: int | None = Field(
        None, strict=True, ge=0, le=23, description="daily: the customer's local hour (0-23)"
    )
    resets_monthly: bool | None = Field(
        None, strict=True, description="older form: true = monthly_calendar, false = none"
    )
    valid_from: Instant
    valid_to: Instant
    reference: str = Field(min_length=1, max_length=128, description="idempotency key")


class CouponIssue(_Body):
    value: Amount
    valid_to: Instant
    valid_from: Instant | None = Field(None, description="default: now")
    name: str | None = Field(None, max_length=128)
    services: list[str] | None = Field(None, max_length=100, description="default: every service")
    billing_modes: list[str] | None = Field(
        None, max_length=2, examples=[["pay_per_use"]], description="default: both"
    )
    min_spend: Amount = "0"
    reference: str = Field(min_length=1, max_length=128, description="idempotency key")


@router.post("/customers/{customer_id}/packages", status_code=201)
def grant_package(
    customer_id: str, body: PackageGrant, c: Container = Depends(container)
) -> dict[str, Any]:
    def work(conn, now):  # type: ignore[no-untyped-def]
        package, created = service.grant_package(
            conn, customer_id=customer_id, **body.model_dump(), now=now
        )
        return {**package_balance_view(service.get_package(conn, package.id, at=now)),
                "created": created}  # fmt: skip

    return c.write(work)


@router.get("/customers/{customer_id}/packages")
def list_packages(
    customer_id: str,
    include_expired: bool = False,
    at: str | None = Query(None, description=AT_DOC),
    limit: int = Limit,
    offset: int = Offset,
    c: Container = Depends(container),
) -> dict[str, Any]:
    return shared.list_packages(
        c, customer_id, include_expired=include_expired, at=at, limit=limit, offset=offset
    )


@router.get("/packages/{package_id}")
def show_package(
    package_id: str,
    at: str | None = Query(None, description=AT_DOC),
    limit: int = Limit,
    offset: int = Offset,
    c: Container = Depends(container),
) -> dict[str, Any]:
    return shared.show_package(c, package_id, at=at, limit=limit, offset=offset, owner=None)


@router.post("/customers/{customer_id}/coupons", status_code=201)
def issue_coupon(
    customer_id: str, body: CouponIssue, c: Container = Depends(container)
) -> dict[str, Any]:
    coupon, created = c.write(
        lambda conn, now: service.issue_coupon(
            conn, customer_id=customer_id, **body.model_dump(), now=now
        )
    )
    return {**coupon_view(coupon), "created": created}


@router.get("/customers/{customer_id}/coupons")
def list_coupons(
    customer_id: str,
    status: str | None = Query(None, examples=["active"]),
    limit: int = Limit,
    offset: int = Offset,
    c: Container = Depends(container),
) -> dict[str, Any]:
    return shared.list_coupons(c, customer_id, status=status, limit=limit, offset=offset)


@router.get("/coupons/{coupon_id}")
def show_coupon(
    coupon_id: str,
    limit: int = Limit,
    offset: int = Offset,
    c: Container = Depends(container),
) -> dict[str, Any]:
    return c.read(
        lambda conn, _now: shared.coupon_with_usage(conn, coupon_id, limit, offset, owner=None)
    )


@router.post("/coupons/expire")
def expire_coupons(
    limit: int = Query(PAGE_SIZE_MAX, ge=1, le=PAGE_SIZE_MAX),
    c: Container = Depends(container),
) -> dict[str, Any]:
    expired = c.write(lambda conn, now: service.expire_coupons(conn, now=now, limit=limit))
    # A full batch may have left more behind: the caller runs the job again.
    return {"expired": expired, "more": expired == limit}


@router.post("/coupons/{coupon_id}/revoke")
def revoke_coupon(
    coupon_id: str, body: Reason, c: Container = Depends(container)
) -> dict[str, Any]:
    def work(conn, now):  # type: ignore[no-untyped-def]
        service.revoke_coupon(conn, coupon_id, reason=body.reason, now=now)
        return shared.coupon_with_usage(conn, coupon_id, PAGE_SIZE_DEFAULT, 0, owner=None)

    return c.write(work)
