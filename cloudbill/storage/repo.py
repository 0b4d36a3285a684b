"""Bill storage SQL: the customer's settings, the versions of files pushed, the push jobs."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from ..store.schema import bill_storage, bill_storage_file, bill_storage_push
from .model import BillFile, FileFormat, PushedVersion, StorageConfig

RECHECK_FILES_MAX = 200  # two billing periods of daily and month files, with room


def _day(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def _config(row: Any) -> StorageConfig:
    m = dict(row._mapping)
    return StorageConfig(
        **{
            **m,
            "bills": tuple(BillFile(b) for b in m["bills"].split(",") if b),
            "file_format": FileFormat(m["file_format"]),
            "next_day": _day(m["next_day"]),
            "last_failure_on": _day(m["last_failure_on"]),
        }
    )


def get(conn: Connection, customer_id: str) -> StorageConfig | None:
    row = conn.execute(
        select(bill_storage).where(bill_storage.c.customer_id == customer_id)
    ).first()
    return _config(row) if row else None


def enabled_customers(conn: Connection, *, after: str, limit: int) -> list[str]:
    c = bill_storage.c
    query = select(c.customer_id).where(c.enabled, c.customer_id > after)
    return list(conn.execute(query.order_by(c.customer_id).limit(limit)).scalars())


def upsert(conn: Connection, customer_id: str, values: dict[str, Any], *, now: datetime) -> None:
    found = conn.execute(
        update(bill_storage)
        .where(bill_storage.c.customer_id == customer_id)
        .values(**values, updated_at=now)
    )
    if found.rowcount == 0:
        conn.execute(
            insert(bill_storage).values(
                customer_id=customer_id, created_at=now, updated_at=now, **values
            )
        )


def _version(row: Any) -> PushedVersion:
    return PushedVersion(**{k: row._mapping[k] for k in PushedVersion.__slots__})  # type: ignore[attr-defined]


def latest_versions(conn: Connection, customer_id: str, periods: list[str]) -> list[PushedVersion]:
    """The current version of each file pushed in the given billing periods."""
    f = bill_storage_file.c
    top = (
        select(f.name, func.max(f.version).label("version"))
        .where(f.customer_id == customer_id, f.billing_period.in_(periods))
        .group_by(f.name)
        .subquery()
    )
    rows = conn.execute(
        select(bill_storage_file)
        .join(top, (f.name == top.c.name) & (f.version == top.c.version))
        .where(f.customer_id == customer_id)
        .order_by(f.name)
        .limit(RECHECK_FILES_MAX)
    ).all()
    return [_version(r) for r in rows]


def versions_of(conn: Connection, customer_id: str, name: str) -> list[PushedVersion]:
    f = bill_storage_file.c
    rows = conn.execute(
        select(bill_storage_file)
        .where(f.customer_id == customer_id, f.name == name)
        .order_by(f.version)
        .limit(1000)
    ).all()
    return [_version(r) for r in rows]


def add_version(conn: Connection, customer_id: str, v: PushedVersion) -> None:
    fields = {k: getattr(v, k) for k in PushedVersion.__slots__}  # type: ignore[attr-defined]
    conn.execute(insert(bill_storage_file).values(customer_id=customer_id, **fields))


def record_push(conn: Connection, customer_id: str, **values: Any) -> int:
    return int(
        conn.execute(
            insert(bill_storage_push).values(customer_id=customer_id, **values)
        ).inserted_primary_key[0]  # type: ignore[index]
    )


def pushes(conn: Connection, customer_id: str, *, limit: int) -> list[dict[str, Any]]:
    p = bill_storage_push.c
    rows = conn.execute(
        select(bill_storage_push)
        .where(p.customer_id == customer_id)
        .order_by(p.id.desc())
        .limit(limit)
    ).all()
    return [dict(r._mapping) for r in rows]
