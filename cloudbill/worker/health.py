"""How the billing center is doing, read from the database: what `/ready` checks and what
`/metrics` reports beside its counters. Each figure is an indexed lookup or a bounded count, so
a scrape costs the same however long the journal has grown."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, func, select

from ..config import Settings
from ..notify.webhooks import DEAD, PENDING, topic_matches, topic_patterns
from ..settle import holds
from ..settle import service as settle
from ..store.schema import customer, customer_notice, outbox_event, webhook_delivery


@dataclass(frozen=True, slots=True)
class Lag:
    oldest_unsettled_hour: datetime | None  # due but not settled yet
    settlement_lag_s: float  # how long past its due time that hour is


@dataclass(frozen=True, slots=True)
class Health:
    lag: Lag
    webhook_backlog: int  # provider events not delivered yet (0 when no endpoint is set)
    webhooks_dead: int
    notices_pending: int
    notices_dead: int
    customers_in_arrears: int
    customers_held: int  # set aside by settlement (settle/holds.py)


def lag(conn: Connection, settings: Settings, *, now: datetime) -> Lag:
    hour, lag_s = settle.lag(
        conn, now=now, lateness=timedelta(seconds=settings.settlement_lateness_s)
    )
    return Lag(hour, lag_s)


def _count(conn: Connection, query) -> int:  # type: ignore[no-untyped-def]
    return int(conn.execute(query).scalar_one() or 0)


def _webhook_backlog(conn: Connection, settings: Settings) -> int:
    """Deliveries still pending (the status index), plus the provider's events newer than the
    newest one tried (a range of the outbox's key): events are tried oldest first."""
    if not (settings.webhook_url and settings.webhook_secret):
        return 0
    d, e = webhook_delivery.c, outbox_event.c
    pending = _count(conn, select(func.count()).where(d.status == PENDING))
    newest_tried = conn.execute(select(func.max(d.event_id))).scalar() or 0
    untried = _count(
        conn,
        select(func.count()).where(
            e.id > newest_tried, topic_matches(e.topic, topic_patterns(settings.webhook_topics))
        ),
    )
    return pending + untried


def figures(conn: Connection, settings: Settings, *, now: datetime) -> Health:
    d, n = webhook_delivery.c, customer_notice.c
    return Health(
        lag=lag(conn, settings, now=now),
        webhook_backlog=_webhook_backlog(conn, settings),
        webhooks_dead=_count(conn, select(func.count()).where(d.status == DEAD)),
        notices_pending=_count(conn, select(func.count()).where(n.status == "pending")),
        notices_dead=_count(conn, select(func.count()).where(n.status == "dead")),
        customers_in_arrears=_count(
            conn, select(func.count()).where(customer.c.arrears_since.is_not(None))
        ),
        customers_held=holds.open_count(conn),
    )
