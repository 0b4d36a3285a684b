"""B0: money movements through the ledger, one use case and one transaction each.

Figure: top-ups per second through `customers.topup` (idempotency check, row locks, balanced
posting, cached balances) on the embedded SQLite database. Floor: inserting the same number of
transaction and entry rows with one executemany in one transaction, in the same run. The ratio
says what the use case's checks and per-movement durability cost.
"""

from __future__ import annotations

import sqlite3
import tempfile
import time
from pathlib import Path

from cloudbill.bootstrap import build
from cloudbill.config import Settings
from cloudbill.customers import service as customers
from cloudbill.customers.model import CustomerInput


def run(movements: int, customer_count: int = 20) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.sqlite'}"
        c = build(Settings(database_url=url, operator_token="bench"))
        ids = [
            c.write(lambda conn, now, i=i: customers.create(
                conn, CustomerInput(name=f"bench-{i}", currency="USD"), now=now).id)
            for i in range(customer_count)
        ]  # fmt: skip
        start = time.perf_counter()
        for n in range(movements):
            cid = ids[n % customer_count]
            c.write(
                lambda conn, now, cid=cid, n=n: customers.topup(
                    conn, cid, "1.00", reference=f"b-{n}", now=now
                )
            )
        elapsed = time.perf_counter() - start
        c.db.dispose()
        floor = _floor(Path(tmp) / "floor.sqlite", movements)
    return {"movements": movements, "seconds": elapsed, "per_second": movements / elapsed,
            "floor_seconds": floor, "ratio": elapsed / floor}  # fmt: skip


def _floor(path: Path, movements: int) -> float:
    """The same rows, written the cheapest way SQLite allows."""
    raw = sqlite3.connect(path)
    raw.execute("PRAGMA journal_mode=WAL")
    raw.execute("CREATE TABLE tx (id INTEGER PRIMARY KEY, key TEXT UNIQUE, created TEXT)")
    raw.execute(
        "CREATE TABLE entry (id INTEGER PRIMARY KEY, tx INTEGER, account INTEGER, amount INTEGER)"
    )
    start = time.perf_counter()
    with raw:
        raw.executemany("INSERT INTO tx VALUES (?, ?, '2026-01-01')",
                        ((i, f"b-{i}") for i in range(movements)))  # fmt: skip
        raw.executemany(
            "INSERT INTO entry (tx, account, amount) VALUES (?, ?, ?)",
            ((i, a, s * 100_000_000) for i in range(movements) for a, s in ((1, 1), (2, -1))),
        )
    elapsed = time.perf_counter() - start
    raw.close()
    return elapsed
