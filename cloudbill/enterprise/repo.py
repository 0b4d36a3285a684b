"""Reading associations: the lookups other stages need (who pays for whom, who sees whom)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Connection, and_, or_, select

from ..store.schema import enterprise_association as table
from .model import AccountingMode, Association, AssociationStatus, InvitedBy


def _association(row) -> Association:  # type: ignore[no-untyped-def]
    return Association(
        id=row.id,
        master_id=row.master_id,
        member_id=row.member_id,
        mode=AccountingMode(row.mode),
        status=AssociationStatus(row.status),
        invited_by=InvitedBy(row.invited_by),
        created_at=row.created_at,
        accepted_at=row.accepted_at,
        ended_at=row.ended_at,
        updated_at=row.updated_at,
    )


def get(conn: Connection, association_id: str) -> Association | None:
    row = conn.execute(select(table).where(table.c.id == association_id)).first()
    return _association(row) if row else None


def live_of_member(conn: Connection, member_id: str) -> Association | None:
    """The member's invited or active association, if any (there is at most one)."""
    row = conn.execute(
        select(table).where(
            table.c.member_id == member_id,
            table.c.status.in_([AssociationStatus.INVITED, AssociationStatus.ACTIVE]),
        )
    ).first()
    return _association(row) if row else None


def active_of_master(conn: Connection, master_id: str) -> list[Association]:
    rows = conn.execute(
        select(table)
        .where(table.c.master_id == master_id, table.c.status == AssociationStatus.ACTIVE)
        .order_by(table.c.accepted_at, table.c.id)
    )
    return [_association(row) for row in rows]


def unified_payers(conn: Connection, customer_ids: Iterable[str], at: datetime) -> dict[str, str]:
    """{member id: master id} for those of `customer_ids` in unified accounting at `at`:
    their fees and orders of that instant are paid by the master. Others pay themselves."""
    ids = list(customer_ids)
    if not ids:
        return {}
    rows = conn.execute(
        select(table.c.member_id, table.c.master_id).where(
            table.c.member_id.in_(ids),
            table.c.mode == AccountingMode.UNIFIED,
            table.c.accepted_at.is_not(None),
            table.c.accepted_at <= at,
            or_(table.c.ended_at.is_(None), table.c.ended_at > at),
        )
    )
    return {row.member_id: row.master_id for row in rows}


def sees(conn: Connection, viewer_id: str, customer_id: str) -> bool:
    """Whether `viewer_id` may see `customer_id`'s bills: itself, or its master while the
    association is active (after disassociation the old master sees nothing of it)."""
    if viewer_id == customer_id:
        return True
    return (
        conn.execute(
            select(table.c.id).where(
                and_(
                    table.c.master_id == viewer_id,
                    table.c.member_id == customer_id,
                    table.c.status == AssociationStatus.ACTIVE,
                )
            )
        ).first()
        is not None
    )
