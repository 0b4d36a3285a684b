"""Operator routes: customers, top-ups, withdrawals, freeze, overview, balance history."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from ...bootstrap import Container
from ...customers import service
from ...customers.model import CustomerInput, CustomerStatus
from ...kernel.limits import PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX
from ...notify import alerts
from ...postpaid import service as postpaid
from ...views import (
    alert_view,
    customer_view,
    history_view,
    overview_view,
    postpaid_bill_view,
    transaction_view,
)
from ..deps import container, require_operator
from .schemas import Adjustment, Amount, CustomerCreate, CustomerUpdate, MoneyMovement, Reason

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
    limit: int = Query(PAGE_SIZE_DEFAULT, ge=1, le=PAGE_SIZE_MAX),
    offset: int = Query(0, ge=0),
    c: Container = Depends(container),
) -> dict[str, Any]:
    pairs, total = c.read(
        lambda conn, _now: service.list_with_overviews(
            conn, status=status, payment_mode=payment_mode, in_arrears=in_arrears,
            limit=limit, offset=offset,
        )
    )  # fmt: skip
    return {"total": total, "items": [customer_view(row, figures) for row, figures in pairs]}


@router.get("/customers/{customer_id}")
def show_customer(customer_id: str, c: Container = Depends(container)) -> dict[str, Any]:
    def work(conn, _now):  # type: ignore[no-untyped-def]
        customer = service.get(conn, customer_id)
        return customer_view(customer, service.overview(conn, customer))

    return c.read(work)


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
    return c.read(
        lambda conn, _now: overview_view(service.overview(conn, service.get(conn, customer_id)))
    )


@router.get("/customers/{customer_id}/postpaid-bills")
def postpaid_bills(customer_id: str, c: Container = Depends(container)) -> dict[str, Any]:
    """The customer's post-paid monthly bills, oldest first, with what is still outstanding
    (repayments pay the oldest bill first) and whether each is unpaid, overdue or paid."""

    def read(conn, now):  # type: ignore[no-untyped-def]
        customer = service.get(conn, customer_id)
        bills = postpaid.views(conn, customer.id, now=now)
        return {"customer_id": customer.id, "bills": [postpaid_bill_view(b) for b in bills]}

    return c.read(read)


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


@router.get("/customers/{customer_id}/history")
def history(
    customer_id: str,
    limit: int = Query(PAGE_SIZE_DEFAULT, ge=1, le=PAGE_SIZE_MAX),
    offset: int = Query(0, ge=0),
    c: Container = Depends(container),
) -> dict[str, Any]:
    rows, total = c.read(
        lambda conn, _now: service.history(conn, customer_id, limit=limit, offset=offset)
    )
    return {"total": total, "items": [history_view(r) for r in rows]}


class BalanceAlertBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(strict=True)
    threshold: Amount = Field(None, description="alert when the expenditure quota drops below")


@router.get("/customers/{customer_id}/balance-alert")
def show_alert(customer_id: str, c: Container = Depends(container)) -> dict[str, Any]:
    def work(conn, _now):  # type: ignore[no-untyped-def]
        return alert_view(alerts.get(conn, customer_id), service.get(conn, customer_id).currency)

    return c.read(work)


@router.put("/customers/{customer_id}/balance-alert")
def set_alert(
    customer_id: str, body: BalanceAlertBody, c: Container = Depends(container)
) -> dict[str, Any]:
    def work(conn, now):  # type: ignore[no-untyped-def]
        state = alerts.configure(
            conn, customer_id, enabled=body.enabled, threshold=body.threshold, now=now
        )
        return alert_view(state, service.get(conn, customer_id).currency)

    return c.write(work)
