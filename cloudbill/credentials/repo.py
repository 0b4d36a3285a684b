"""Access key SQL."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, delete, func, insert, select, update

from ..store.schema import access_key
from .model import AccessKey, AccessKeyStatus

# A customer's keys are few (two active, disabled ones until deleted); the list is bounded anyway.
KEYS_LISTED_MAX = 100


def _key(row) -> AccessKey:  # type: ignore[no-untyped-def]
    return AccessKey(
        id=row.id,
        customer_id=row.customer_id,
        status=AccessKeyStatus(row.status),
        description=row.description,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def get(conn: Connection, key_id: str) -> tuple[AccessKey, str] | None:
    """The key and its sealed secret."""
    row = conn.execute(select(access_key).where(access_key.c.id == key_id)).first()
    return (_key(row), row.secret_sealed) if row else None


def insert_key(conn: Connection, key: AccessKey, sealed: str) -> None:
    conn.execute(
        insert(access_key).values(
            id=key.id,
            customer_id=key.customer_id,
            secret_sealed=sealed,
            status=str(key.status),
            description=key.description,
            created_at=key.created_at,
            updated_at=key.updated_at,
        )
    )


def count_active(conn: Connection, customer_id: str) -> int:
    return conn.execute(
        select(func.count())
        .select_from(access_key)
        .where(
            access_key.c.customer_id == customer_id,
            access_key.c.status == str(AccessKeyStatus.ACTIVE),
        )
    ).scalar_one()


def list_for(conn: Connection, customer_id: str) -> list[AccessKey]:
    rows = conn.execute(
        select(access_key)
        .where(access_key.c.customer_id == customer_id)
        .order_by(access_key.c.created_at, access_key.c.id)
        .limit(KEYS_LISTED_MAX)
    )
    return [_key(row) for row in rows]


def set_status(conn: Connection, key_id: str, status: AccessKeyStatus, now: datetime) -> None:
    conn.execute(
        update(access_key)
        .where(access_key.c.id == key_id)
        .values(status=str(status), updated_at=now)
    )


def delete_key(conn: Connection, key_id: str) -> None:
    conn.execute(delete(access_key).where(access_key.c.id == key_id))
