"""Console users: making, inviting, changing and deleting them, each inside one transaction
handed in by the caller. Times are the wall clock's (the caller passes it): people and their
invitations belong to the outside world, not to billing time, which a demo may run months
ahead. Signing in and sessions are in sessions.py."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

from ..customers import repo as customer_repo
from ..customers import service as customers
from ..kernel.errors import CloudbillError, ErrorCode
from ..kernel.ids import is_valid_id, new_id
from ..kernel.limits import USERS_PER_CUSTOMER_MAX
from . import passwords, repo, rules
from .model import NewUser, Role, User, UserKind, UserStatus


def _not_found(user_id: object) -> CloudbillError:
    return CloudbillError(ErrorCode.USER_NOT_FOUND, f"no user {str(user_id)[:64]!r}")


def get(
    conn: Connection,
    user_id: str,
    *,
    kind: UserKind,
    customer_id: str | None = None,
    lock: bool = False,
) -> User:
    """A user by id; of another kind or (with `customer_id`) another customer: not found."""
    user = repo.get(conn, user_id, lock=lock) if is_valid_id(user_id) else None
    if user is None or user.kind is not kind:
        raise _not_found(user_id)
    if customer_id is not None and user.customer_id != customer_id:
        raise _not_found(user_id)
    return user


def find(conn: Connection, user_id: str) -> User:
    """A user of either kind by id."""
    user = repo.get(conn, user_id) if is_valid_id(user_id) else None
    if user is None:
        raise _not_found(user_id)
    return user


def by_email(
    conn: Connection, kind: UserKind, email: str, *, customer_id: str | None = None
) -> User:
    """A user by its address; with `customer_id`, another customer's user is not found."""
    found = repo.by_email(conn, kind, rules.check_email(email))
    if found is None or (customer_id is not None and found[0].customer_id != customer_id):
        raise _not_found(email)
    return found[0]


def create(
    conn: Connection,
    *,
    kind: UserKind,
    customer_id: str | None,
    email: str,
    name: str | None = None,
    role: str = Role.ADMIN,
    password: str | None = None,
    actor: str,
    now: datetime,
) -> NewUser:
    """A user with a password (active at once), or without one: invited, with a token the
    invitee accepts within rules.INVITATION_DAYS by choosing a password."""
    address = rules.check_email(email)
    shown_name = rules.check_name(name, address)
    chosen_role = rules.check_role(role)
    secret = rules.check_password(password) if password is not None else None
    if kind is UserKind.CUSTOMER:
        if customer_id is None:
            raise CloudbillError(ErrorCode.INVALID_ARGUMENT, "a customer user needs a customer")
        customer_id = customers.get(conn, customer_id, lock=True).id
        if repo.count_for(conn, customer_id) >= USERS_PER_CUSTOMER_MAX:
            raise CloudbillError(
                ErrorCode.LIMIT_EXCEEDED, f"a customer has at most {USERS_PER_CUSTOMER_MAX} users"
            )
    elif customer_id is not None:
        raise CloudbillError(ErrorCode.INVALID_ARGUMENT, "an operator user has no customer")
    if repo.by_email(conn, kind, address) is not None:
        # An address signs in to one account (sign-in is by address alone), so it may be
        # taken elsewhere; the refusal says no more than that, and names no account.
        raise CloudbillError(
            ErrorCode.ALREADY_EXISTS,
            "this address cannot be given a user: it signs in to an account already",
            field="email",
        )
    invitation = None if secret is not None else rules.new_token()
    user = User(
        id=new_id(),
        kind=kind,
        customer_id=customer_id,
        email=address,
        name=shown_name,
        role=chosen_role,
        status=UserStatus.ACTIVE if secret else UserStatus.INVITED,
        failed_sign_ins=0,
        locked_until=None,
        invite_expires_at=rules.invitation_expiry(now) if invitation else None,
        last_sign_in_at=None,
        created_at=now,
        updated_at=now,
    )
    repo.insert_user(
        conn,
        user,
        password_hash=passwords.hash_password(secret) if secret else None,
        invite_digest=rules.digest(invitation) if invitation else None,
    )
    _audit(
        conn, user, actor, "user.created" if secret else "user.invited", now, role=str(chosen_role)
    )
    return NewUser(user, invitation)


def accept_invitation(
    conn: Connection, token: str, password: str, *, kind: UserKind, now: datetime
) -> User:
    """The invitee chooses a password: the user becomes active, the invitation is spent."""
    user = repo.by_invitation(conn, rules.digest(token)) if token else None
    if user is None or user.status is not UserStatus.INVITED or user.kind is not kind:
        raise CloudbillError(ErrorCode.NOT_FOUND, "this invitation is not valid (any more)")
    if user.invite_expires_at is None or user.invite_expires_at <= now:
        raise CloudbillError(
            ErrorCode.INVALID_STATE, "this invitation has expired: ask for a new one"
        )
    secret = rules.check_password(password)
    repo.update_user(
        conn,
        user.id,
        now,
        password_hash=passwords.hash_password(secret),
        status=str(UserStatus.ACTIVE),
        invite_digest=None,
        invite_expires_at=None,
    )
    _audit(conn, user, user.email, "user.invitation_accepted", now)
    return get(conn, user.id, kind=user.kind)


def set_password(conn: Connection, user: User, password: str, *, actor: str, now: datetime) -> User:
    """A new password (by the operator, or the user itself); every session of the user ends
    and a lock is lifted."""
    secret = rules.check_password(password)
    repo.update_user(
        conn,
        user.id,
        now,
        password_hash=passwords.hash_password(secret),
        status=str(UserStatus.ACTIVE) if user.status is UserStatus.INVITED else str(user.status),
        invite_digest=None,
        invite_expires_at=None,
        failed_sign_ins=0,
        locked_until=None,
    )
    repo.end_sessions(conn, user.id)
    _audit(conn, user, actor, "user.password_set", now)
    return get(conn, user.id, kind=user.kind)


def update(
    conn: Connection,
    user: User,
    *,
    role: str | None = None,
    enabled: bool | None = None,
    actor: str,
    now: datetime,
) -> User:
    """Change a user's role or switch it off (its sessions end) or on again. The last active
    admin of a customer (or of the operators) stays: someone must be able to manage users."""
    values: dict[str, object] = {}
    new_role = rules.check_role(role) if role is not None else user.role
    if new_role is not user.role:
        values["role"] = str(new_role)
    if enabled is not None and user.status is not UserStatus.INVITED:
        status = UserStatus.ACTIVE if enabled else UserStatus.DISABLED
        if status is not user.status:
            values["status"] = str(status)
    if not values:
        return user
    loses_admin = (
        user.role is Role.ADMIN
        and user.status is UserStatus.ACTIVE
        and (new_role is not Role.ADMIN or values.get("status") == str(UserStatus.DISABLED))
    )
    if loses_admin:
        _keep_an_admin(conn, user)
    repo.update_user(conn, user.id, now, **values)
    if values.get("status") == str(UserStatus.DISABLED):
        repo.end_sessions(conn, user.id)
    _audit(conn, user, actor, "user.updated", now, **{k: str(v) for k, v in values.items()})
    return get(conn, user.id, kind=user.kind)


def delete(conn: Connection, user: User, *, actor: str, now: datetime) -> None:
    if user.role is Role.ADMIN and user.status is UserStatus.ACTIVE:
        _keep_an_admin(conn, user)
    repo.delete_user(conn, user.id)
    _audit(conn, user, actor, "user.deleted", now)


def _keep_an_admin(conn: Connection, user: User) -> None:
    if repo.lock_active_admins(conn, user.kind, user.customer_id) <= 1:
        raise CloudbillError(
            ErrorCode.INVALID_STATE, "this is the last active admin: make another admin first"
        )


def list_users(conn: Connection, kind: UserKind, customer_id: str | None = None) -> list[User]:
    if customer_id is not None:
        customers.get(conn, customer_id)
    return repo.list_users(conn, kind, customer_id)


def _audit(
    conn: Connection, user: User, actor: str, action: str, now: datetime, **details: str
) -> None:
    customer_repo.add_audit(
        conn,
        at=now,
        actor=actor,
        customer_id=user.customer_id,
        action=action,
        details={"user": user.email, **details},
    )
