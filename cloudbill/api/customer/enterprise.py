"""Customer routes: enterprise accounts. As a master: invite customers, cancel an invitation,
list your members with their mode, status and balances, allocate to and recall from an
independent member, set a member's budget and balance alert. As a member: see your invitation
or association, accept or decline. Both: the allocation history you took part in."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from ...bootstrap import Container
from ...enterprise.model import Direction
from ..deps import container
from ..keyauth import KeyCaller
from ..shared import enterprise as shared
from ..shared.enterprise import Controls, Invitation, Movement
from ..shared.params import Limit, Offset
from .auth import caller

router = APIRouter(tags=["enterprise"])


@router.get("/enterprise/members")
def list_members(
    limit: int = Limit,
    offset: int = Offset,
    me: KeyCaller = Depends(caller),
    c: Container = Depends(container),
) -> dict[str, Any]:
    """Your member accounts and open invitations, newest first, with each member's accounting
    mode, status and balances. A member that left is not listed."""
    return shared.members(c, me.customer.id, limit=limit, offset=offset)


@router.post("/enterprise/members", status_code=201)
def invite(
    body: Invitation, me: KeyCaller = Depends(caller), c: Container = Depends(container)
) -> dict[str, Any]:
    """Invite a customer (by id) to be your member account; it accepts or declines."""
    return shared.invite(c, me.customer.id, body)


@router.post("/enterprise/members/{association_id}/cancel")
def cancel(
    association_id: str, me: KeyCaller = Depends(caller), c: Container = Depends(container)
) -> dict[str, Any]:
    """Withdraw an invitation not yet answered."""
    return shared.cancel(c, association_id, master_id=me.customer.id)


@router.post("/enterprise/members/{association_id}/allocations", status_code=201)
def allocate(
    association_id: str,
    body: Movement,
    me: KeyCaller = Depends(caller),
    c: Container = Depends(container),
) -> dict[str, Any]:
    """Allocate cash (at most your balance less the outstanding invoice amount), credit limit
    (unused limit, to a post-paid member) or a cash coupon (or part of it) to an independent
    member."""
    return shared.move(c, association_id, body, Direction.ALLOCATE, master_id=me.customer.id)


@router.post("/enterprise/members/{association_id}/recalls", status_code=201)
def recall(
    association_id: str,
    body: Movement,
    me: KeyCaller = Depends(caller),
    c: Container = Depends(container),
) -> dict[str, Any]:
    """Take back what you allocated and the member has not spent."""
    return shared.move(c, association_id, body, Direction.RECALL, master_id=me.customer.id)


@router.get("/enterprise/members/{association_id}/controls")
def show_controls(
    association_id: str, me: KeyCaller = Depends(caller), c: Container = Depends(container)
) -> dict[str, Any]:
    """A member's monthly budget, its spend this month, and its balance alert."""
    return shared.show_controls(c, association_id, master_id=me.customer.id)


@router.put("/enterprise/members/{association_id}/controls")
def set_controls(
    association_id: str,
    body: Controls,
    me: KeyCaller = Depends(caller),
    c: Container = Depends(container),
) -> dict[str, Any]:
    """Set a member's monthly budget (you and it are alerted once a month when its spend
    passes it) and/or its balance alert."""
    return shared.set_controls(c, association_id, body, master_id=me.customer.id)


@router.get("/enterprise/allocations")
def allocations(
    limit: int = Limit,
    offset: int = Offset,
    me: KeyCaller = Depends(caller),
    c: Container = Depends(container),
) -> dict[str, Any]:
    """Allocations and recalls you took part in (as master or member), newest first."""
    return shared.history(c, me.customer.id, limit=limit, offset=offset)


@router.get("/enterprise/association")
def my_association(
    me: KeyCaller = Depends(caller), c: Container = Depends(container)
) -> dict[str, Any]:
    """Your invitation or association as a member account (null if none), and whether you
    are a master account."""
    return shared.my_association(c, me.customer.id)


@router.post("/enterprise/association/{association_id}/accept")
def accept(
    association_id: str, me: KeyCaller = Depends(caller), c: Container = Depends(container)
) -> dict[str, Any]:
    """Accept an invitation (you must have no unpaid bills, debt or arrears)."""
    return shared.answer(c, me.customer.id, association_id, accept=True)


@router.post("/enterprise/association/{association_id}/decline")
def decline(
    association_id: str, me: KeyCaller = Depends(caller), c: Container = Depends(container)
) -> dict[str, Any]:
    return shared.answer(c, me.customer.id, association_id, accept=False)
