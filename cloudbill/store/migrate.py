"""Run Alembic migrations from code (the CLI's `migrate`, `serve`, and the tests)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.script.revision import ResolutionError
from alembic.util import CommandError
from sqlalchemy import inspect

from ..kernel.errors import CloudbillError, ErrorCode
from .engine import Database

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(db: Database) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", db.url.replace("%", "%%"))
    config.attributes["engine"] = db.engine
    return config


def pending(db: Database) -> tuple[str | None, str, list[str]]:
    """(the database's revision, the code's head, the revisions an upgrade would apply)."""
    config = alembic_config(db)
    scripts = ScriptDirectory.from_config(config)
    with db.engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    head = scripts.get_current_head()
    assert head is not None
    try:
        todo = [r.revision for r in scripts.iterate_revisions(head, current)]
    except (ResolutionError, CommandError):
        raise CloudbillError(
            ErrorCode.INVALID_STATE,
            f"the database is at revision {current}, which this release does not know "
            "(made by a newer release?)",
        ) from None
    return current, head, list(reversed(todo))


def migrate(db: Database, revision: str = "head") -> None:
    command.upgrade(alembic_config(db), revision)


def is_new_database(db: Database) -> bool:
    """True before the first migration: the moment to seed demo data."""
    return "customer" not in inspect(db.engine).get_table_names()
