"""Operator routes: enterprise associations (list, associate directly, cancel an invitation,
disassociate) and the allocation history."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query

from ...bootstrap import Container
from ..deps import container, require_operator
from ..shared import enterprise as shared
from ..shared.enterprise import OperatorAssociation
from ..shared.params import Limit, Offset

router = APIRouter(tags=["enterprise"], dependencies=[Depends(require_operator)])


@router.get("/enterprise/associations")
def list_associations(
    master_id: str | None = Query(None, max_length=32),
    member_id: str | None = Query(None, max_length=32),
    status: str | None = Query(None, examples=["active"]),
    limit: int = Limit,
    offset: int = Offset,
    c: Container = Depends(container),
) -> dict[str, Any]:
    """Associations newest first; status: invited, active, declined, cancelled or ended."""
    return shared.list_associations(
        c, master_id=master_id, member_id=member_id, status=status, limit=limit, offset=offset
    )


@router.post("/enterprise/associations", status_code=201)
def associate(body: OperatorAssociation, c: Container = Depends(container)) -> dict[str, Any]:
    """Associate a member with a master directly: active at once, same conditions."""
    return shared.associate(c, body)


@router.post("/enterprise/associations/{association_id}/cancel")
def cancel(association_id: str, c: Container = Depends(container)) -> dict[str, Any]:
    return shared.cancel(c, association_id, master_id=None)


@router.post("/enterprise/associations/{association_id}/disassociate")
def disassociate(association_id: str, c: Container = Depends(container)) -> dict[str, Any]:
    """End an association once the member has no funds, credit limit, coupons or arrears left
    (and, in unified accounting, the master has paid)."""
    return shared.disassociate(c, association_id, master_id=None)


@router.get("/enterprise/allocations")
def allocations(
    customer_id: str = Query(max_length=32, description="a master or a member"),
    limit: int = Limit,
    offset: int = Offset,
    c: Container = Depends(container),
) -> dict[str, Any]:
    return shared.history(c, customer_id, limit=limit, offset=offset, operator=True)
