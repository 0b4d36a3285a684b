"""Enterprise associations for tests of unified accounting and visibility: rows written
straight into enterprise_association (active from `at`), until ent-core's service
(invite/accept/disassociate, with their conditions) takes over at merge."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, update

from cloudbill.kernel.ids import new_id
from cloudbill.store.schema import enterprise_association


def associate(container, master_id: str, member_id: str, mode: str, *, at: datetime) -> str:  # type: ignore[no-untyped-def]
    """An active association of `member_id` with `master_id` accepted at `at`."""
    aid = new_id()

    values = {
        "id": aid,
        "master_id": master_id,
        "member_id": member_id,
        "mode": mode,
        "status": "active",
        "invited_by": "master",
        "created_at": at,
        "accepted_at": at,
        "ended_at": None,
        "updated_at": at,
    }
    container.write(lambda conn, _now: conn.execute(insert(enterprise_association), values))
    return aid


def disassociate(container, association_id: str, *, at: datetime) -> None:  # type: ignore[no-untyped-def]
    container.write(
        lambda conn, _now: conn.execute(
            update(enterprise_association)
            .where(enterprise_association.c.id == association_id)
            .values(status="ended", ended_at=at, updated_at=at)
        )
    )
