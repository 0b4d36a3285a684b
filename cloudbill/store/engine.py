"""Engines and transactions.

SQLite (embedded default): WAL, foreign keys on, a busy timeout, and every write transaction
opened with `BEGIN IMMEDIATE` so that two writers queue instead of failing mid-way on upgrade.
PostgreSQL (production): psycopg 3, READ COMMITTED plus explicit row locks in a fixed order.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from ..kernel.errors import CloudbillError, ErrorCode
from ..observe import metrics
from . import commit_hooks
from .types import ExactSum

T = TypeVar("T")

_READ_ONLY = "cloudbill_read_only"
# SQLite: how long a write waits for the writer lock (CLOUDBILL_DATABASE_BUSY_TIMEOUT_S); then
# it fails "database is locked", answered 503 DATABASE_BUSY (store/busy.py).
BUSY_TIMEOUT_S = 30.0


def normalize_url(url: str) -> str:
    """Accept `postgres://` and `postgresql://` and pin the psycopg 3 driver."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def is_sqlite(url: str) -> bool:
    return normalize_url(url).startswith("sqlite")


def _create_private(path: Path) -> None:
    """A new database file readable by its owner only (0600; SQLite gives its -wal and -shm
    files the same mode): it holds the books and the customers' sealed keys."""
    with suppress(FileExistsError):
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))


def sqlite_file(url: str) -> Path | None:
    parsed = make_url(url)
    if parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def make_engine(url: str, *, echo: bool = False, busy_timeout_s: float = BUSY_TIMEOUT_S) -> Engine:
    url = normalize_url(url)
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise CloudbillError(
            ErrorCode.INVALID_ARGUMENT, f"CLOUDBILL_DATABASE_URL is not a database URL: {url!r}"
        ) from None
    if parsed.get_backend_name() == "sqlite":
        path = sqlite_file(url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            _create_private(path)
        engine = create_engine(url, echo=echo, connect_args={"timeout": busy_timeout_s})
        _configure_sqlite(engine, busy_timeout_s)
        return engine
    if parsed.get_backend_name() == "postgresql":
        return create_engine(url, echo=echo, pool_pre_ping=True, pool_size=10, max_overflow=10)
    raise CloudbillError(
        ErrorCode.INVALID_ARGUMENT, "only sqlite:/// and postgresql:// database URLs are supported"
    )


def _configure_sqlite(engine: Engine, busy_timeout_s: float) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        # Let SQLAlchemy's "begin" event below issue BEGIN itself.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={round(busy_timeout_s * 1000)}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()
        dbapi_connection.create_aggregate("cb_exact_sum", 1, ExactSum)

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        if conn.get_execution_options().get(_READ_ONLY):
            conn.exec_driver_sql("BEGIN")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")


class Database:
    """One database: `write()` for a read-write transaction, `read()` for a consistent read."""

    def __init__(
        self, url: str, *, echo: bool = False, busy_timeout_s: float = BUSY_TIMEOUT_S
    ) -> None:
        self.url = normalize_url(url)
        self.engine = make_engine(self.url, echo=echo, busy_timeout_s=busy_timeout_s)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def write(self) -> Iterator[Connection]:
        conn = None
        try:
            with self.engine.begin() as conn:
                metrics.opened(conn)
                commit_hooks.opened(conn)
                yield conn
                commit_hooks.run(conn)
            metrics.committed(conn)  # the database has confirmed the commit
            commit_hooks.committed(conn)
        finally:
            if conn is not None:
                metrics.abandoned(conn)
                commit_hooks.abandoned(conn)

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            conn = conn.execution_options(**{_READ_ONLY: True})
            with conn.begin():
                yield conn

    def transact(self, work: Callable[[Connection], T]) -> T:
        with self.write() as conn:
            return work(conn)

    def dispose(self) -> None:
        self.engine.dispose()
