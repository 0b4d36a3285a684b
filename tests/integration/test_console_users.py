"""Console users on both databases: passwords kept only as Argon2id hashes, invitations, the
lock after repeated failures, sessions that end (absolute lifetime, idle time, sign-out,
disabling), the last admin kept, and forms applied once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from cloudbill.kernel.errors import CloudbillError, ErrorCode
from cloudbill.store.schema import console_session, console_user
from cloudbill.users import passwords, sessions
from cloudbill.users import service as users
from cloudbill.users.model import SessionPolicy, UserKind, UserStatus

from ..helpers import new_customer

POLICY = SessionPolicy(lifetime_s=12 * 3600, idle_s=3600, lockout_failures=3, lockout_s=900)
PASSWORD = "correct horse battery"


def _add(container, customer_id, email="ann@acme.example", role="admin", password=PASSWORD):  # type: ignore[no-untyped-def]
    wall = container.wall.now()
    return container.write(
        lambda conn, _now: users.create(
            conn,
            kind=UserKind.CUSTOMER,
            customer_id=customer_id,
            email=email,
            role=role,
            password=password,
            actor="test",
            now=wall,
        )
    )


def _sign_in(container, email="ann@acme.example", password=PASSWORD, kind=UserKind.CUSTOMER):  # type: ignore[no-untyped-def]
    """As the console signs in: read, check outside any transaction, record under lock."""
    found = container.read(lambda conn, _now: sessions.credentials(conn, kind, email))
    user, encoded = found if found else (None, None)
    good = passwords.verify(encoded, password)
    wall = container.wall.now()
    return container.write(
        lambda conn, _now: sessions.record(
            conn, user.id if user else None, good, rehash=None, policy=POLICY, now=wall
        )
    )


def _resume(container, token, kind=UserKind.CUSTOMER):  # type: ignore[no-untyped-def]
    wall = container.wall.now()
    return container.read(lambda conn, _now: sessions.resume(conn, token, kind, now=wall))


def test_only_a_hash_of_the_password_is_stored_and_it_signs_in(container) -> None:  # type: ignore[no-untyped-def]
    customer = new_customer(container)
    made = _add(container, customer.id, email="  Ann@ACME.example ")
    assert made.user.email == "ann@acme.example" and made.invitation is None
    with container.db.read() as conn:
        stored = conn.execute(select(console_user.c.password_hash)).scalar_one()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    outcome = _sign_in(container, email="ANN@acme.example")
    assert outcome.refusal is None and outcome.token
    with container.db.read() as conn:
        digests = conn.execute(select(console_session.c.digest)).scalars().all()
    assert digests and outcome.token not in digests  # only the cookie's digest is kept
    session, _due = _resume(container, outcome.token)
    assert session.user.customer_id == customer.id


def test_a_wrong_password_and_an_unknown_address_are_refused_alike(container) -> None:  # type: ignore[no-untyped-def]
    customer = new_customer(container)
    _add(container, customer.id)
    wrong = _sign_in(container, password="not the password")
    unknown = _sign_in(container, email="nobody@acme.example")
    assert wrong.token is None and unknown.token is None
    assert wrong.refusal.code == unknown.refusal.code == ErrorCode.UNAUTHENTICATED
    assert wrong.refusal.message == unknown.refusal.message


def test_repeated_failures_lock_the_user_until_the_lock_ends(container) -> None:  # type: ignore[no-untyped-def]
    customer = new_customer(container)
    _add(container, customer.id)
    for _ in range(POLICY.lockout_failures):
        assert _sign_in(container, password="guess").refusal.code == ErrorCode.UNAUTHENTICATED
    locked = _sign_in(container)  # even the right password waits, answered as any refusal
    assert locked.token is None and locked.refusal.code == ErrorCode.UNAUTHENTICATED
    container.wall.advance(seconds=POLICY.lockout_s - 5)
    assert _sign_in(container).token is None
    container.wall.advance(seconds=6)
    assert _sign_in(container).refusal is None


def test_a_session_ends_when_idle_when_old_and_when_signed_out(container) -> None:  # type: ignore[no-untyped-def]
    customer = new_customer(container)
    _add(container, customer.id)
    token = _sign_in(container).token
    container.wall.advance(seconds=POLICY.idle_s + 1)
    assert _resume(container, token) is None  # idle too long

    token = _sign_in(container).token
    started = container.wall.now()
    while (found := _resume(container, token)) is not None:  # used every 59 min: never idle
        wall = container.wall.advance(minutes=59)
        container.write(
            lambda conn, _now, s=found[0], w=wall: sessions.touch(conn, s, policy=POLICY, now=w)
        )
    # it lasted its lifetime, and no longer
    assert timedelta(seconds=POLICY.lifetime_s) <= container.wall.now() - started
    assert container.wall.now() - started < timedelta(seconds=POLICY.lifetime_s + 3600)

    token = _sign_in(container).token
    session, _due = _resume(container, token)
    container.write(lambda conn, _now: sessions.sign_out(conn, session))
    assert _resume(container, token) is None


def test_disabling_a_user_ends_its_sessions_and_its_sign_ins(container) -> None:  # type: ignore[no-untyped-def]
    customer = new_customer(container)
    _add(container, customer.id)
    other = _add(container, customer.id, email="bob@acme.example").user
    token = _sign_in(container, email="bob@acme.example").token
    wall = container.wall.now()
    container.write(
        lambda conn, _now: users.update(conn, other, enabled=False, actor="t", now=wall)
    )
    assert _resume(container, token) is None
    assert _sign_in(container, email="bob@acme.example").token is None


def test_an_invitation_is_accepted_once_and_expires(container) -> None:  # type: ignore[no-untyped-def]
    customer = new_customer(container)
    made = _add(container, customer.id, password=None, role="viewer")
    assert made.user.status is UserStatus.INVITED and made.invitation
    assert _sign_in(container, password="").token is None
    wall = container.wall.now()
    user = container.write(
        lambda conn, _now: users.accept_invitation(
            conn, made.invitation, PASSWORD, kind=UserKind.CUSTOMER, now=wall
        )
    )
    assert user.status is UserStatus.ACTIVE and not user.can_change  # a viewer
    with pytest.raises(CloudbillError) as again:
        container.write(
            lambda conn, _now: users.accept_invitation(
                conn, made.invitation, "another password", kind=UserKind.CUSTOMER, now=wall
            )
        )
    assert again.value.code == ErrorCode.NOT_FOUND
    late = _add(container, customer.id, email="late@acme.example", password=None)
    container.wall.advance(days=8)
    wall = container.wall.now()
    with pytest.raises(CloudbillError) as expired:
        container.write(
            lambda conn, _now: users.accept_invitation(
                conn, late.invitation, PASSWORD, kind=UserKind.CUSTOMER, now=wall
            )
        )
    assert expired.value.code == ErrorCode.INVALID_STATE


@pytest.mark.parametrize(
    ("email", "password", "role", "field"),
    [
        ("not-an-address", PASSWORD, "admin", "email"),
        ("ann@acme.example", "short", "admin", "password"),
        ("ann@acme.example", PASSWORD, "owner", "role"),
        ("ann\x00@acme.example", PASSWORD, "admin", "email"),
    ],
)
def test_bad_input_is_refused_with_its_field_and_nothing_is_stored(
    container, email, password, role, field
) -> None:  # type: ignore[no-untyped-def]
    customer = new_customer(container)
    with pytest.raises(CloudbillError) as info:
        _add(container, customer.id, email=email, password=password, role=role)
    assert info.value.code == ErrorCode.INVALID_ARGUMENT and info.value.details["field"] == field
    with container.db.read() as conn:
        assert conn.execute(select(console_user)).all() == []


def test_one_address_one_user_and_the_last_admin_stays(container) -> None:  # type: ignore[no-untyped-def]
    customer = new_customer(container)
    admin = _add(container, customer.id).user
    with pytest.raises(CloudbillError) as twice:
        _add(container, customer.id, email="ANN@acme.example")
    assert twice.value.code == ErrorCode.ALREADY_EXISTS
    wall = container.wall.now()
    for change in ({"role": "viewer"}, {"enabled": False}):
        with pytest.raises(CloudbillError) as last:
            container.write(
                lambda conn, _now, ch=change: users.update(conn, admin, actor="t", now=wall, **ch)
            )
        assert last.value.code == ErrorCode.INVALID_STATE
    _add(container, customer.id, email="bob@acme.example")
    demoted = container.write(
        lambda conn, _now: users.update(conn, admin, role="viewer", actor="t", now=wall)
    )
    assert not demoted.can_change


def test_an_operator_user_is_not_a_customer_user(container) -> None:  # type: ignore[no-untyped-def]
    wall = container.wall.now()
    container.write(
        lambda conn, _now: users.create(
            conn,
            kind=UserKind.OPERATOR,
            customer_id=None,
            email="ops@provider.example",
            password=PASSWORD,
            actor="test",
            now=wall,
        )
    )
    assert _sign_in(container, email="ops@provider.example").token is None
    token = _sign_in(container, email="ops@provider.example", kind=UserKind.OPERATOR).token
    assert _resume(container, token, UserKind.CUSTOMER) is None
    assert _resume(container, token, UserKind.OPERATOR) is not None


def test_a_form_is_applied_once_and_its_key_holds_its_values(container) -> None:  # type: ignore[no-untyped-def]
    customer = new_customer(container)
    user = _add(container, customer.id).user
    applied: list[str] = []
    wall = container.wall.now()

    def submit(key: str, fingerprint: str = "f1") -> str:
        def work(conn, _now):  # type: ignore[no-untyped-def]
            first = sessions.claim_form(conn, user, key, fingerprint, wall)
            if first is not None:
                return first
            applied.append(key)
            sessions.settle_form(conn, user, key, f"done {key}")
            return f"done {key}"

        return container.write(work)

    assert submit("k1") == submit("k1") == "done k1"
    assert submit("k2") == "done k2"
    assert applied == ["k1", "k2"]
    with pytest.raises(CloudbillError) as other:
        submit("k1", fingerprint="f2")
    assert other.value.code == ErrorCode.IDEMPOTENCY_CONFLICT


def test_expired_sessions_invitations_and_old_forms_are_purged(container) -> None:  # type: ignore[no-untyped-def]
    customer = new_customer(container)
    _add(container, customer.id)
    _add(container, customer.id, email="late@acme.example", password=None)
    token = _sign_in(container).token
    container.wall.advance(days=31)
    wall = container.wall.now()
    purged = container.write(lambda conn, _now: sessions.purge(conn, now=wall))
    assert purged["sessions"] == 1 and purged["invitations"] == 1
    assert _resume(container, token) is None
    again = _add(container, customer.id, email="late@acme.example", password=None)
    assert again.invitation  # the address is free again
