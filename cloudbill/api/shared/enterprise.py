"""Enterprise accounts for both APIs (and the CLI): associations, members, allocations,
members' budgets. `master_id` / `member_id` scope a call to the calling customer (the customer
API): another customer's association answers exactly like one that does not exist. The
operator passes None."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ...bootstrap import Container
from ...customers import service as customers
from ...enterprise import allocation, budgets, service
from ...enterprise.model import AccountingMode, AllocationKind, Direction
from ...enterprise.views import (
    allocation_view,
    association_view,
    controls_view,
    member_view,
)
from ...kernel.errors import CloudbillError, ErrorCode
from ..operator.schemas import Amount


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Invitation(_Body):
    member_id: str = Field(min_length=1, max_length=128, description="the customer invited")
    mode: AccountingMode = Field(
        description="unified: you pay the member's fees; independent: it pays itself"
    )


class OperatorAssociation(Invitation):
    master_id: str = Field(min_length=1, max_length=128)


class Movement(_Body):
    kind: AllocationKind = Field(description="cash, credit (limit) or coupon")
    amount: Amount
    request_id: str = Field(
        min_length=1, max_length=64, description="idempotency key: a replay answers the first"
    )
    coupon_id: str | None = Field(None, max_length=32, description="kind coupon: which coupon")


class Controls(_Body):
    budget: Amount = Field(None, description="monthly budget; null: none")
    alert_enabled: bool | None = Field(None, strict=True, description="the balance alert")
    alert_threshold: Amount = Field(None, description="alert when the quota drops below")


def members(c: Container, master_id: str, *, limit: int, offset: int) -> dict[str, Any]:
    rows, total = c.read(
        lambda conn, _now: service.members_of(conn, master_id, limit=limit, offset=offset)
    )
    return {"total": total, "items": [member_view(*row) for row in rows]}


def invite(c: Container, master_id: str, body: Invitation) -> dict[str, Any]:
    def work(conn, now):  # type: ignore[no-untyped-def]
        member = customers.resolve(conn, body.member_id)
        return service.invite(conn, master_id=master_id, member_id=member, mode=body.mode, now=now)

    return association_view(c.write(work))


def associate(c: Container, body: OperatorAssociation) -> dict[str, Any]:
    return association_view(
        c.write(
            lambda conn, now: service.associate(
                conn, master_id=body.master_id, member_id=body.member_id, mode=body.mode, now=now
            )
        )
    )


def cancel(c: Container, association_id: str, *, master_id: str | None) -> dict[str, Any]:
    return association_view(
        c.write(
            lambda conn, now: service.cancel(
                conn, association_id=association_id, master_id=master_id, now=now
            )
        )
    )


def disassociate(c: Container, association_id: str, *, master_id: str | None) -> dict[str, Any]:
    return association_view(
        c.write(
            lambda conn, now: service.disassociate(
                conn, association_id=association_id, master_id=master_id, now=now
            )
        )
    )


def answer(c: Container, member_id: str, association_id: str, *, accept: bool) -> dict[str, Any]:
    use_case = service.accept if accept else service.decline
    return association_view(
        c.write(
            lambda conn, now: use_case(
                conn, member_id=member_id, association_id=association_id, now=now
            )
        )
    )


def my_association(c: Container, customer_id: str) -> dict[str, Any]:
    """The customer's side: its invitation or association as a member, and whether it is a
    master (has members or invitations out)."""

    def work(conn, _now):  # type: ignore[no-untyped-def]
        found = service.of_member(conn, customer_id)
        return {
            "customer_id": customer_id,
            "is_master": service.is_master(conn, customer_id),
            "association": association_view(found) if found else None,
        }

    return c.read(work)


def move(
    c: Container,
    association_id: str,
    body: Movement,
    direction: Direction,
    *,
    master_id: str | None,
) -> dict[str, Any]:
    moved = c.write(
        lambda conn, now: allocation.move(
            conn,
            association_id=association_id,
            kind=body.kind,
            direction=direction,
            amount=body.amount,
            request_id=body.request_id,
            coupon_id=body.coupon_id,
            master_id=master_id,
            actor="master" if master_id else "operator",
            now=now,
        )
    )
    return allocation_view(moved)


def history(
    c: Container, customer_id: str, *, limit: int, offset: int, operator: bool = False
) -> dict[str, Any]:
    rows, total = c.read(
        lambda conn, _now: allocation.history(
            conn, customer_id, limit=limit, offset=offset, operator=operator
        )
    )
    return {"total": total, "items": [allocation_view(a) for a in rows]}


def show_controls(c: Container, association_id: str, *, master_id: str | None) -> dict[str, Any]:
    return controls_view(
        c.read(
            lambda conn, now: budgets.controls(conn, association_id, master_id=master_id, now=now)
        )
    )


def set_controls(
    c: Container, association_id: str, body: Controls, *, master_id: str | None
) -> dict[str, Any]:
    given = body.model_fields_set
    changes: dict[str, Any] = {}
    if "budget" in given:
        changes["budget"] = body.budget
    if "alert_enabled" in given:
        if body.alert_enabled is None:
            raise CloudbillError(ErrorCode.INVALID_ARGUMENT, "alert_enabled: true or false")
        changes["alert_enabled"] = body.alert_enabled
        changes["alert_threshold"] = body.alert_threshold
    elif "alert_threshold" in given:
        raise CloudbillError(ErrorCode.INVALID_ARGUMENT, "alert_threshold goes with alert_enabled")
    return controls_view(
        c.write(
            lambda conn, now: budgets.set_controls(
                conn, association_id, master_id=master_id, now=now, **changes
            )
        )
    )


def list_associations(
    c: Container,
    *,
    master_id: str | None,
    member_id: str | None,
    status: str | None,
    limit: int,
    offset: int,
) -> dict[str, Any]:
    rows, total = c.read(
        lambda conn, _now: service.list_associations(
            conn,
            master_id=master_id,
            member_id=member_id,
            status=status,
            limit=limit,
            offset=offset,
        )
    )
    return {"total": total, "items": [association_view(a) for a in rows]}
