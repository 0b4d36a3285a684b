"""Customer SQL."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from ..kernel.limits import PAGE_SIZE_MAX
from ..ledger.model import AccountKind
from ..store.schema import audit_event, customer, ledger_account
from .model import Customer, CustomerStatus, PaymentMode


def _customer(row) -> Customer:  # type: ignore[no-untyped-def]
    return Customer(
        id=row.id,
        name=row.name,
        email=row.email,
        mobile=row.mobile,
        currency=row.currency,
        payment_mode=PaymentMode(row.payment_mode),
        credit_limit_units=row.credit_limit_units,
        level=row.level,
        timezone=row.timezone,
        status=CustomerStatus(row.status),
        arrears_since=row.arrears_since,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def insert_customer(conn: Connection, values: dict[str, Any]) -> None:
    conn.execute(insert(customer).values(**values))


def get(conn: Connection, customer_id: str, *, lock: bool = False) -> Customer | None:
    query = select(customer).where(customer.c.id == customer_id)
    if lock and conn.dialect.name == "postgresql":
        query = query.with_for_update(key_share=True)
    row = conn.execute(query).first()
    return _customer(row) if row else None


def id_of_name(conn: Connection, name: str) -> str | None:
    return conn.execute(select(customer.c.id).where(customer.c.name == name)).scalar()


def name_taken(conn: Connection, name: str, *, except_id: str | None = None) -> bool:
    query = select(customer.c.id).where(customer.c.name == name)
    if except_id:
        query = query.where(customer.c.id != except_id)
    return conn.execute(query).first() is not None


def list_customers(
    conn: Connection,
    *,
    status: str | None,
    payment_mode: str | None,
    in_arrears: bool | None,
    limit: int,
    offset: int,
    search: str | None = None,
) -> tuple[list[Customer], int]:
    query = select(customer)
    if search:
        # A part of the name or email, or the id's start; LIKE's wildcards taken literally.
        pattern = search.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(
            func.lower(customer.c.name).like(f"%{pattern}%", escape="\\")
            | func.lower(customer.c.email).like(f"%{pattern}%", escape="\\")
            | customer.c.id.like(f"{pattern}%", escape="\\")
        )
    if status:
        query = query.where(customer.c.status == status)
    if payment_mode:
        query = query.where(customer.c.payment_mode == payment_mode)
    if in_arrears is not None:
        debt_positive = (
            select(ledger_account.c.customer_id)
            .where(ledger_account.c.kind == str(AccountKind.DEBT))
            .where(ledger_account.c.balance_units > 0)
        )
        clause = customer.c.id.in_(debt_positive)
        query = query.where(clause if in_arrears else ~clause)
    total = conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    rows = conn.execute(
        query.order_by(customer.c.created_at, customer.c.id)
        .limit(min(limit, PAGE_SIZE_MAX))
        .offset(offset)
    ).all()
    return [_customer(r) for r in rows], total


def update_fields(conn: Connection, customer_id: str, values: dict[str, Any]) -> None:
    conn.execute(update(customer).where(customer.c.id == customer_id).values(**values))


def audit_trail(conn: Connection, *, customer_id: str | None, actor: str | None,
                limit: int, offset: int) -> tuple[list[Any], int]:  # fmt: skip
    """Who did what, newest first (optionally of one customer, or by one actor)."""
    query = select(audit_event)
    if customer_id is not None:
        query = query.where(audit_event.c.customer_id == customer_id)
    if actor is not None:
        query = query.where(audit_event.c.actor == actor)
    total = conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    rows = conn.execute(
        query.order_by(audit_event.c.id.desc()).limit(min(limit, PAGE_SIZE_MAX)).offset(offset)
    ).all()
    return list(rows), total


def add_audit(
    conn: Connection,
    *,
    at: datetime,
    actor: str,
    customer_id: str | None,
    action: str,
    details: dict[str, Any],
) -> None:
    conn.execute(
        insert(audit_event).values(
            at=at,
            actor=actor,
            customer_id=customer_id,
            action=action,
            details=json.dumps(details, sort_keys=True, default=str),
        )
    )
