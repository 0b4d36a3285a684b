"""The migrations create exactly the tables schema.py declares, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from cloudbill.store.engine import Database
from cloudbill.store.schema import metadata


def test_migrations_match_the_schema(database_url: str) -> None:
    db = Database(database_url)
    with db.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
    db.dispose()
