"""How the billing center is doing, read from the database: what `/ready` checks and what
`/metrics` reports beside its counters. Every figure is one bounded aggregate query."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, func, select

from ..config import Settings
from ..notify.webhooks import DEAD, PENDING, topic_matches, topic_patterns
from ..settle import service as settle
from ..store.schema import customer, customer_notice, outbox_event, webhook_delivery


@dataclass(frozen=True, slots=True)
class Health:
    oldest_unsettled_hour: datetime | None  # due but not settled yet
    settlement_lag_s: float  # how long past its due time that hour is
    webhook_backlog: int  # provider events not delivered yet (pending or never tried)
    webhooks_dead: int
    notices_pending: int
    notices_dead: int
    customers_in_arrears: int


def _count(conn: Connection, query) -> int:  # type: ignore[no-untyped-def]
    return int(conn.execute(query).scalar_one() or 0)


def figures(conn: Connection, settings: Settings, *, now: datetime) -> Health:
    lateness = timedelta(seconds=settings.settlement_lateness_s)
    hour, lag_s = settle.lag(conn, now=now, lateness=lateness)
    e, d, n = outbox_event.c, webhook_delivery.c, customer_notice.c
    topics = topic_patterns(settings.webhook_topics)
    events = (
        select(func.count())
        .select_from(outbox_event.outerjoin(webhook_delivery, d.event_id == e.id))
        .where(topic_matches(e.topic, topics))
    )
    return Health(
        oldest_unsettled_hour=hour,
        settlement_lag_s=lag_s,
        webhook_backlog=_count(conn, events.where(d.status.is_(None) | (d.status == PENDING))),
        webhooks_dead=_count(conn, events.where(d.status == DEAD)),
        notices_pending=_count(conn, select(func.count()).where(n.status == "pending")),
        notices_dead=_count(conn, select(func.count()).where(n.status == "dead")),
        customers_in_arrears=_count(
            conn, select(func.count()).where(customer.c.arrears_since.is_not(None))
        ),
    )
