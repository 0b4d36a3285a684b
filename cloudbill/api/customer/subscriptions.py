"""Customer routes: renewals page, a subscription, auto-renew and expire policy."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query

from ...bootstrap import Container
from ..deps import container
from ..keyauth import KeyCaller
from ..shared import orders as shared
from ..shared.orders import AutoRenew, ExpirePolicy
from ..shared.params import Limit, Offset
from .auth import caller

router = APIRouter(tags=["renewals"])


@router.get("/renewals")
def renewals(
    view: str = Query("expiring", description="expiring, expired, frozen or all"),
    within_days: int = Query(30, ge=1, le=366),
    mode: str | None = Query(
        None, description="manual, auto_renew, to_pay_per_use or release: what happens at expiry"
    ),
    limit: int = Limit,
    offset: int = Offset,
    me: KeyCaller = Depends(caller),
    c: Container = Depends(container),
) -> dict[str, Any]:
    return shared.renewals(
        c, me.customer.id, view=view, within_days=within_days, limit=limit, offset=offset,
        mode=mode,
    )  # fmt: skip


@router.get("/subscriptions/{resource_id}")
def show_subscription(
    resource_id: str, me: KeyCaller = Depends(caller), c: Container = Depends(container)
) -> Any:
    return shared.show_subscription(c, me.customer.id, resource_id)


@router.put("/subscriptions/{resource_id}/auto-renew")
def auto_renew(
    resource_id: str,
    body: AutoRenew,
    me: KeyCaller = Depends(caller),
    c: Container = Depends(container),
) -> Any:
    return shared.set_auto_renew(c, me.customer.id, resource_id, body)


@router.put("/subscriptions/{resource_id}/expire-policy")
def expire_policy(
    resource_id: str,
    body: ExpirePolicy,
    me: KeyCaller = Depends(caller),
    c: Container = Depends(container),
) -> Any:
    return shared.set_expire_policy(c, me.customer.id, resource_id, body)
