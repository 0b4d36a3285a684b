"""Deliver outbox events to the provider as signed webhooks.

In order per subject: an event waits while an earlier event of the same resource or customer
is still pending. Retried with exponential backoff until a 2xx answer; dead-lettered after
`webhook_max_attempts` (then later events of that subject go on, and `reconcile` shows the
resources whose last delivered state differs from their state here). No HTTP call is made
inside a database transaction. Signatures, attempt times and back-off are on the wall clock
(`container.wall`), in every clock mode: a receiver checks the signature's timestamp against
its own clock; the event's billing time travels in the body's `timestamp`.

Only topics matching `webhook_topics` go to the provider (by default the resource lifecycle
and arrears); the others (balance alerts, top-ups, bills) are for the customer, by email and
SMS (notify/customer_notices.py). An event of another topic is never sent and never holds back
a later event of its subject.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from sqlalchemy import ColumnElement, Connection, and_, false, func, insert, or_, select, update
from sqlalchemy.orm import aliased

from ..bootstrap import Container
from ..kernel.errors import CloudbillError, ErrorCode
from ..kernel.limits import PAGE_SIZE_MAX
from ..store.schema import outbox_event, resource, webhook_attempt, webhook_delivery
from .signing import headers

PENDING, DELIVERED, DEAD = "pending", "delivered", "dead"
MAX_BACKOFF = timedelta(hours=6)
BATCH = 100
MAX_BATCHES_PER_CALL = 100  # a call sends at most 10,000 events; the next call goes on


@dataclass(frozen=True)
class DeliveryReport:
    delivered: int = 0
    failed: int = 0
    dead: int = 0


def topic_patterns(text: str) -> tuple[str, ...]:
    """The patterns of a setting such as "resource.*, customer.arrears_*" (`*`: any text)."""
    return tuple(p for p in re.split(r"\s*,\s*", text.strip()) if p)


def topic_matches(topic, patterns: Sequence[str]) -> ColumnElement[bool]:  # type: ignore[no-untyped-def]
    """SQL: `topic` matches one of the patterns. The settings allow only [a-z0-9_.*]; `_` is
    a LIKE wildcard, so it is escaped."""
    likes = [topic.like(p.replace("_", "!_").replace("*", "%"), escape="!") for p in patterns]
    return or_(*likes) if likes else false()


def _is_pending(d):  # type: ignore[no-untyped-def]
    return (d.c.status.is_(None)) | (d.c.status == PENDING)


def due_events(
    conn: Connection, *, now: datetime, limit: int = PAGE_SIZE_MAX, topics: Sequence[str] = ("*",)
):  # type: ignore[no-untyped-def]
    """Pending events of the given topic patterns whose time has come and that no earlier
    pending event of their subject (of those topics) holds back, oldest first."""
    e, d = outbox_event, webhook_delivery
    earlier, earlier_d = aliased(outbox_event), aliased(webhook_delivery)
    blocked = (
        select(earlier.c.id)
        .outerjoin(earlier_d, earlier_d.c.event_id == earlier.c.id)
        .where(
            earlier.c.subject_id == e.c.subject_id,
            earlier.c.subject_seq < e.c.subject_seq,
            topic_matches(earlier.c.topic, topics),
            _is_pending(earlier_d),
        )
        .exists()
    )
    return conn.execute(
        select(e, d.c.attempts)
        .outerjoin(d, d.c.event_id == e.c.id)
        .where(
            _is_pending(d),
            (d.c.next_attempt_at.is_(None)) | (d.c.next_attempt_at <= now),
            topic_matches(e.c.topic, topics),
            ~blocked,
        )
        .order_by(e.c.id)
        .limit(limit)
    ).all()


def body_of(event) -> bytes:  # type: ignore[no-untyped-def]
    return json.dumps(
        {
            "type": event.topic,
            "timestamp": event.created_at.isoformat().replace("+00:00", "Z"),
            "subject": event.subject_id,
            "sequence": event.subject_seq,
            "data": json.loads(event.payload),
        },
        sort_keys=True,
        separators=(",", ":"),
    ).encode()


def _record(
    conn: Connection,
    event_id: int,
    attempt: int,
    *,
    now: datetime,
    status: str,
    code: int | None,
    error: str | None,
    next_at: datetime | None,
) -> None:
    conn.execute(
        insert(webhook_attempt).values(
            event_id=event_id, attempt=attempt, at=now, status_code=code, error=error
        )
    )
    values = {
        "status": status,
        "attempts": attempt,
        "next_attempt_at": next_at,
        "last_error": error,
        "updated_at": now,
        "delivered_at": now if status == DELIVERED else None,
    }
    exists = conn.execute(
        select(webhook_delivery.c.event_id).where(webhook_delivery.c.event_id == event_id)
    ).first()
    if exists:
        conn.execute(
            update(webhook_delivery).where(webhook_delivery.c.event_id == event_id).values(**values)
        )
    else:
        conn.execute(insert(webhook_delivery).values(event_id=event_id, **values))


def deliver_due(container: Container, *, client: httpx.Client | None = None) -> DeliveryReport:
    """Send every due event once; failures wait for their backoff (a later call)."""
    settings = container.settings
    if not settings.webhook_url or not settings.webhook_secret:
        return DeliveryReport()
    own = client is None
    client = client or httpx.Client(timeout=settings.webhook_timeout_s)
    outcomes: list[str] = []
    topics = topic_patterns(settings.webhook_topics)
    try:
        for _ in range(MAX_BATCHES_PER_CALL):
            batch = container.read(
                lambda conn, _now: due_events(
                    conn, now=container.wall.now(), limit=BATCH, topics=topics
                )
            )
            if not batch:
                break
            outcomes += [_send(container, client, event) for event in batch]
    finally:
        if own:
            client.close()
    return DeliveryReport(outcomes.count(DELIVERED), outcomes.count(PENDING), outcomes.count(DEAD))


def _send(container: Container, client: httpx.Client, event) -> str:  # type: ignore[no-untyped-def]
    settings = container.settings
    body = body_of(event)
    now = container.wall.now()  # the receiver checks the signature's timestamp against its clock
    code, error = None, None
    try:
        answer = client.post(
            settings.webhook_url,
            content=body,
            headers=headers(settings.webhook_secret, event.dedupe_key, int(now.timestamp()), body),
        )
        code = answer.status_code
        if not 200 <= code < 300:
            error = f"HTTP {code}"
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}"[:512]
    attempt = (event.attempts or 0) + 1
    if error is None:
        status, next_at = DELIVERED, None
    elif attempt >= settings.webhook_max_attempts:
        status, next_at = DEAD, None
    else:
        delay = min(timedelta(seconds=settings.webhook_backoff_s * 2 ** (attempt - 1)), MAX_BACKOFF)
        status, next_at = PENDING, now + delay
    container.write(
        lambda conn, _now: _record(
            conn, event.id, attempt, now=now, status=status, code=code, error=error, next_at=next_at
        )
    )
    return status


@dataclass(frozen=True, slots=True)
class TestDelivery:
    message_id: str
    status_code: int | None
    error: str | None
    elapsed_ms: float

    @property
    def ok(self) -> bool:
        return self.error is None


def send_test(container: Container, *, client: httpx.Client | None = None) -> TestDelivery:
    """Send one signed `webhook.test` event to the provider's endpoint, as deliveries are sent
    (wall-clock timestamp), and say what came back. Nothing is stored or retried."""
    settings = container.settings
    if not settings.webhook_url or not settings.webhook_secret:
        raise CloudbillError(
            ErrorCode.INVALID_STATE, "set CLOUDBILL_WEBHOOK_URL and CLOUDBILL_WEBHOOK_SECRET first"
        )
    wall, billing = container.wall.now(), container.now()
    message_id = f"test_{uuid.uuid4().hex}"
    body = json.dumps(
        {
            "type": "webhook.test",
            "timestamp": billing.isoformat().replace("+00:00", "Z"),
            "subject": "cloudbill",
            "sequence": 0,
            "data": {"message": "a test event from cloudbill webhooks test"},
        },
        sort_keys=True,
        separators=(",", ":"),
    ).encode()
    own = client is None
    client = client or httpx.Client(timeout=settings.webhook_timeout_s)
    started = time.perf_counter()
    code, error = None, None
    try:
        answer = client.post(
            settings.webhook_url,
            content=body,
            headers=headers(settings.webhook_secret, message_id, int(wall.timestamp()), body),
        )
        code = answer.status_code
        if not 200 <= code < 300:
            error = f"HTTP {code}: {answer.text[:200]}"
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}"[:512]
    finally:
        if own:
            client.close()
    return TestDelivery(message_id, code, error, round((time.perf_counter() - started) * 1000, 1))


def dead_letters(conn: Connection, *, limit: int, offset: int):  # type: ignore[no-untyped-def]
    """Events given up on (dead-lettered), oldest first: (total, rows of event id, topic,
    subject, attempts, last error, when)."""
    d, e = webhook_delivery.c, outbox_event.c
    total = conn.execute(
        select(func.count()).select_from(webhook_delivery).where(d.status == DEAD)
    ).scalar_one()
    rows = conn.execute(
        select(e.id, e.topic, e.subject_id, d.attempts, d.last_error, d.updated_at)
        .join(webhook_delivery, d.event_id == e.id)
        .where(d.status == DEAD)
        .order_by(e.id)
        .limit(min(limit, PAGE_SIZE_MAX))
        .offset(offset)
    ).all()
    return total, rows


def retry_dead(conn: Connection, event_id: int, *, now: datetime) -> bool:
    """Give a dead-lettered event a fresh start (after the provider fixed its endpoint)."""
    result = conn.execute(
        update(webhook_delivery)
        .where(webhook_delivery.c.event_id == event_id, webhook_delivery.c.status == DEAD)
        .values(status=PENDING, attempts=0, next_attempt_at=now, updated_at=now)
    )
    return result.rowcount == 1


def reconcile(conn: Connection, *, limit: int = PAGE_SIZE_MAX) -> list[dict[str, str | None]]:
    """Resources whose last delivered lifecycle state differs from their state here (the
    provider may be running what cloudbill froze, or the other way round)."""
    e, d, r = outbox_event, webhook_delivery, resource
    latest = (
        select(e.c.subject_id, func.max(e.c.subject_seq).label("seq"))
        .join(d, and_(d.c.event_id == e.c.id, d.c.status == DELIVERED))
        .where(e.c.topic.like("resource.%"))
        .group_by(e.c.subject_id)
        .subquery()
    )
    delivered = dict(
        (row.subject_id, json.loads(row.payload)["to"])
        for row in conn.execute(
            select(e.c.subject_id, e.c.payload).join(
                latest, and_(e.c.subject_id == latest.c.subject_id, e.c.subject_seq == latest.c.seq)
            )
        )
    )
    rows = conn.execute(
        select(r.c.id, r.c.status)
        .where((r.c.status != "normal") | r.c.id.in_(select(latest.c.subject_id)))
        .order_by(r.c.id)
    )
    out = [
        {"resource_id": row.id, "status": row.status, "delivered": delivered.get(row.id)}
        for row in rows
        if delivered.get(row.id, "normal") != row.status
    ]
    return out[:limit]
