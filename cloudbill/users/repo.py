"""Console user and session SQL."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from ..kernel.limits import USERS_PER_CUSTOMER_MAX
from ..store.schema import console_form, console_session, console_user
from .model import Role, User, UserKind, UserStatus

_U = console_user.c


def _user(row: Any) -> User:
    return User(
        id=row.id,
        kind=UserKind(row.kind),
        customer_id=row.customer_id,
        email=row.email,
        name=row.name,
        role=Role(row.role),
        status=UserStatus(row.status),
        failed_sign_ins=row.failed_sign_ins,
        locked_until=row.locked_until,
        invite_expires_at=row.invite_expires_at,
        last_sign_in_at=row.last_sign_in_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def get(conn: Connection, user_id: str, *, lock: bool = False) -> User | None:
    query = select(console_user).where(_U.id == user_id)
    if lock:
        query = query.with_for_update(key_share=True)  # FOR NO KEY UPDATE: keys stay
    row = conn.execute(query).first()
    return _user(row) if row else None


def by_email(conn: Connection, kind: UserKind, email: str) -> tuple[User, str | None] | None:
    """The user and its password hash."""
    row = conn.execute(select(console_user).where(_U.kind == str(kind), _U.email == email)).first()
    return (_user(row), row.password_hash) if row else None


def by_invitation(conn: Connection, invite_digest: str) -> User | None:
    row = conn.execute(select(console_user).where(_U.invite_digest == invite_digest)).first()
    return _user(row) if row else None


def list_users(conn: Connection, kind: UserKind, customer_id: str | None) -> list[User]:
    query = select(console_user).where(_U.kind == str(kind))
    if customer_id is not None:
        query = query.where(_U.customer_id == customer_id)
    rows = conn.execute(query.order_by(_U.created_at, _U.id).limit(USERS_PER_CUSTOMER_MAX))
    return [_user(r) for r in rows]


def count_for(conn: Connection, customer_id: str) -> int:
    return conn.execute(
        select(func.count()).select_from(console_user).where(_U.customer_id == customer_id)
    ).scalar_one()


def lock_active_admins(conn: Connection, kind: UserKind, customer_id: str | None) -> int:
    """How many active admins (of the customer, or operators) there are, their rows locked:
    two changes that would each leave one admin wait for each other, and the second sees
    the first's result."""
    query = select(_U.id).where(
        _U.kind == str(kind), _U.role == str(Role.ADMIN), _U.status == str(UserStatus.ACTIVE)
    )
    if customer_id is not None:
        query = query.where(_U.customer_id == customer_id)
    rows = conn.execute(query.order_by(_U.id).with_for_update(key_share=True)).all()
    return len(rows)


def insert_user(
    conn: Connection, user: User, *, password_hash: str | None, invite_digest: str | None
) -> None:
    conn.execute(
        insert(console_user).values(
            id=user.id,
            kind=str(user.kind),
            customer_id=user.customer_id,
            email=user.email,
            name=user.name,
            role=str(user.role),
            status=str(user.status),
            password_hash=password_hash,
            invite_digest=invite_digest,
            invite_expires_at=user.invite_expires_at,
            failed_sign_ins=0,
            locked_until=None,
            last_sign_in_at=None,
            created_at=user.created_at,
            updated_at=user.updated_at,
        )
    )


def update_user(conn: Connection, user_id: str, now: datetime, **values: Any) -> None:
    conn.execute(update(console_user).where(_U.id == user_id).values(updated_at=now, **values))


def delete_user(conn: Connection, user_id: str) -> None:
    end_sessions(conn, user_id)
    conn.execute(delete(console_form).where(console_form.c.user_id == user_id))
    conn.execute(delete(console_user).where(_U.id == user_id))


# -- sessions ------------------------------------------------------------------------------

_S = console_session.c


def insert_session(
    conn: Connection,
    digest: str,
    user_id: str,
    csrf_token: str,
    now: datetime,
    expires_at: datetime,
) -> None:
    conn.execute(
        insert(console_session).values(
            digest=digest,
            user_id=user_id,
            csrf_token=csrf_token,
            created_at=now,
            last_seen_at=now,
            expires_at=expires_at,
        )
    )


def session_row(conn: Connection, digest: str) -> Any:
    return conn.execute(select(console_session).where(_S.digest == digest)).first()


def touch_session(conn: Connection, digest: str, now: datetime, expires_at: datetime) -> None:
    conn.execute(
        update(console_session)
        .where(_S.digest == digest)
        .values(last_seen_at=now, expires_at=expires_at)
    )


def end_session(conn: Connection, digest: str) -> None:
    conn.execute(delete(console_session).where(_S.digest == digest))


def end_sessions(conn: Connection, user_id: str) -> None:
    conn.execute(delete(console_session).where(_S.user_id == user_id))


def purge_sessions(conn: Connection, now: datetime) -> int:
    return conn.execute(delete(console_session).where(_S.expires_at <= now)).rowcount or 0


def purge_invitations(conn: Connection, now: datetime) -> int:
    """Invited users whose invitation passed its date (never accepted): their address is
    free to be invited again."""
    return (
        conn.execute(
            delete(console_user).where(
                _U.status == str(UserStatus.INVITED), _U.invite_expires_at <= now
            )
        ).rowcount
        or 0
    )


# -- forms applied once --------------------------------------------------------------------

_F = console_form.c


def form_row(conn: Connection, user_id: str, form_key: str) -> Any:
    return conn.execute(
        select(_F.fingerprint, _F.outcome).where(_F.user_id == user_id, _F.form_key == form_key)
    ).first()


def record_form(
    conn: Connection, user_id: str, form_key: str, fingerprint: str, outcome: str, now: datetime
) -> None:
    conn.execute(
        insert(console_form).values(
            user_id=user_id,
            form_key=form_key,
            fingerprint=fingerprint,
            outcome=outcome,
            created_at=now,
        )
    )


def set_form_outcome(conn: Connection, user_id: str, form_key: str, outcome: str) -> None:
    conn.execute(
        update(console_form)
        .where(_F.user_id == user_id, _F.form_key == form_key)
        .values(outcome=outcome)
    )


def purge_forms(conn: Connection, before: datetime) -> int:
    return conn.execute(delete(console_form).where(_F.created_at < before)).rowcount or 0
