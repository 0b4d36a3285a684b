"""Apply the arrears lifecycle: the scheduled job, and the immediate restore when a payment
clears the debt. Every transition is recorded in the resource's history and written to the
outbox in the same transaction, numbered per resource."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, and_, case, select
from sqlalchemy.orm import aliased

from ..catalog import service as catalog_service
from ..enterprise import accounting
from ..enterprise.model import AccountingMode, AssociationStatus
from ..kernel.limits import PAGE_SIZE_MAX
from ..notify.outbox import Event, emit_many
from ..resources import repo as resource_repo
from ..resources.model import ResourceStatus, StatusChange
from ..store.schema import customer, enterprise_association, resource
from .policy import PolicyRow, periods_for
from .rules import ResourceFacts, Transition, deadline, decide

ACTIVE = (ResourceStatus.NORMAL, ResourceStatus.GRACE, ResourceStatus.FROZEN)


def policy_rows(conn: Connection) -> tuple[PolicyRow, ...]:
    document = catalog_service.active(conn).document
    return tuple(
        PolicyRow(p.grace_days, p.retention_days, p.service, p.customer_level)
        for p in document.arrears_policies
    )


def _candidates(conn: Connection, customer_ids: list[str] | None, after: str, limit: int):  # type: ignore[no-untyped-def]
    """Pay-per-use resources that may move: of customers in arrears, or in grace/frozen.

    A unified member's arrears are its master's (enterprise/accounting.py): its resources go
    to grace, freeze and come back with the master's arrears, not its own."""
    r, c, a = resource.c, customer.c, enterprise_association.c
    master = aliased(customer, name="master")
    arrears_since = case((a.master_id.is_not(None), master.c.arrears_since), else_=c.arrears_since)
    query = (
        select(
            r.id,
            r.status,
            r.status_since,
            r.billing_mode,
            r.service,
            c.level,
            arrears_since.label("arrears_since"),
        )
        .join(customer, c.id == r.customer_id)
        .outerjoin(
            enterprise_association,
            and_(
                a.member_id == r.customer_id,
                a.mode == str(AccountingMode.UNIFIED),
                a.status == str(AssociationStatus.ACTIVE),
            ),
        )
        .outerjoin(master, master.c.id == a.master_id)
        .where(
            r.billing_mode == "pay_per_use",
            r.status.in_([str(s) for s in ACTIVE]),
            arrears_since.is_not(None)
            | r.status.in_([str(ResourceStatus.GRACE), str(ResourceStatus.FROZEN)]),
            r.id > after,
        )
        .order_by(r.id)
        .limit(limit)
    )
    if customer_ids is not None:
        query = query.where(r.customer_id.in_(customer_ids))
    return conn.execute(query).all()


def apply_due(
    conn: Connection, *, now: datetime, customer_ids: list[str] | None = None
) -> list[Transition]:
    """Every transition due by `now`; running it again finds nothing more to do."""
    rows_policy = policy_rows(conn)
    done: list[Transition] = []
    after = ""
    while True:
        batch = _candidates(conn, customer_ids, after, PAGE_SIZE_MAX)
        for row in batch:
            facts = ResourceFacts(
                row.id, ResourceStatus(row.status), row.status_since, row.billing_mode
            )
            periods = periods_for(rows_policy, row.service, row.level)
            for step in decide(facts, arrears_since=row.arrears_since, periods=periods, now=now):
                resource_repo.set_status(
                    conn,
                    StatusChange(
                        step.resource_id, step.from_status, step.to_status, step.at, step.reason
                    ),
                )
                done.append(step)
        if len(batch) < PAGE_SIZE_MAX:
            break
        after = batch[-1].id
    emit_many(conn, [_event(t) for t in done], now=now)
    return done


def _event(t: Transition) -> Event:
    return Event(
        t.event,
        t.resource_id,
        {
            "resource_id": t.resource_id,
            "from": str(t.from_status),
            "to": str(t.to_status),
            "at": t.at.isoformat(),
            "reason": t.reason,
        },
        dedupe_key=f"{t.event}:{t.resource_id}:{t.at.isoformat()}",
    )


def on_arrears_cleared(conn: Connection, customer_id: str, now: datetime) -> None:
    """A payment cleared the debt: unfreeze at once (a master's unified members' resources
    too: their arrears were the master's), and tell the provider."""
    members = sorted(accounting.unified_members(conn, [customer_id]))
    apply_due(conn, now=now, customer_ids=[customer_id, *members])
    emit_many(
        conn,
        [
            Event(
                "customer.arrears_cleared",
                customer_id,
                {"customer_id": customer_id, "at": now.isoformat()},
                dedupe_key=f"customer.arrears_cleared:{customer_id}:{now.isoformat()}",
            )
        ],
        now=now,
    )


def outlook(conn: Connection, customer_id: str, *, limit: int = PAGE_SIZE_MAX) -> list[dict]:  # type: ignore[type-arg]
    """A customer's pay-per-use resources in grace or frozen, with the dates the lifecycle will
    freeze and release them unless the debt is paid first (soonest first)."""
    rows_policy = policy_rows(conn)
    r, c = resource.c, customer.c
    rows = conn.execute(
        select(r.id, r.name, r.service, r.status, r.status_since, r.billing_mode, c.level)
        .join(customer, c.id == r.customer_id)
        .where(
            r.customer_id == customer_id,
            r.billing_mode == "pay_per_use",
            r.status.in_([str(ResourceStatus.GRACE), str(ResourceStatus.FROZEN)]),
        )
        .order_by(r.status_since, r.id)
        .limit(limit)
    ).all()
    found = []
    for row in rows:
        facts = ResourceFacts(row.id, ResourceStatus(row.status), row.status_since,
                              row.billing_mode)  # fmt: skip
        due = deadline(facts, periods_for(rows_policy, row.service, row.level))
        if due is not None:
            found.append({"resource_id": row.id, "name": row.name, "service": row.service,
                          "status": row.status, "status_since": row.status_since,
                          "freeze_at": due.freeze_at, "release_at": due.release_at})  # fmt: skip
    return sorted(found, key=lambda d: (d["freeze_at"] or d["release_at"], d["resource_id"]))
