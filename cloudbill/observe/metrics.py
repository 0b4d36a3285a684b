"""Prometheus metrics: what happened, counted once it is committed.

A stage counts inside its transaction with `after_commit(conn, counter, labels, n)`: the count
is held on the connection and added when the transaction commits, dropped if it rolls back, so
a retried or refused write is never counted as done. Gauges read from the database at scrape
time (settlement lag, backlogs) are in `api/metrics.py`, which knows the database.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import Counter, Histogram
from sqlalchemy import Connection, Engine, event

_PENDING = "cloudbill_pending_metrics"

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
LEDGER_TRANSACTIONS = Counter("cloudbill_ledger_transactions", "Ledger transactions", ["kind"])
LIFECYCLE_TRANSITIONS = Counter(
    "cloudbill_lifecycle_transitions", "Resource status changes by the lifecycle", ["to"]
)
WORKER_PASSES = Counter("cloudbill_worker_passes", "Worker passes", ["outcome"])  # ok | failed
WEBHOOK_DELIVERIES = Counter(
    "cloudbill_webhook_deliveries", "Webhook delivery attempts", ["outcome"]
)  # delivered | retry | dead
NOTICE_DELIVERIES = Counter(
    "cloudbill_notice_deliveries", "Customer notice delivery attempts", ["outcome"]
)  # sent | retry | dead


def after_commit(
    conn: Connection, counter: Any, labels: tuple[str, ...] = (), n: float = 1
) -> None:
    """Add `n` to `counter` (with `labels`) when the caller's transaction commits."""
    if n:
        conn.info.setdefault(_PENDING, []).append((counter, labels, n))


def _flush(conn: Connection) -> None:
    for counter, labels, n in conn.info.pop(_PENDING, ()):
        (counter.labels(*labels) if labels else counter).inc(n)


def _drop(conn: Connection) -> None:
    conn.info.pop(_PENDING, None)


def watch_commits(engine: Engine) -> None:
    """Make `after_commit` counts of this engine's connections land on commit only."""
    event.listen(engine, "commit", _flush)
    event.listen(engine, "rollback", _drop)
