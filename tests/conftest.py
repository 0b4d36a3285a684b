"""Shared fixtures.

Database-facing tests take the `database_url` fixture and run twice: on SQLite (always) and on
PostgreSQL when CLOUDBILL_TEST_POSTGRES_URL is set, e.g.

    CLOUDBILL_TEST_POSTGRES_URL=postgresql://postgres@127.0.0.1:5432/test make test

Start a local server first if needed (Debian: `pg_ctlcluster 15 main start`). Without the URL
the PostgreSQL runs are skipped, and said so loudly; under CI (CI=true) a missing or unreachable
PostgreSQL fails the run instead.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from cloudbill.bootstrap import Container, build
from cloudbill.config import Settings
from cloudbill.kernel.clock import ManualClock, SystemClock
from cloudbill.kernel.periods import utc
from cloudbill.store import clock_repo
from cloudbill.store.engine import Database, normalize_url
from cloudbill.store.migrate import migrate

PG_URL = os.environ.get("CLOUDBILL_TEST_POSTGRES_URL")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
PG_SKIP_REASON = (
    "PostgreSQL tests SKIPPED: set CLOUDBILL_TEST_POSTGRES_URL="
    "postgresql://postgres@127.0.0.1:5432/test (start the server with "
    "`pg_ctlcluster 15 main start`) to run them"
)
# Where scenario tests start: a Monday, mid-month, well inside a year.
T0 = utc(2026, 3, 16, 9, 0, 0)


def pytest_report_header(config: pytest.Config) -> list[str]:
    if PG_URL:
        return [f"cloudbill: database tests run on SQLite and PostgreSQL ({_redact(PG_URL)})"]
    return ["cloudbill: database tests run on SQLite only", "*** " + PG_SKIP_REASON + " ***"]


def pytest_terminal_summary(terminalreporter, exitstatus, config):  # type: ignore[no-untyped-def]
    if not PG_URL:
        terminalreporter.write_line("*** " + PG_SKIP_REASON + " ***", yellow=True, bold=True)


def _redact(url: str) -> str:
    return make_url(normalize_url(url)).render_as_string(hide_password=True)


@pytest.fixture(scope="session", autouse=True)
def _key_files_in_tmp(tmp_path_factory: pytest.TempPathFactory) -> None:
    """PostgreSQL databases keep their sealing key under the user's data directory
    (store/sealing_key.py): the tests' keys go to a temporary one, not the home directory."""
    os.environ["XDG_DATA_HOME"] = str(tmp_path_factory.mktemp("xdg-data"))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file that each test copies (migrating per test would be slow)."""
    path = tmp_path_factory.mktemp("template") / "template.sqlite"
    db = Database(f"sqlite:///{path}")
    migrate(db)
    db.dispose()
    with sqlite3.connect(path) as raw:
        raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


@contextmanager
def empty_postgres_database() -> Iterator[str]:
    """A new, empty PostgreSQL database (dropped afterwards), or the test is skipped (failed
    under CI) when there is no server."""
    if not PG_URL:
        if IN_CI:
            pytest.fail("CI=true but CLOUDBILL_TEST_POSTGRES_URL is not set")
        pytest.skip(PG_SKIP_REASON)
    admin_url = make_url(normalize_url(PG_URL))
    name = f"cloudbill_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        if IN_CI:
            pytest.fail(f"PostgreSQL at {_redact(PG_URL)} is unreachable: {exc}")
        pytest.skip(f"PostgreSQL at {_redact(PG_URL)} is unreachable: {exc}")
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, migrated once, dropped at the end."""
    with empty_postgres_database() as url:
        db = Database(url)
        migrate(db)
        db.dispose()
        yield url


def _truncate_postgres(url: str) -> None:
    engine = create_engine(normalize_url(url))
    with engine.begin() as conn:
        tables = conn.execute(
            text(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                "AND tablename <> 'alembic_version'"
            )
        ).scalars()
        names = ", ".join(f'"{t}"' for t in tables)
        if names:
            # TRUNCATE fires no row triggers, so the append-only guards do not object.
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    if request.param == "sqlite":
        path = tmp_path / "cloudbill.sqlite"
        shutil.copyfile(sqlite_template, path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("postgres_database")
    _truncate_postgres(url)
    return url


@pytest.fixture
def sqlite_url(tmp_path: Path, sqlite_template: Path) -> str:
    path = tmp_path / "cloudbill.sqlite"
    shutil.copyfile(sqlite_template, path)
    return f"sqlite:///{path}"


def make_container(url: str, start: datetime = T0) -> Container:
    """A container on a simulated billing clock at `start`, and a manual wall clock at the
    real time (webhooks and notices time their attempts on it; tests move it when they wait)."""
    container = build(Settings(database_url=url, clock="system", operator_token="test-token"))
    with container.db.write() as conn:
        clock_repo.set_simulated(conn, start)
    container.wall = ManualClock(SystemClock().now())
    return container


@pytest.fixture
def container(database_url: str) -> Iterator[Container]:
    c = make_container(database_url)
    yield c
    c.db.dispose()


@pytest.fixture
def sqlite_container(sqlite_url: str) -> Iterator[Container]:
    c = make_container(sqlite_url)
    yield c
    c.db.dispose()
