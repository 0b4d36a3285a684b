"""Catalog versions in the database: each loaded document is kept; one is active."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, insert, select, update

from ..kernel.limits import PAGE_SIZE_MAX
from ..store.schema import catalog_version


def find_version(conn: Connection, version: str):  # type: ignore[no-untyped-def]
    return conn.execute(select(catalog_version).where(catalog_version.c.version == version)).first()


def active_row(conn: Connection):  # type: ignore[no-untyped-def]
    return conn.execute(
        select(catalog_version).where(catalog_version.c.is_active.is_(True))
    ).first()


def active_head(conn: Connection):  # type: ignore[no-untyped-def]
    """The active version without its document (id, version, checksum): what a reader needs
    to find its parsed copy; the document (tens of kB) is read only when it has none."""
    c = catalog_version.c
    return conn.execute(select(c.id, c.version, c.checksum).where(c.is_active.is_(True))).first()


def document(conn: Connection, version_id: int) -> str:
    return conn.execute(
        select(catalog_version.c.document).where(catalog_version.c.id == version_id)
    ).scalar_one()


def insert_version(
    conn: Connection, *, version: str, checksum: str, document: str, source: str, now: datetime
) -> int:
    return conn.execute(
        insert(catalog_version).values(
            version=version,
            checksum=checksum,
            document=document,
            source=source[:512],
            loaded_at=now,
            is_active=False,
        )
    ).inserted_primary_key[0]


def activate(conn: Connection, version_id: int) -> None:
    conn.execute(update(catalog_version).values(is_active=False))
    conn.execute(
        update(catalog_version).where(catalog_version.c.id == version_id).values(is_active=True)
    )


def list_versions(conn: Connection):  # type: ignore[no-untyped-def]
    return conn.execute(
        select(
            catalog_version.c.id,
            catalog_version.c.version,
            catalog_version.c.checksum,
            catalog_version.c.source,
            catalog_version.c.loaded_at,
            catalog_version.c.is_active,
        )
        .order_by(catalog_version.c.id.desc())
        .limit(PAGE_SIZE_MAX)
    ).all()
