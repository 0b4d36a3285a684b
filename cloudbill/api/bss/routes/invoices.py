"""Invoices (ListInvoices, group 6 of the map). cloudbill issues no invoices yet, so a well-formed
query answers the empty list; the parameters are checked all the same, as Huawei checks them."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from ....customers.model import Customer
from ..errors import ACCESS_DENIED, BssError, bad_parameter
from ..jsonnum import ExactRoute
from .common import Caller, utc_instant

router = APIRouter(route_class=ExactRoute)
PAGES_MAX = 99_999  # Huawei: offset is a page number, 1-99999
PAGE_SIZE_MAX = 100  # Huawei: limit is a page size, 1-100


@router.get("/v1.0/{domain_id}/payments/intl-invoices")
def list_invoices(
    domain_id: str,
    customer: Customer = Caller,
    start_time: str | None = Query(None, max_length=64),
    end_time: str | None = Query(None, max_length=64),
    offset: int | None = Query(None, ge=1, le=PAGES_MAX),
    limit: int | None = Query(None, ge=1, le=PAGE_SIZE_MAX),
) -> dict[str, Any]:
    # The domain in the path is the caller's own, like X-Domain-Id: any other one (another
    # customer's or none at all) is refused the same way, so nothing tells them apart.
    if domain_id != customer.id:
        raise BssError(403, ACCESS_DENIED, "the domain in the path is not the caller's")
    # Huawei requires all four.
    start = utc_instant(start_time, "start_time")
    end = utc_instant(end_time, "end_time")
    if start is None or end is None or offset is None or limit is None:
        raise bad_parameter("start_time, end_time, offset (page number) and limit are required")
    if end < start:
        raise bad_parameter("end_time is before start_time")
    return {"count": 0, "invoices": []}
