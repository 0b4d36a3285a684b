"""Outbox events -> notices, each event read once.

Which events are done is recorded per event (`customer_notice_event`), not as a single "last
id" cursor: on PostgreSQL ids are taken when a transaction inserts and become visible when it
commits, so an event with a lower id can appear after a higher one was read, and a plain cursor
would skip it for good. The scan is "events of customer topics with no mark", in id order.

To keep that scan from reading all history every run, a floor (app_setting) says below which id
every event is marked. It only moves to an id that was the highest visible at least
`FLOOR_LAG` (wall time) earlier and after a run that left nothing unmarked: any event below it
was inserted before that id was seen, so its transaction has had `FLOOR_LAG` to commit.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from ...config import Settings
from ...kernel.clock import SystemClock
from ...store.bulk import insert_or_skip
from ...store.schema import app_setting, customer, customer_notice_event, outbox_event, resource
from . import contexts
from .rules import TOPIC_KINDS, resource_kind
from .store import Draft, add, rows_by_id

EVENT_BATCH = 500
FLOOR_KEY = "notices.scan_floor"
FLOOR_LAG = timedelta(hours=1)  # far longer than any transaction that writes outbox events


def _floor(conn: Connection) -> dict[str, Any]:
    value = conn.execute(select(app_setting.c.value).where(app_setting.c.key == FLOOR_KEY)).scalar()
    return json.loads(value) if value else {"floor": 0, "candidate": 0, "seen_at": None}


def _move_floor(conn: Connection, state: dict[str, Any], *, now: datetime) -> None:
    wall = SystemClock().now()
    seen_at = datetime.fromisoformat(state["seen_at"]) if state["seen_at"] else None
    if seen_at is not None and wall - seen_at < FLOOR_LAG:
        return
    top = conn.execute(select(func.coalesce(func.max(outbox_event.c.id), 0))).scalar_one()
    new = {
        "floor": max(state["floor"], state["candidate"] if seen_at else 0),
        "candidate": top,
        "seen_at": wall.isoformat(),
    }
    values = {"value": json.dumps(new), "updated_at": now}
    found = conn.execute(update(app_setting).where(app_setting.c.key == FLOOR_KEY).values(values))
    if found.rowcount == 0:
        conn.execute(insert(app_setting).values(key=FLOOR_KEY, **values))


def _unmarked(conn: Connection, floor: int):  # type: ignore[no-untyped-def]
    e, m = outbox_event.c, customer_notice_event.c
    marked = select(m.event_id).where(m.event_id == e.id).exists()
    return conn.execute(
        select(e.id, e.topic, e.subject_id, e.dedupe_key, e.payload)
        .where(e.topic.in_(list(TOPIC_KINDS)), e.id > floor, ~marked)
        .order_by(e.id)
        .limit(EVENT_BATCH)
    ).all()


def drafts_for(conn: Connection, events) -> list[Draft]:  # type: ignore[no-untyped-def]
    """Customer events make one notice each; resource events of one customer, topic and instant
    (one lifecycle step) make one notice listing the resources."""
    resources = rows_by_id(
        conn, resource, {ev.subject_id for ev in events if ev.topic.startswith("resource.")}
    )
    owners = {ev.subject_id: ev.subject_id for ev in events if ev.topic.startswith("customer.")}
    owners |= {rid: row.customer_id for rid, row in resources.items()}
    customers = rows_by_id(conn, customer, set(owners.values()))
    drafts: list[Draft] = []
    grouped: dict[tuple[str, str, str, str], list[dict[str, str]]] = defaultdict(list)
    for ev in events:
        kind, payload = TOPIC_KINDS[ev.topic], json.loads(ev.payload)
        owner = customers.get(owners.get(ev.subject_id, ""))
        if owner is None:
            continue  # not a customer's (a resource unknown here): nobody to tell
        if ev.topic.startswith("customer."):
            context = contexts.for_customer_event(kind, payload, owner)
            drafts.append(Draft(owner, kind, ev.dedupe_key, context))
        else:
            resource_notice = resource_kind(ev.topic, payload)
            if resource_notice is None:
                continue
            r = resources[ev.subject_id]
            item = {"id": r.id, "name": r.name, "service": r.service}
            grouped[(ev.topic, resource_notice, owner.id, payload["at"])].append(item)
    for (topic, kind, customer_id, at), items in grouped.items():
        owner = customers[customer_id]
        context = contexts.for_resources(kind, owner, items, at=at)
        drafts.append(Draft(owner, kind, f"{topic}:{customer_id}:{at}", context))
    return drafts


def enqueue_events(conn: Connection, settings: Settings, *, now: datetime) -> tuple[int, int]:
    """One batch: (events read, notices written). Call again while events come back."""
    state = _floor(conn)
    events = _unmarked(conn, state["floor"])
    written = add(conn, drafts_for(conn, events), settings, now=now)
    if events:
        marks = [{"event_id": e.id, "processed_at": now} for e in events]
        conn.execute(insert_or_skip(conn, customer_notice_event, "event_id"), marks).all()
    if len(events) < EVENT_BATCH:
        _move_floor(conn, state, now=now)
    return len(events), written
