"""The ingest gate: a watermark no in-flight ingestion can fall below (PostgreSQL only).

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
SETTLEMENT_LOCK_KEY = 7_240_001  # "a settlement is running" (settle/repo.py)
INGEST_GATE_KEY = 7_240_002


def hold_shared(conn: Connection) -> None:
    """Ingestion: hold the gate shared until this transaction ends."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock_shared(:k)"), {"k": INGEST_GATE_KEY})


def hold_exclusive(conn: Connection) -> None:
    """Watermark reader: wait for ingestions in flight, then keep new ones out until commit."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": INGEST_GATE_KEY})
