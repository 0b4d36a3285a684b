"""Advisory locks of cloudbill on PostgreSQL: the ingest gate and the scheduled jobs' locks.

The ingest gate: a watermark no in-flight ingestion can fall below (PostgreSQL only).

Every ingestion transaction holds the gate shared; reading the settlement watermark takes it
exclusively for an instant, which waits until the ingestions in flight have committed (or rolled
back). Usage seqs are assigned while the gate is held, so every seq at or below the watermark
read then belongs to a committed record. Later ingestions queue behind the exclusive request
and get higher seqs.

It is a transaction-scoped advisory lock rather than a row lock, so it depends on no data: a
missing or truncated row would silently lock nothing. SQLite needs none, its writers are serial.
"""

from __future__ import annotations

from sqlalchemy import Connection, text

# Advisory lock numbers used by cloudbill (one namespace for the whole database).
# 7_240_001 was "a settlement is running": settlement now locks its shard's lease row
# (settle/shards.py); 7_240_100 is the namespace of worker presence locks there.
INGEST_GATE_KEY = 7_240_002
# One lock per scheduled job that writes derived rows (bills, notices, expiries): two workers
# running one job at once would compute the same rows and race on their unique keys; the
# second one skips the job instead, the first does it for both.
JOB_LOCK_KEYS = {
    "postpaid_bills": 7_240_010,
    "subscriptions": 7_240_011,
    "coupon_expiry": 7_240_012,
    "lifecycle": 7_240_013,
    "alert_reminders": 7_240_014,
    "notice_enqueue": 7_240_015,
    "invoices": 7_240_016,
    "member_budgets": 7_240_017,
}


def hold_shared(conn: Connection) -> None:
    """Ingestion: hold the gate shared until this transaction ends."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock_shared(:k)"), {"k": INGEST_GATE_KEY})


def hold_exclusive(conn: Connection) -> None:
    """Watermark reader: wait for ingestions in flight, then keep new ones out until commit."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": INGEST_GATE_KEY})


def try_job(conn: Connection, job: str) -> bool:
    """Whether this transaction may run `job` now: False while another transaction runs it
    (PostgreSQL; the lock ends with the transaction). SQLite's writers are serial already."""
    if conn.dialect.name != "postgresql":
        return True
    key = JOB_LOCK_KEYS[job]
    return bool(conn.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": key}).scalar())
