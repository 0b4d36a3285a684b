"""Signing in, sessions and forms applied once. Times are the wall clock's (the caller passes
it): sessions and lockouts belong to the outside world, not to billing time.

A sign-in is three steps, so that the slow password check (Argon2, about 0.2 s) holds no
database lock: read the user (`credentials`), check the password outside any transaction
(`passwords.verify`), then record the outcome (`record`) in a short write that locks the
user's row first, so that parallel attempts count one by one and the lock cannot be raced.
Every refusal — unknown address, wrong password, locked or disabled user — is the same
answer, so the answers tell nothing about which addresses have users.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection

from ..kernel.errors import CloudbillError, ErrorCode
from ..kernel.ids import is_valid_id
from . import repo, rules
from .model import Session, SessionPolicy, User, UserKind

# A session's last-seen time is written at most this often (a page view is otherwise a read).
TOUCH_EVERY_S = 60
# Applied forms are kept this long (a form is submitted twice within seconds, not days).
FORMS_KEPT_DAYS = 30
REFUSED = "the email or the password is not right (after repeated failures: wait a few minutes)"


@dataclass(frozen=True, slots=True)
class SignIn:
    """The outcome of a sign-in: a session's cookie value, or the refusal to raise once the
    transaction that counted the failure has committed."""

    token: str | None
    session: Session | None
    refusal: CloudbillError | None


def credentials(conn: Connection, kind: UserKind, email: object) -> tuple[User, str | None] | None:
    """The user of this address and its password hash (None for an address that cannot be)."""
    try:
        address = rules.check_email(email)
    except CloudbillError:
        return None
    return repo.by_email(conn, kind, address)


def record(
    conn: Connection,
    user_id: str | None,
    password_ok: bool,
    *,
    rehash: str | None,
    policy: SessionPolicy,
    now: datetime,
) -> SignIn:
    """The checked attempt, recorded under the user's row lock: a failure counts (and may
    lock), a success while not locked starts a session. `rehash`: the password hashed again
    with today's parameters, when the stored hash's are older."""
    refused = SignIn(
        None, None, CloudbillError(ErrorCode.UNAUTHENTICATED, REFUSED, field="password")
    )
    user = repo.get(conn, user_id, lock=True) if user_id else None
    if user is None:
        return refused
    if rules.locked(user, now):
        return refused
    if not password_ok:
        failures, until = rules.after_failure(user, policy, now)
        repo.update_user(conn, user.id, now, failed_sign_ins=failures, locked_until=until)
        return refused
    if not rules.may_sign_in(user):
        return refused
    values: dict[str, object] = {"failed_sign_ins": 0, "locked_until": None, "last_sign_in_at": now}
    if rehash:
        values["password_hash"] = rehash
    repo.update_user(conn, user.id, now, **values)
    token, session = _start(conn, repo.get(conn, user.id) or user, policy, now)
    return SignIn(token, session, None)


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
    expiry = rules.session_expiry(session.created_at, now, policy)
    repo.touch_session(conn, session.digest, now, expiry)


def sign_out(conn: Connection, session: Session) -> None:
    repo.end_session(conn, session.digest)


def purge(conn: Connection, *, now: datetime) -> dict[str, int]:
    """What no one can use any more: expired sessions, invitations past their date (the
    address is free again), and applied forms older than FORMS_KEPT_DAYS."""
    return {
        "sessions": repo.purge_sessions(conn, now),
        "invitations": repo.purge_invitations(conn, now),
        "forms": repo.purge_forms(conn, now - timedelta(days=FORMS_KEPT_DAYS)),
    }


# -- forms applied once --------------------------------------------------------------------


def claim_form(
    conn: Connection, user: User, form_key: str, fingerprint: str, now: datetime
) -> str | None:
    """Claim this user's form `form_key` before applying it: None if it is new (the caller
    applies it, then `settle_form`s its outcome, in the same transaction); else the outcome
    it had. The claim is an insert first: a second submit racing the first waits on the key
    (PostgreSQL) or the writer lock (SQLite), then fails on it and is retried whole
    (Container.write), finding the first's outcome. The same key with other fields is a
    conflict, as for every idempotency key."""
    if not form_key or len(form_key) > 64 or not is_valid_id(form_key):
        raise CloudbillError(ErrorCode.INVALID_ARGUMENT, "the form has no valid key: reload it")
    first = repo.form_row(conn, user.id, form_key)
    if first is None:
        repo.record_form(conn, user.id, form_key, fingerprint, "", now)
        return None
    if first.fingerprint != fingerprint:
        raise CloudbillError(
            ErrorCode.IDEMPOTENCY_CONFLICT,
            "this form was sent before with other values: reload the page",
        )
    return str(first.outcome)


def settle_form(conn: Connection, user: User, form_key: str, outcome: str) -> None:
    repo.set_form_outcome(conn, user.id, form_key, outcome)


def outcome_of(conn: Connection, user: User, form_key: str) -> str | None:
    """What an applied form said (None for a key of no applied form)."""
    if not form_key or len(form_key) > 64 or not is_valid_id(form_key):
        return None
    row = repo.form_row(conn, user.id, form_key)
    return str(row.outcome) if row is not None and row.outcome else None
