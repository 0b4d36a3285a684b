"""Operator routes: customers, top-ups, withdrawals, freeze, overview, balance history."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query

from ...bootstrap import Container
from ...customers import service
from ...customers.model import CustomerInput, CustomerStatus
from ...kernel.limits import FILTER_TEXT_MAX_CHARS, PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX
from ...resources import service as resources
from ...views import customer_view, instant, transaction_view
from ..deps import container, require_operator
from ..shared import accounts
from ..shared.accounts import BalanceAlertBody
from ..shared.dashboard import dashboard
from ..shared.params import Limit, Offset
from .schemas import Adjustment, CustomerCreate, CustomerUpdate, MoneyMovement, Reason

router = APIRouter(tags=["customers"], dependencies=[Depends(require_operator)])


@router.post("/customers", status_code=201)
def create_customer(body: CustomerCreate, c: Container = Depends(container)) -> dict[str, Any]:
    customer = c.write(
        lambda conn, now: service.create(conn, CustomerInput(**body.model_dump()), now=now)
    )
    return customer_view(customer)


@router.get("/customers")
def list_customers(
    status: str | None = None,
    payment_mode: str | None = None,
    in_arrears: bool | None = None,
    q: str | None = Query(
        None,
        max_length=FILTER_TEXT_MAX_CHARS,
        description="a part of the name or email, or the start of the id (any case)",
    ),
    limit: int = Query(PAGE_SIZE_DEFAULT, ge=1, le=PAGE_SIZE_MAX),
    offset: int = Offset,
    c: Container = Depends(container),
) -> dict[str, Any]:
    pairs, total = c.read(
        lambda conn, _now: service.list_with_overviews(
            conn, status=status, payment_mode=payment_mode, in_arrears=in_arrears,
            limit=limit, offset=offset, search=q,
        )
    )  # fmt: skip
    return {"total": total, "items": [customer_view(row, figures) for row, figures in pairs]}


@router.get("/customers/{customer_id}")
def show_customer(customer_id: str, c: Container = Depends(container)) -> dict[str, Any]:
    return accounts.profile(c, customer_id)


@router.patch("/customers/{customer_id}")
def update_customer(
    customer_id: str, body: CustomerUpdate, c: Container = Depends(container)
) -> dict[str, Any]:
    changes = body.model_dump(exclude_unset=True)
    return customer_view(
        c.write(lambda conn, now: service.update(conn, customer_id, changes, now=now))
    )


@router.get("/customers/{customer_id}/overview")
def customer_overview(customer_id: str, c: Container = Depends(container)) -> dict[str, Any]:
    return accounts.overview(c, customer_id)


@router.get("/customers/{customer_id}/dashboard")
def customer_dashboard(customer_id: str, c: Container = Depends(container)) -> dict[str, Any]:
    """The customer's Account Overview, card by card, as its console shows it."""
    return dashboard(c, customer_id)


@router.get("/customers/{customer_id}/postpaid-bills")
def postpaid_bills(customer_id: str, c: Container = Depends(container)) -> dict[str, Any]:
    """The customer's post-paid monthly bills, oldest first, with what is still outstanding
    (repayments pay the oldest bill first) and whether each is unpaid, overdue or paid."""
    return accounts.postpaid_bills(c, customer_id)


@router.post("/customers/{customer_id}/topups", status_code=201)
def topup(
    customer_id: str, body: MoneyMovement, c: Container = Depends(container)
) -> dict[str, Any]:
    posted = c.write(
        lambda conn, now: service.topup(
            conn,
            customer_id,
            body.amount,
            reference=body.reference,
            now=now,
            description=body.description,
        )
    )
    return transaction_view(posted)


@router.post("/customers/{customer_id}/withdrawals", status_code=201)
def withdraw(
    customer_id: str, body: MoneyMovement, c: Container = Depends(container)
) -> dict[str, Any]:
    posted = c.write(
        lambda conn, now: service.withdraw(
            conn, customer_id, body.amount, reference=body.reference, now=now
        )
    )
    return transaction_view(posted)


@router.post("/customers/{customer_id}/adjustments", status_code=201)
def adjust(customer_id: str, body: Adjustment, c: Container = Depends(container)) -> dict[str, Any]:
    posted = c.write(
        lambda conn, now: service.adjust(
            conn,
            customer_id,
            body.amount,
            direction=body.direction,
            reason=body.reason,
            reference=body.reference,
            attribution=resources.attribution(
                conn,
                customer_id,
                resource_id=body.resource_id,
                service=body.service,
                billing_mode=body.billing_mode,
            ),
            now=now,
        )
    )
    return transaction_view(posted)


@router.post("/customers/{customer_id}/freeze")
def freeze(customer_id: str, body: Reason, c: Container = Depends(container)) -> dict[str, Any]:
    customer = c.write(
        lambda conn, now: service.set_status(
            conn, customer_id, CustomerStatus.FROZEN, reason=body.reason, now=now
        )
    )
    return customer_view(customer)


@router.post("/customers/{customer_id}/unfreeze")
def unfreeze(customer_id: str, body: Reason, c: Container = Depends(container)) -> dict[str, Any]:
    customer = c.write(
        lambda conn, now: service.set_status(
            conn, customer_id, CustomerStatus.ACTIVE, reason=body.reason, now=now
        )
    )
    return customer_view(customer)


@router.get("/audit-events")
def audit_events(
    customer_id: str | None = Query(None, max_length=FILTER_TEXT_MAX_CHARS),
    actor: str | None = Query(
        None,
        max_length=FILTER_TEXT_MAX_CHARS,
        description="operator (the API and CLI), operator:EMAIL or customer:EMAIL (a console "
        "user), demo",
    ),
    limit: int = Limit,
    offset: int = Offset,
    c: Container = Depends(container),
) -> dict[str, Any]:
    """The audit trail: who did what and when, newest first (every operator action, and what
    console users did to their accounts' users)."""
    rows, total = c.read(
        lambda conn, _now: service.audit_trail(
            conn, customer_id=customer_id, actor=actor, limit=limit, offset=offset
        )
    )
    return {"total": total, "items": [{**r, "at": instant(r["at"])} for r in rows]}


@router.get("/customers/{customer_id}/history")
def history(
    customer_id: str,
    limit: int = Limit,
    offset: int = Offset,
    c: Container = Depends(container),
) -> dict[str, Any]:
    return accounts.history(c, customer_id, limit=limit, offset=offset)


@router.get("/customers/{customer_id}/balance-alert")
def show_alert(customer_id: str, c: Container = Depends(container)) -> dict[str, Any]:
    return accounts.show_alert(c, customer_id)


@router.put("/customers/{customer_id}/balance-alert")
def set_alert(
    customer_id: str, body: BalanceAlertBody, c: Container = Depends(container)
) -> dict[str, Any]:
    return accounts.set_alert(c, customer_id, body)
