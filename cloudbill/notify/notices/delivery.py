"""Deliver pending notices whose time has come, never inside a database transaction.

A notice is claimed before it is sent: a conditional UPDATE moves its attempt count on and its
next attempt out by a lease, and only the worker whose UPDATE matched sends it (on PostgreSQL a
second worker's UPDATE waits for the first to commit, then matches nothing; SQLite writers are
serial). A worker that dies after the claim leaves the notice to be tried again when the lease
ends. Failures are retried with exponential backoff; after `notice_max_attempts` it is dead,
until an operator retries it. A sent notice is never sent again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from sqlalchemy import Connection, insert, or_, select, update

from ...bootstrap import Container
from ...config import Settings
from ...store.schema import customer_notice, customer_notice_attempt
from . import attachments
from .channels import send_email, send_sms
from .rules import DEAD, EMAIL, PENDING, SENT, backoff

BATCH = 100
MAX_BATCHES_PER_CALL = 100  # at most 10,000 notices a call; the next call goes on


@dataclass(frozen=True)
class DeliveryReport:
    sent: int = 0
    failed: int = 0
    dead: int = 0


def due(conn: Connection, *, now: datetime, limit: int = BATCH):  # type: ignore[no-untyped-def]
    n = customer_notice.c
    return conn.execute(
        select(customer_notice)
        .where(n.status == PENDING, or_(n.next_attempt_at.is_(None), n.next_attempt_at <= now))
        .order_by(n.id)
        .limit(limit)
    ).all()


def _lease(settings: Settings, attempt: int) -> timedelta:
    longest_send = timedelta(seconds=3 * max(settings.smtp_timeout_s, settings.sms_timeout_s))
    return max(backoff(attempt, first_s=settings.notice_backoff_s), longest_send)


def claim(conn: Connection, notice, settings: Settings, *, now: datetime) -> int | None:  # type: ignore[no-untyped-def]
    """The attempt number this worker owns, or None (another worker has it, or it is done)."""
    attempt = notice.attempts + 1
    if attempt > settings.notice_max_attempts:  # its last attempt was interrupted
        _finish(conn, notice.id, status=DEAD, error="gave up: last attempt interrupted", now=now)
        return None
    claimed = conn.execute(
        update(customer_notice)
        .where(
            customer_notice.c.id == notice.id,
            customer_notice.c.status == PENDING,
            customer_notice.c.attempts == notice.attempts,
        )
        .values(attempts=attempt, next_attempt_at=now + _lease(settings, attempt), updated_at=now)
    )
    return attempt if claimed.rowcount == 1 else None


def _finish(
    conn: Connection,
    notice_id: int,
    *,
    status: str,
    error: str | None,
    now: datetime,
    **values: object,
) -> None:
    conn.execute(
        update(customer_notice)
        .where(customer_notice.c.id == notice_id)
        .values(status=status, last_error=error, updated_at=now, **values)
    )


def record(
    conn: Connection,
    notice_id: int,
    attempt: int,
    error: str | None,
    settings: Settings,
    *,
    now: datetime,
) -> str:
    conn.execute(
        insert(customer_notice_attempt).values(
            notice_id=notice_id, attempt=attempt, at=now, error=error
        )
    )
    if error is None:
        _finish(
            conn, notice_id, status=SENT, error=None, now=now, sent_at=now, next_attempt_at=None
        )
        return SENT
    if attempt >= settings.notice_max_attempts:
        _finish(conn, notice_id, status=DEAD, error=error, now=now, next_attempt_at=None)
        return DEAD
    next_at = now + backoff(attempt, first_s=settings.notice_backoff_s)
    _finish(conn, notice_id, status=PENDING, error=error, now=now, next_attempt_at=next_at)
    return PENDING


def _send_one(container: Container, client: httpx.Client, notice) -> str | None:  # type: ignore[no-untyped-def]
    settings = container.settings
    # Attempts, leases and back-off are on the wall clock: a mail server's time, not billing time.
    attempt = container.write(
        lambda conn, _now: claim(conn, notice, settings, now=container.wall.now())
    )
    if attempt is None:
        return None
    if notice.channel == EMAIL:
        files = container.read(
            lambda conn, _now: attachments.for_notice(conn, notice.kind, json.loads(notice.data))
        )
        error = send_email(
            settings,
            notice_id=notice.id,
            to=notice.recipient,
            subject=notice.subject,
            body=notice.body,
            attachments=files,
        )
    else:
        error = send_sms(
            settings, client, notice_id=notice.id, to=notice.recipient, message=notice.body
        )
    return container.write(
        lambda conn, _now: record(
            conn, notice.id, attempt, error, settings, now=container.wall.now()
        )
    )


def deliver_due(container: Container, *, client: httpx.Client | None = None) -> DeliveryReport:
    """Send every due notice once; failures wait for their backoff (a later call)."""
    own = client is None
    client = client or httpx.Client(timeout=container.settings.sms_timeout_s)
    outcomes: list[str | None] = []
    try:
        for _ in range(MAX_BATCHES_PER_CALL):
            batch = container.read(lambda conn, _now: due(conn, now=container.wall.now()))
            if not batch:
                break
            outcomes += [_send_one(container, client, notice) for notice in batch]
    finally:
        if own:
            client.close()
    return DeliveryReport(outcomes.count(SENT), outcomes.count(PENDING), outcomes.count(DEAD))
