"""Budgets in the database (the default): one short write transaction per request.

The allowance is decided by one conditional UPDATE, so two processes taking from one budget at
once serialize on its row and never both get the last request. Rows whose TAT has passed are
full buckets and are deleted now and then (a flood of unknown access keys leaves no rows)."""

from __future__ import annotations

import itertools
import time

from sqlalchemy import case, delete, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite

from ..store.engine import Database
from ..store.schema import rate_limit
from .rules import MICROS, Budget, next_tat

PRUNE_EVERY = 1000  # writes of this process between two deletions of passed rows


def now_us() -> int:
    return time.time_ns() // 1000


class SqlBudgets:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._writes = itertools.count(1)

    def take(self, key: str, budget: Budget) -> bool:
        """Take one request from `key`'s budget; False (nothing taken) when it is spent."""
        return self._step(key, budget, charge=True)

    def peek(self, key: str, budget: Budget) -> bool:
        """Whether one more request would be allowed (nothing taken)."""
        return self._step(key, budget, charge=False)

    def _read_tat(self, key: str) -> int | None:
        """The budget's TAT: one statement, so on PostgreSQL one round trip in autocommit
        (no BEGIN and COMMIT around it: every authenticated request asks this)."""
        query = select(rate_limit.c.tat_us).where(rate_limit.c.key == key)
        if self._db.dialect != "postgresql":
            with self._db.read() as conn:
                return conn.execute(query).scalar()
        with self._db.engine.connect() as conn:
            auto = conn.execution_options(isolation_level="AUTOCOMMIT")
            return auto.execute(query).scalar()

    def _step(self, key: str, budget: Budget, *, charge: bool) -> bool:
        now = now_us()
        if not charge:
            return next_tat(self._read_tat(key), now, budget) is not None
        tat = rate_limit.c.tat_us
        start = case((tat > now, tat), else_=literal(now))
        allowed = start + budget.interval_us - now <= budget.limit_us
        with self._db.write() as conn:
            dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
            conn.execute(
                dialect.insert(rate_limit)
                .values(key=key, tat_us=now)
                .on_conflict_do_nothing(index_elements=["key"])
            )
            taken = conn.execute(
                update(rate_limit)
                .where(rate_limit.c.key == key, allowed)
                .values(tat_us=start + budget.interval_us)
            ).rowcount
            if next(self._writes) % PRUNE_EVERY == 0:
                # Rows past their TAT are full buckets: removing them changes no answer.
                conn.execute(delete(rate_limit).where(rate_limit.c.tat_us < now - MICROS))
        return taken == 1
