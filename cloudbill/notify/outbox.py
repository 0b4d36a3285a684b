"""The transactional outbox: events are written in the same transaction as the change they
report, numbered per subject (customer or resource) so they can be delivered in order, and
deduplicated by key so a rerun of a job never reports a change twice."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, null, select, union_all

from ..kernel.limits import SQL_IN_CHUNK
from ..store.schema import outbox_event


@dataclass(frozen=True, slots=True)
class Event:
    topic: str
    subject_id: str
    payload: dict[str, Any]
    dedupe_key: str


def emit_many(conn: Connection, events: Sequence[Event], *, now: datetime) -> int:
    """Write the events not written before; returns how many were new."""
    if not events:
        return 0
    keys = [e.dedupe_key for e in events]
    subjects = sorted({e.subject_id for e in events})
    if len(keys) + len(subjects) <= SQL_IN_CHUNK:  # a use case's few events: one statement
        seen, last = _seen_and_last(conn, keys, subjects)  # (under SQLite's bound parameters)
        return _insert(conn, [e for e in events if e.dedupe_key not in seen], last, now)
    seen: set[str] = set()
    for start in range(0, len(keys), SQL_IN_CHUNK):
        seen.update(
            conn.execute(
                select(outbox_event.c.dedupe_key).where(
                    outbox_event.c.dedupe_key.in_(keys[start : start + SQL_IN_CHUNK])
                )
            ).scalars()
        )
    fresh = [e for e in events if e.dedupe_key not in seen]
    subjects = sorted({e.subject_id for e in fresh})
    last: dict[str, int] = {}
    for start in range(0, len(subjects), SQL_IN_CHUNK):
        rows = conn.execute(
            select(outbox_event.c.subject_id, func.max(outbox_event.c.subject_seq))
            .where(outbox_event.c.subject_id.in_(subjects[start : start + SQL_IN_CHUNK]))
            .group_by(outbox_event.c.subject_id)
        )
        last.update(dict(rows.all()))
    return _insert(conn, fresh, last, now)


def _seen_and_last(
    conn: Connection, keys: list[str], subjects: list[str]
) -> tuple[set[str], dict[str, int]]:
    """The keys already written, and the last number of each subject (of every event given:
    those of events already written are simply not used), in one round trip."""
    o = outbox_event.c
    rows = conn.execute(
        union_all(
            select(o.dedupe_key, null().label("subject_id"), null().label("seq")).where(
                o.dedupe_key.in_(keys)
            ),
            select(null(), o.subject_id, func.max(o.subject_seq))
            .where(o.subject_id.in_(subjects))
            .group_by(o.subject_id),
        )
    ).all()
    seen = {row[0] for row in rows if row[0] is not None}
    last = {row[1]: row[2] for row in rows if row[1] is not None}
    return seen, last


def _insert(conn: Connection, fresh: list[Event], last: dict[str, int], now: datetime) -> int:
    rows_out = []
    for event in fresh:
        last[event.subject_id] = last.get(event.subject_id, 0) + 1
        rows_out.append(
            {
                "topic": event.topic,
                "subject_id": event.subject_id,
                "subject_seq": last[event.subject_id],
                "dedupe_key": event.dedupe_key,
                "payload": json.dumps(event.payload, sort_keys=True, default=str),
                "created_at": now,
            }
        )
    if rows_out:
        conn.execute(insert(outbox_event), rows_out)
    return len(rows_out)
