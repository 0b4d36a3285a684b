"""Prometheus metrics: what happened, counted once it is committed.

A stage counts inside its transaction with `after_commit(conn, counter, labels, n)`: the count
is held for the transaction and added only after the database confirmed the commit
(`store.engine.Database.write` calls `committed`), so a refused, failed or retried write is
never counted as done. Figures read from the database at scrape time (settlement lag, backlogs)
are in `api/probes.py`.
"""

from __future__ import annotations

import weakref
from typing import Any

from prometheus_client import Counter, Histogram
from sqlalchemy import Connection

HTTP_REQUESTS = Counter(
    "cloudbill_http_requests", "HTTP requests answered", ["api", "route", "method", "status"]
)
HTTP_LATENCY = Histogram(
    "cloudbill_http_request_duration_seconds",
    "Time to answer an HTTP request",
    ["api", "route", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
HOURS_SETTLED = Counter("cloudbill_settlement_hours", "Hours settled")
FEE_RECORDS = Counter("cloudbill_fee_records", "Fee records written by settlement")
USAGE_RECORDS = Counter(
    "cloudbill_usage_records", "Usage records received", ["outcome"]
)  # accepted | duplicate | refused
STREAM_USAGE_RECORDS = Counter(
    "cloudbill_stream_usage_records", "Usage records consumed from a stream", ["outcome"]
)  # consumed | stored | duplicate | rejected (rejected: published as dead letters)
LEDGER_TRANSACTIONS = Counter("cloudbill_ledger_transactions", "Ledger transactions", ["kind"])
LIFECYCLE_TRANSITIONS = Counter(
    "cloudbill_lifecycle_transitions",
    "Resource status changes (arrears lifecycle, expiry, renewal, unsubscription, top-up)",
    ["to"],
)
WORKER_PASSES = Counter("cloudbill_worker_passes", "Worker passes", ["outcome"])  # ok | failed
WEBHOOK_DELIVERIES = Counter(
    "cloudbill_webhook_deliveries", "Webhook delivery attempts", ["outcome"]
)  # delivered | retry | dead
NOTICE_DELIVERIES = Counter(
    "cloudbill_notice_deliveries", "Customer notice delivery attempts", ["outcome"]
)  # sent | retry | dead


# The counts of each open write transaction, by its connection (gone with the connection).
_pending: weakref.WeakKeyDictionary[Connection, list[tuple[Any, tuple[str, ...], float]]] = (
    weakref.WeakKeyDictionary()
)


def after_commit(
    conn: Connection, counter: Any, labels: tuple[str, ...] = (), n: float = 1
) -> None:
    """Add `n` to `counter` (with `labels`) once the caller's transaction has committed. Outside
    a transaction that `Database.write` opened, nothing is counted."""
    if n and conn in _pending:
        _pending[conn].append((counter, labels, n))


def opened(conn: Connection) -> None:
    _pending[conn] = []


def committed(conn: Connection) -> None:
    for counter, labels, n in _pending.pop(conn, ()):
        (counter.labels(*labels) if labels else counter).inc(n)


def abandoned(conn: Connection) -> None:
    _pending.pop(conn, None)
