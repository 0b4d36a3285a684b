"""Shared measuring tools: time spent in SQL, profiles, floor tables, goal lines."""

from __future__ import annotations

import cProfile
import io
import pstats
import sqlite3
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event

from cloudbill.store.engine import is_sqlite, normalize_url


class SqlTimer:
    """Wall time inside the database driver's execute/executemany, in total and per statement.
    A lower bound of the database's share: SQLite produces a query's rows while they are
    fetched, so part of a big SELECT's work lands in the fetch, counted with Python."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.seconds = 0.0
        self.calls = 0
        self.by_statement: dict[str, list[float]] = defaultdict(lambda: [0.0, 0])
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        conn.info.setdefault("bench_started", []).append(time.perf_counter())

    def _after(self, conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        elapsed = time.perf_counter() - conn.info["bench_started"].pop()
        self.seconds += elapsed
        self.calls += 1
        key = " ".join(statement.split())[:110]
        if executemany:
            key = "[many] " + key
        entry = self.by_statement[key]
        entry[0] += elapsed
        entry[1] += 1

    def close(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self._before)
        event.remove(self.engine, "after_cursor_execute", self._after)

    def top(self, count: int = 12) -> str:
        rows = sorted(self.by_statement.items(), key=lambda kv: -kv[1][0])[:count]
        lines = [f"      {secs:8.3f} s {int(calls):7d} x  {stmt}" for stmt, (secs, calls) in rows]
        return "\n".join(lines)


def profile_text(profiler: cProfile.Profile, count: int, sort: str = "cumulative") -> str:
    stream = io.StringIO()
    stats = pstats.Stats(profiler, stream=stream)
    stats.strip_dirs().sort_stats(sort).print_stats(count)
    text = stream.getvalue()
    # Drop pstats' preamble up to the table header; keep the table.
    start = text.find("   ncalls")
    return text[start:].rstrip() if start >= 0 else text


class FloorStore:
    """Where a floor writes its rows: a fresh SQLite file (same pragmas as cloudbill's engine)
    or fresh tables in the benchmark's PostgreSQL database (dropped afterwards). One
    transaction; executemany on SQLite, COPY on PostgreSQL: the cheapest bulk path of each."""

    def __init__(self, url: str, workdir: Path, name: str) -> None:
        self.sqlite = is_sqlite(url)
        self.tables: list[str] = []
        self.engine: Engine | None = None
        if self.sqlite:
            self.raw: Any = sqlite3.connect(workdir / f"floor-{name}.sqlite", isolation_level=None)
            self.raw.execute("PRAGMA journal_mode=WAL")
            self.raw.execute("PRAGMA synchronous=NORMAL")
        else:
            self.engine = create_engine(normalize_url(url))
            self._fairy = self.engine.raw_connection()
            self.raw = self._fairy.driver_connection
            self.raw.autocommit = True

    def create(self, table: str, columns: str) -> None:
        """`columns` uses {pk}, {int}, {ts} for the types that differ between databases."""
        types = (
            {"pk": "INTEGER PRIMARY KEY", "int": "INTEGER", "ts": "TEXT"}
            if self.sqlite
            else {"pk": "BIGSERIAL PRIMARY KEY", "int": "BIGINT", "ts": "TIMESTAMP"}
        )
        self.raw.execute(f"CREATE TABLE {table} ({columns.format(**types)})")
        self.tables.append(table)

    def begin(self) -> None:
        if self.sqlite:
            self.raw.execute("BEGIN IMMEDIATE")
        else:
            self.raw.autocommit = False

    def insert(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
        names = ", ".join(columns)
        if self.sqlite:
            marks = ", ".join("?" for _ in columns)
            self.raw.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)
            return
        with self.raw.cursor() as cursor, cursor.copy(f"COPY {table} ({names}) FROM STDIN") as cp:
            for row in rows:
                cp.write_row(row)

    def commit(self) -> None:
        if self.sqlite:
            self.raw.execute("COMMIT")
        else:
            self.raw.commit()
            self.raw.autocommit = True

    def close(self) -> None:
        if not self.sqlite:
            for table in self.tables:
                self.raw.execute(f"DROP TABLE IF EXISTS {table}")
            self._fairy.close()
            assert self.engine is not None
            self.engine.dispose()
        else:
            self.raw.close()


def verdict(met: bool) -> str:
    return "met" if met else "NOT MET"
