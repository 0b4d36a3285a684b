"""Cash coupons (group 5 of the map: ListSubCustomerCoupons, which customers use for their own)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query, Request

from ....benefits import coupons as benefit_coupons
from ....benefits.model import CashCoupon, CouponStatus
from ....customers.model import Customer
from ..jsonnum import ExactRoute
from .common import (
    MONEY_MEASURE_ID,
    Caller,
    Limit,
    Offset,
    amount,
    read,
    utc_instant,
    utc_text,
)

router = APIRouter(route_class=ExactRoute)
CASH_COUPON = 1  # Huawei coupon type 1: cash coupon (代金券)
# Huawei coupon status: 1 not activated, 2 to be used, 3 used, 4 expired, 5 reclaimed.
STATUS_CODE = {
    CouponStatus.ACTIVE: 2,
    CouponStatus.USED_UP: 3,
    CouponStatus.EXPIRED: 4,
    CouponStatus.REVOKED: 5,
}
NOT_ACTIVATED = 1
COUPONS_READ_MAX = 1000


def _status(c: CashCoupon, now: datetime) -> int:
    if c.status is CouponStatus.ACTIVE and now < c.valid_from:
        return NOT_ACTIVATED
    return STATUS_CODE[c.status]


def _view(c: CashCoupon, now: datetime) -> dict[str, Any]:
    return {
        "coupon_id": c.id,
        "coupon_code": c.reference,
        "status": _status(c, now),
        "customer_id": c.customer_id,
        "coupon_type": CASH_COUPON,
        "measure_id": MONEY_MEASURE_ID,
        "face_value": amount(c.face_value_units, c.currency),
        "valid_time": utc_text(c.valid_from),
        "expire_time": utc_text(c.valid_to),
        "plan_name": c.name,
        "fetch_method": 3,  # issued online by the provider
        "media_type": 1,  # electronic
        "use_limits": [],
        "active_time": utc_text(c.issued_at),
        "create_time": utc_text(c.issued_at),
        "coupon_version": 2,  # the new kind: used repeatedly until the balance is gone
        "balance": amount(c.balance_units, c.currency),
        "is_frozen": "0",
        "currency": c.currency,
    }


@router.get("/v2/promotions/benefits/coupons")
def list_sub_customer_coupons(
    request: Request,
    customer: Customer = Caller,
    coupon_id: str | None = Query(None, max_length=64),
    order_id: str | None = Query(None, max_length=64),
    promotion_plan_id: str | None = Query(None, max_length=64),
    coupon_type: int | None = Query(None, ge=1, le=4),
    status: int | None = Query(None, ge=1, le=5),
    active_start_time: str | None = Query(None),
    active_end_time: str | None = Query(None),
    offset: int = Offset,
    limit: int = Limit,
    source_id: str | None = Query(None, max_length=64),
) -> dict[str, Any]:
    start = utc_instant(active_start_time, "active_start_time")
    end = utc_instant(active_end_time, "active_end_time")
    if coupon_type not in (None, CASH_COUPON) or order_id or promotion_plan_id or source_id:
        # Only cash coupons exist, issued by the provider; no order or plan can match yet.
        return {"count": 0, "user_coupons": []}

    def work(conn, now):  # type: ignore[no-untyped-def]
        found, _total = benefit_coupons.list_coupons(conn, customer.id, limit=COUPONS_READ_MAX)
        return found, now

    found, now = read(request, work)
    kept = [
        c
        for c in found
        if (coupon_id is None or c.id == coupon_id)
        and (status is None or _status(c, now) == status)
        and (start is None or c.issued_at >= start)
        and (end is None or c.issued_at <= end)
    ]
    page = kept[offset : offset + limit]
    return {"count": len(kept), "user_coupons": [_view(c, now) for c in page]}
