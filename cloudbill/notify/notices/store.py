"""Writing notices: one row per channel, rendered now, deduplicated by key."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from ...config import Settings
from ...kernel.limits import SQL_IN_CHUNK
from ...store.bulk import insert_or_skip
from ...store.schema import customer_notice
from .rules import DEAD, PENDING, SKIPPED, routes
from .templates import TemplateFailure, render


@dataclass(frozen=True, slots=True)
class Draft:
    """A notice to a customer before it is split by channel: `source_key` says what it is about
    (an outbox event's key, or a reminder's) and dedupes it."""

    customer: Any  # a customer row
    kind: str
    source_key: str
    context: dict[str, Any]


def existing_keys(conn: Connection, keys: Sequence[str]) -> set[str]:
    seen: set[str] = set()
    for start in range(0, len(keys), SQL_IN_CHUNK):
        chunk = keys[start : start + SQL_IN_CHUNK]
        seen.update(
            conn.execute(
                select(customer_notice.c.dedupe_key).where(customer_notice.c.dedupe_key.in_(chunk))
            ).scalars()
        )
    return seen


def _row(draft: Draft, route, settings: Settings, now: datetime) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    row: dict[str, Any] = {
        "customer_id": draft.customer.id,
        "channel": route.channel,
        "kind": draft.kind,
        "dedupe_key": f"{draft.source_key}:{route.channel}",
        "recipient": route.recipient,
        "data": json.dumps(draft.context, sort_keys=True),
        "subject": None,
        "body": None,
        "status": PENDING,
        "attempts": 0,
        "next_attempt_at": None,  # due at once (attempts are timed on the wall clock)
        "last_error": None,
        "sent_at": None,
        "created_at": now,
        "updated_at": now,
    }
    if route.skip_reason:
        return row | {"status": SKIPPED, "last_error": route.skip_reason, "next_attempt_at": None}
    try:
        text = render(
            draft.kind, route.channel, draft.context, override_dir=settings.notice_templates_dir
        )
    except TemplateFailure as exc:  # kept, dead, with the reason: `retry` renders it again
        return row | {"status": DEAD, "last_error": str(exc), "next_attempt_at": None}
    return row | {"subject": text.subject, "body": text.body}


def add(conn: Connection, drafts: Sequence[Draft], settings: Settings, *, now: datetime) -> int:
    """Write the notices of `drafts` not written before; returns how many rows were new."""
    smtp = bool(settings.smtp_host and settings.smtp_from)
    sms = bool(settings.sms_gateway_url)
    planned = [
        (draft, route)
        for draft in drafts
        for route in routes(
            email=draft.customer.email, mobile=draft.customer.mobile, smtp=smtp, sms=sms
        )
    ]
    seen = existing_keys(conn, [f"{d.source_key}:{r.channel}" for d, r in planned])
    rows, keys = [], set(seen)
    for draft, route in planned:
        key = f"{draft.source_key}:{route.channel}"
        if key not in keys:
            keys.add(key)
            rows.append(_row(draft, route, settings, now))
    if not rows:
        return 0
    # Insert-or-skip: a notice another transaction wrote since the lookup is not written twice.
    return len(conn.execute(insert_or_skip(conn, customer_notice, "dedupe_key"), rows).all())


def rows_by_id(conn: Connection, table, ids: set[str]) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    ordered, found = sorted(ids), {}
    for start in range(0, len(ordered), SQL_IN_CHUNK):
        chunk = ordered[start : start + SQL_IN_CHUNK]
        found.update((r.id, r) for r in conn.execute(select(table).where(table.c.id.in_(chunk))))
    return found
