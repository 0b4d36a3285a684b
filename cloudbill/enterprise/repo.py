"""Reading associations: the lookups other stages need (who pays for whom, who sees whom)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Connection, and_, func, insert, or_, select, update

from ..kernel.limits import PAGE_SIZE_MAX
from ..store.schema import customer as customers
from ..store.schema import customer_order as orders
from ..store.schema import enterprise_allocation as allocations
from ..store.schema import enterprise_association as table
from ..store.schema import enterprise_member_setting as settings
from .model import (
    AccountingMode,
    Allocation,
    AllocationKind,
    Association,
    AssociationStatus,
    Direction,
    InvitedBy,
    MemberSetting,
)


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


def pending_orders_of(conn: Connection, customer_id: str) -> int:
    """How many of the customer's orders wait for payment (a unified member leaves without)."""
    return int(
        conn.execute(
            select(func.count()).where(
                orders.c.customer_id == customer_id, orders.c.status == "pending_payment"
            )
        ).scalar_one()
    )


def members_page(
    conn: Connection,
    master_id: str,
    *,
    names: Iterable[tuple[str, bool]] = (),
    limit: int,
    offset: int,
) -> tuple[list[tuple[Association, str]], int]:
    """A page of the master's live associations with each member's name, oldest first,
    filtered and paged in SQL; `names`: (wanted, fuzzy) pairs the name must match, exactly or
    as a substring."""
    where = [
        table.c.master_id == master_id,
        table.c.status.in_([AssociationStatus.INVITED, AssociationStatus.ACTIVE]),
    ]
    for wanted, fuzzy in names:
        if fuzzy:
            escaped = wanted.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            where.append(customers.c.name.like(f"%{escaped}%", escape="\\"))
        else:
            where.append(customers.c.name == wanted)
    joined = table.join(customers, customers.c.id == table.c.member_id)
    total = conn.execute(select(func.count()).select_from(joined).where(*where)).scalar_one()
    rows = conn.execute(
        select(table, customers.c.name.label("member_name"))
        .select_from(joined)
        .where(*where)
        .order_by(table.c.created_at, table.c.id)
        .limit(min(limit, PAGE_SIZE_MAX))
        .offset(offset)
    )
    return [(_association(row), row.member_name) for row in rows], int(total)


# --- writing associations (enterprise/service.py) -------------------------------------------


def insert_association(conn: Connection, values: dict[str, object]) -> None:
    """A new live association; the partial unique index refuses a second live one per member
    (IntegrityError, answered as ENTERPRISE_MEMBER_TAKEN by the service)."""
    conn.execute(table.insert().values(**values))


def transition(
    conn: Connection,
    association_id: str,
    expected: Iterable[AssociationStatus],
    status: AssociationStatus,
    **values: object,
) -> bool:
    """Move to `status` only from one of `expected`: of two racing requests exactly one
    updates the row (the other sees 0 rows and is told the association moved on)."""
    result = conn.execute(
        update(table)
        .where(table.c.id == association_id, table.c.status.in_([str(s) for s in expected]))
        .values(status=str(status), **values)
    )
    return result.rowcount == 1


def is_live_master(conn: Connection, customer_id: str) -> bool:
    """Whether the customer has members or invitations out: it is (becoming) a master."""
    return (
        conn.execute(
            select(table.c.id)
            .where(
                table.c.master_id == customer_id,
                table.c.status.in_([AssociationStatus.INVITED, AssociationStatus.ACTIVE]),
            )
            .limit(1)
        ).first()
        is not None
    )


def list_associations(
    conn: Connection,
    *,
    master_id: str | None = None,
    member_id: str | None = None,
    statuses: Iterable[AssociationStatus] | None = None,
    limit: int = PAGE_SIZE_MAX,
    offset: int = 0,
) -> tuple[list[Association], int]:
    """A page, newest first; filters: master, member, statuses."""
    where = []
    if master_id is not None:
        where.append(table.c.master_id == master_id)
    if member_id is not None:
        where.append(table.c.member_id == member_id)
    if statuses is not None:
        where.append(table.c.status.in_([str(s) for s in statuses]))
    query = select(table).where(*where)
    total = conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    rows = conn.execute(
        query.order_by(table.c.created_at.desc(), table.c.id.desc())
        .limit(min(limit, PAGE_SIZE_MAX))
        .offset(offset)
    )
    return [_association(row) for row in rows], int(total)


# --- allocations (independent accounting) ----------------------------------------------------


def _allocation(row, *, replayed: bool = False) -> Allocation:  # type: ignore[no-untyped-def]
    return Allocation(
        id=row.id,
        association_id=row.association_id,
        master_id=row.master_id,
        member_id=row.member_id,
        kind=AllocationKind(row.kind),
        direction=Direction(row.direction),
        currency=row.currency,
        amount_units=row.amount_units,
        from_coupon_id=row.from_coupon_id,
        to_coupon_id=row.to_coupon_id,
        ledger_transaction_id=row.ledger_transaction_id,
        actor=row.actor,
        created_at=row.created_at,
        replayed=replayed,
    )


def allocation_by_key(conn: Connection, request_key: str) -> tuple[Allocation, str] | None:
    """(the movement recorded under `request_key`, its payload hash), if any."""
    row = conn.execute(select(allocations).where(allocations.c.request_key == request_key)).first()
    return (_allocation(row, replayed=True), row.payload_hash) if row else None


def insert_allocation(conn: Connection, values: dict[str, object]) -> Allocation:
    new_id = conn.execute(insert(allocations).values(**values)).inserted_primary_key[0]
    row = conn.execute(select(allocations).where(allocations.c.id == new_id)).one()
    return _allocation(row)


def net_allocated_units(conn: Connection, association_id: str, kind: AllocationKind) -> int:
    """Allocated less recalled, over this association, for one kind."""
    a = allocations.c
    rows = conn.execute(
        select(a.direction, func.coalesce(func.sum(a.amount_units), 0))
        .where(a.association_id == association_id, a.kind == str(kind))
        .group_by(a.direction)
    ).all()
    sums = {direction: int(total) for direction, total in rows}
    return sums.get(Direction.ALLOCATE, 0) - sums.get(Direction.RECALL, 0)


def list_allocations(
    conn: Connection,
    *,
    master_id: str | None = None,
    member_id: str | None = None,
    party_id: str | None = None,
    limit: int = PAGE_SIZE_MAX,
    offset: int = 0,
) -> tuple[list[Allocation], int]:
    """The history, newest first, filtered by master, member, or either side (`party_id`)."""
    where = []
    if party_id is not None:
        where.append(or_(allocations.c.master_id == party_id, allocations.c.member_id == party_id))
    if master_id is not None:
        where.append(allocations.c.master_id == master_id)
    if member_id is not None:
        where.append(allocations.c.member_id == member_id)
    query = select(allocations).where(*where)
    total = conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    rows = conn.execute(
        query.order_by(allocations.c.id.desc()).limit(min(limit, PAGE_SIZE_MAX)).offset(offset)
    )
    return [_allocation(row) for row in rows], int(total)


def visible_allocations(
    conn: Connection, customer_id: str, *, limit: int = PAGE_SIZE_MAX, offset: int = 0
) -> tuple[list[Allocation], int]:
    """A customer's history, newest first: its own movements as a member (any association,
    ended ones too: the money was its own), and as a master those over associations still
    active."""
    active = select(table.c.id).where(
        table.c.master_id == customer_id, table.c.status == AssociationStatus.ACTIVE
    )
    query = select(allocations).where(
        or_(
            allocations.c.member_id == customer_id,
            and_(
                allocations.c.master_id == customer_id,
                allocations.c.association_id.in_(active.scalar_subquery()),
            ),
        )
    )
    total = conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    rows = conn.execute(
        query.order_by(allocations.c.id.desc()).limit(min(limit, PAGE_SIZE_MAX)).offset(offset)
    )
    return [_allocation(row) for row in rows], int(total)


# --- members' settings: budgets ---------------------------------------------------------------


def _setting(row) -> MemberSetting:  # type: ignore[no-untyped-def]
    return MemberSetting(
        member_id=row.member_id,
        master_id=row.master_id,
        budget_units=row.budget_units,
        budget_alerted_month=row.budget_alerted_month,
        updated_at=row.updated_at,
    )


def get_setting(conn: Connection, member_id: str) -> MemberSetting | None:
    row = conn.execute(select(settings).where(settings.c.member_id == member_id)).first()
    return _setting(row) if row else None


def put_setting(conn: Connection, values: dict[str, object]) -> None:
    found = conn.execute(
        update(settings).where(settings.c.member_id == values["member_id"]).values(**values)
    )
    if found.rowcount == 0:
        conn.execute(insert(settings).values(**values))


def budgets_after(conn: Connection, member_id: str, *, limit: int) -> list[MemberSetting]:
    """Up to `limit` members' budgets with a member id after `member_id` (keyset pages)."""
    rows = conn.execute(
        select(settings)
        .where(settings.c.budget_units.is_not(None), settings.c.member_id > member_id)
        .order_by(settings.c.member_id)
        .limit(min(limit, PAGE_SIZE_MAX))
    )
    return [_setting(row) for row in rows]


def mark_budget_alerted(conn: Connection, member_id: str, month: str) -> bool:
    """Record the month's alert; False when it was already recorded (told once a month)."""
    result = conn.execute(
        update(settings)
        .where(
            settings.c.member_id == member_id,
            or_(
                settings.c.budget_alerted_month.is_(None),
                settings.c.budget_alerted_month != month,
            ),
        )
        .values(budget_alerted_month=month)
    )
    return result.rowcount == 1


def coupon_allocated_by(conn: Connection, association_id: str, coupon_id: str) -> bool:
    """Whether `coupon_id` was made by an allocation over this association."""
    a = allocations.c
    found = conn.execute(
        select(a.id)
        .where(
            a.association_id == association_id,
            a.direction == str(Direction.ALLOCATE),
            a.to_coupon_id == coupon_id,
        )
        .limit(1)
    ).first()
    return found is not None
