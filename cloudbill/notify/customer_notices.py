"""Customer notices, the worker's entry point: outbox events and due deadline reminders become
notices (each in one write transaction, idempotent by key), then due notices are delivered by
email and SMS outside any transaction. See notify/notices/ for the parts."""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx

from ..bootstrap import Container
from ..store import gates
from .notices.delivery import DeliveryReport, deliver_due
from .notices.enqueue import EVENT_BATCH, enqueue_events
from .notices.reminders import enqueue_reminders

MAX_EVENT_BATCHES_PER_CALL = 100  # then the next call goes on


@dataclass(frozen=True)
class NoticeReport:
    events_read: int = 0
    enqueued: int = 0  # notice rows written (per channel, including skipped ones)
    delivery: DeliveryReport = field(default_factory=DeliveryReport)


def enqueue_due(container: Container) -> tuple[int, int]:
    """(outbox events read, notices written) for the events and reminders due now."""
    settings = container.settings
    read = written = 0

    # One worker at a time turns events into notices; another one finding it busy moves on
    # (it would only race it to the same rows).
    def events_batch(conn, now):  # type: ignore[no-untyped-def]
        if not gates.try_job(conn, "notice_enqueue"):
            return 0, 0
        return enqueue_events(conn, settings, now=now)

    def reminders(conn, now):  # type: ignore[no-untyped-def]
        if not gates.try_job(conn, "notice_enqueue"):
            return 0
        return enqueue_reminders(conn, settings, now=now)

    for _ in range(MAX_EVENT_BATCHES_PER_CALL):
        events, notices = container.write(events_batch)
        read, written = read + events, written + notices
        if events < EVENT_BATCH:
            break
    written += container.write(reminders)
    return read, written


def run_due(container: Container, *, client: httpx.Client | None = None) -> NoticeReport:
    read, written = enqueue_due(container)
    return NoticeReport(read, written, deliver_due(container, client=client))
