"""Customer routes: the active catalog (read only) and price inquiries on your own terms
(your currency, level and personal discounts)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from ...bootstrap import Container
from ..deps import container
from ..keyauth import KeyCaller
from ..operator.schemas import PayPerUseQuery, PeriodQuery
from ..shared import catalog as shared
from .auth import caller

router = APIRouter(tags=["catalog"])


def _own_terms(me: KeyCaller) -> dict[str, Any]:
    return {"currency": me.customer.currency, "customer_id": me.customer.id}


@router.get("/catalog")
def active_catalog(
    me: KeyCaller = Depends(caller), c: Container = Depends(container)
) -> dict[str, Any]:
    """The catalog with the discounts open to you (never another customer's)."""
    return shared.active_catalog(c, customer=me.customer)


@router.get("/catalog/services/{code}")
def show_service(
    code: str, _me: KeyCaller = Depends(caller), c: Container = Depends(container)
) -> dict[str, Any]:
    return shared.show_service(c, code)


@router.post("/catalog/inquiries/pay-per-use")
def inquire_pay_per_use(
    body: PayPerUseQuery, me: KeyCaller = Depends(caller), c: Container = Depends(container)
) -> dict[str, Any]:
    return shared.pay_per_use(c, {**body.model_dump(), **_own_terms(me)})


@router.post("/catalog/inquiries/period")
def inquire_period(
    body: PeriodQuery, me: KeyCaller = Depends(caller), c: Container = Depends(container)
) -> dict[str, Any]:
    return shared.period(c, {**body.model_dump(), **_own_terms(me)})
