"""Console user use cases, each inside one transaction handed in by the caller.

Times here are the wall clock's (the caller passes it): sessions, lockouts and invitations
belong to the outside world, not to billing time, which a demo may run months ahead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection

from ..customers import repo as customer_repo
from ..customers import service as customers
from ..kernel.errors import CloudbillError, ErrorCode
from ..kernel.ids import is_valid_id, new_id
from ..kernel.limits import USERS_PER_CUSTOMER_MAX
from . import passwords, repo, rules
from .model import NewUser, Role, Session, SessionPolicy, User, UserKind, UserStatus

# A session's last-seen time is written at most this often (a page view is otherwise a read).
TOUCH_EVERY_S = 60


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
        raise CloudbillError(
            ErrorCode.ALREADY_EXISTS, f"{address} already has a user", field="email"
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
    if user.kind is UserKind.CUSTOMER:
        customers.get(conn, str(user.customer_id), lock=True)  # one change at a time
    if repo.count_active_admins(conn, user.kind, user.customer_id) <= 1:
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


# -- signing in ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SignIn:
    """The outcome of a sign-in: a session's cookie value, or the refusal to raise once the
    transaction that counted the failure has committed."""

    token: str | None
    session: Session | None
    refusal: CloudbillError | None


def sign_in(
    conn: Connection,
    kind: UserKind,
    email: str,
    password: str,
    *,
    policy: SessionPolicy,
    now: datetime,
) -> SignIn:
    """Check the password; a wrong one counts towards the lock. The refusal says the same for
    an unknown address as for a wrong password, and takes as long."""
    try:
        address = rules.check_email(email)
    except CloudbillError:
        address = ""
    found = repo.by_email(conn, kind, address) if address else None
    user, encoded = found if found else (None, None)
    if user is not None and rules.locked(user, now):
        passwords.verify(None, password)  # the same time as any other answer
        return SignIn(None, None, _locked(user, now))
    good = passwords.verify(encoded, password[:1024]) if isinstance(password, str) else False
    if user is None or not good or not rules.may_sign_in(user):
        if user is not None and not good:
            failures, until = rules.after_failure(user, policy, now)
            repo.update_user(conn, user.id, now, failed_sign_ins=failures, locked_until=until)
            if until is not None and until > now:
                _audit(conn, user, user.email, "user.locked", now)
        return SignIn(
            None,
            None,
            CloudbillError(
                ErrorCode.UNAUTHENTICATED,
                "the email or the password is not right",
                field="password",
            ),
        )
    values: dict[str, object] = {"failed_sign_ins": 0, "locked_until": None, "last_sign_in_at": now}
    if encoded and passwords.needs_rehash(encoded):
        values["password_hash"] = passwords.hash_password(password)
    repo.update_user(conn, user.id, now, **values)
    token, session = _start(conn, get(conn, user.id, kind=kind), policy, now)
    return SignIn(token, session, None)


def _locked(user: User, now: datetime) -> CloudbillError:
    assert user.locked_until is not None
    wait_s = max(1, int((user.locked_until - now).total_seconds()))
    return CloudbillError(
        ErrorCode.USER_LOCKED,
        f"too many failed sign-ins: try again in {max(1, wait_s // 60)} min",
        retry_after_s=wait_s,
    )


def _start(
    conn: Connection, user: User, policy: SessionPolicy, now: datetime
) -> tuple[str, Session]:
    token = rules.new_token()
    expires = rules.session_expiry(now, now, policy)
    csrf = rules.new_token()
    repo.insert_session(conn, rules.digest(token), user.id, csrf, now, expires)
    return token, Session(rules.digest(token), user, csrf, now, now, expires)


def resume(
    conn: Connection, token: str, kind: UserKind, *, now: datetime
) -> tuple[Session, bool] | None:
    """The live session of a cookie value, and whether its last-seen time is due to be
    written (`touch`); None when there is none, it has expired or its user may not sign in."""
    if not token or len(token) > 256:
        return None
    row = repo.session_row(conn, rules.digest(token))
    if row is None or row.expires_at <= now:
        return None
    user = repo.get(conn, row.user_id)
    if user is None or user.kind is not kind or not rules.may_sign_in(user):
        return None
    session = Session(
        row.digest, user, row.csrf_token, row.created_at, row.last_seen_at, row.expires_at
    )
    return session, now - row.last_seen_at >= timedelta(seconds=TOUCH_EVERY_S)


def touch(conn: Connection, session: Session, *, policy: SessionPolicy, now: datetime) -> None:
    repo.touch_session(
        conn, session.digest, now, rules.session_expiry(session.created_at, now, policy)
    )


def sign_out(conn: Connection, session: Session) -> None:
    repo.end_session(conn, session.digest)


def purge_expired(conn: Connection, *, now: datetime) -> int:
    return repo.purge_sessions(conn, now)


# -- forms applied once --------------------------------------------------------------------


def applied_before(conn: Connection, user: User, form_key: str) -> str | None:
    """The outcome of this user's form `form_key` if it was applied before (a second submit
    of one form: the caller then applies nothing and answers the first outcome)."""
    if not form_key or len(form_key) > 64 or not is_valid_id(form_key):
        raise CloudbillError(ErrorCode.INVALID_ARGUMENT, "the form has no valid key: reload it")
    return repo.form_outcome(conn, user.id, form_key)


def remember_form(conn: Connection, user: User, form_key: str, outcome: str, now: datetime) -> None:
    """Record the form as applied, in the transaction that applied it. Two submits racing
    both insert: the loser's transaction fails on the key and is retried whole
    (Container.write), and then finds the winner's outcome through `applied_before`."""
    repo.record_form(conn, user.id, form_key, outcome, now)
