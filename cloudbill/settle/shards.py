"""Settlement sharded by customer, with a lease per shard.

Customers are spread over `shards` by a hash of their id that both Python and PostgreSQL can
compute (the first 28 bits of the id's MD5). Each shard has its own chain of settlement runs
(`settlement_run.shard`) and watermarks, so workers settle different shards at the same time
with no global lock; each customer's hour is still settled once, by its shard's run.

A worker settles a shard while it holds the shard's lease (`settlement_lease`): inside the
settling transaction it locks the lease row (SKIP LOCKED: a shard being settled right now is
skipped, never waited for) and takes or renews the lease with a conditional UPDATE. The lease is
free when nobody holds it, when it expired, or when its holder is gone: on PostgreSQL each
worker process holds a session advisory lock (its presence) for as long as it lives, and a
holder whose presence lock can be taken has died (kill -9 closes its connections, and
PostgreSQL drops its locks). Expiry is the backstop for a worker that lives but hangs.

Exactly-once does not rest on the lease: the lease row lock serialises the transactions of
one shard, each reads the shard's last run after taking it, and (shard, hour_start) is unique.

SQLite keeps one shard and needs no lease: its writers are serial."""

from __future__ import annotations

import hashlib
import os
import secrets
import socket
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, delete, func, insert, literal_column, select, text, update

from ..kernel.errors import CloudbillError, ErrorCode
from ..store.engine import Database
from ..store.schema import customer, settlement_lease, settlement_run

# Advisory lock namespace (first key) of worker presence; the second key is the worker's own.
PRESENCE_NAMESPACE = 7_240_100
_HASH_BITS = 28  # fits PostgreSQL's int: bit(28)::int is never negative


def shard_of(customer_id: str, shards: int) -> int:
    """The shard that settles `customer_id` (the same number customer_clause computes)."""
    digest = hashlib.md5(customer_id.encode(), usedforsecurity=False).hexdigest()
    return int(digest[: _HASH_BITS // 4], 16) % shards


def customer_clause(column, shard: int, shards: int):  # type: ignore[no-untyped-def]
    """`column` (a customer id) belongs to `shard`: a semi-join on the customer table, so the
    hash runs once per customer, not once per usage row (PostgreSQL; SQLite has one shard)."""
    hashed = literal_column(
        f"mod(('x' || substr(md5(customer.id), 1, {_HASH_BITS // 4}))::bit({_HASH_BITS})::int, "
        f"{int(shards)})"
    )
    return column.in_(select(customer.c.id).where(hashed == int(shard)))


@dataclass(frozen=True)
class Lease:
    """Who asks to settle which shard, and for how long a lease runs (wall-clock time)."""

    shard: int
    shards: int
    holder: str
    holder_key: int
    ttl_s: int
    now: datetime  # the wall clock: leases are about processes, not billing time


class Presence:
    """This process's presence lock on PostgreSQL: a session advisory lock on a connection of
    its own, held until the process ends. One per process and database."""

    _lock = threading.Lock()
    _held: dict[str, Presence] = {}

    def __init__(self, db: Database) -> None:
        self.pid = os.getpid()
        self.holder = f"{socket.gethostname()}:{self.pid}"[:128]
        self.key = secrets.randbits(31)  # pg_advisory_lock(int, int)
        self._conn = db.engine.connect()
        self._conn.execute(
            text("SELECT pg_advisory_lock(:ns, :key)"), {"ns": PRESENCE_NAMESPACE, "key": self.key}
        )
        self._conn.commit()

    @classmethod
    def of(cls, db: Database) -> Presence:
        with cls._lock:
            found = cls._held.get(db.url)
            if found is None or found.pid != os.getpid():  # a forked child is not its parent
                found = cls._held[db.url] = cls(db)
            return found


def ensure_layout(conn: Connection, shards: int) -> None:
    """Make the lease rows of a layout of `shards` shards. The count cannot change once an hour
    was settled: each shard's watermark speaks for its own customers only, so moving customers
    between shards could bill usage twice or not at all."""
    have = conn.execute(select(func.count()).select_from(settlement_lease)).scalar_one()
    if have == shards:
        return
    if have and conn.execute(select(settlement_run.c.id).limit(1)).first() is not None:
        raise CloudbillError(
            ErrorCode.INVALID_STATE,
            f"settlement runs with {have} shard(s) and CLOUDBILL_SETTLEMENT_SHARDS is {shards}: "
            "the shard count cannot change once hours were settled",
        )
    if not have and shards != 1 and conn.execute(select(settlement_run.c.id).limit(1)).first():
        raise CloudbillError(
            ErrorCode.INVALID_STATE,
            f"hours were settled with one shard and CLOUDBILL_SETTLEMENT_SHARDS is {shards}: "
            "the shard count cannot change once hours were settled",
        )
    conn.execute(delete(settlement_lease))
    conn.execute(insert(settlement_lease), [{"shard": s} for s in range(shards)])


def layout(conn: Connection) -> int:
    """How many shards settle: the lease rows, or one before the first settlement."""
    return conn.execute(select(func.count()).select_from(settlement_lease)).scalar_one() or 1


def take(conn: Connection, lease: Lease) -> bool:
    """Take or renew `lease.shard` for this transaction and `ttl_s` beyond: False when another
    transaction is settling it now or another live worker holds it."""
    row = conn.execute(
        select(settlement_lease)
        .where(settlement_lease.c.shard == lease.shard)
        .with_for_update(skip_locked=True)
    ).first()
    if row is None:  # being settled right now (or no such shard)
        return False
    mine = row.holder == lease.holder and row.holder_key == lease.holder_key
    free = row.holder is None or row.expires_at is None or row.expires_at <= lease.now
    if not (mine or free) and not _holder_gone(conn, row.holder_key):
        return False
    taken = conn.execute(
        update(settlement_lease)
        .where(
            settlement_lease.c.shard == lease.shard,
            (settlement_lease.c.holder_key == lease.holder_key)
            | settlement_lease.c.holder.is_(None)
            | (settlement_lease.c.expires_at <= lease.now)
            | (settlement_lease.c.holder_key == row.holder_key),  # gone, as checked above
        )
        .values(
            holder=lease.holder,
            holder_key=lease.holder_key,
            expires_at=lease.now + timedelta(seconds=lease.ttl_s),
            renewed_at=lease.now,
        )
    ).rowcount
    return taken == 1


def release(conn: Connection, lease: Lease) -> None:
    """Give the shard back (nothing left to settle): another worker may take it at once."""
    conn.execute(
        update(settlement_lease)
        .where(
            settlement_lease.c.shard == lease.shard,
            settlement_lease.c.holder_key == lease.holder_key,
        )
        .values(holder=None, holder_key=None, expires_at=None)
    )


def _holder_gone(conn: Connection, holder_key: int | None) -> bool:
    """Whether the process holding a lease has ended: its presence lock is free (PostgreSQL).
    Taking it for this transaction only leaves nothing behind."""
    if holder_key is None or conn.dialect.name != "postgresql":
        return False
    return bool(
        conn.execute(
            text("SELECT pg_try_advisory_xact_lock(:ns, :key)"),
            {"ns": PRESENCE_NAMESPACE, "key": holder_key},
        ).scalar()
    )


def wait_for_settlements(conn: Connection) -> None:
    """Wait until no shard is being settled, and keep new settlements out until this
    transaction ends (voiding a usage record must not race the run billing it)."""
    if conn.dialect.name == "postgresql":
        conn.execute(select(settlement_lease.c.shard).with_for_update())


def lock_single(conn: Connection) -> bool:
    """Settling without a lease (one shard: SQLite, or a caller of settle_hour itself): on
    PostgreSQL lock shard 0's lease row if the layout has one, skipping if it is taken."""
    if conn.dialect.name != "postgresql":
        return True
    rows = conn.execute(
        select(settlement_lease.c.shard).where(settlement_lease.c.shard == 0)
    ).first()
    if rows is None:
        return True
    return (
        conn.execute(
            select(settlement_lease.c.shard)
            .where(settlement_lease.c.shard == 0)
            .with_for_update(skip_locked=True)
        ).first()
        is not None
    )
