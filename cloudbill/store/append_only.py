"""Database triggers that make the journal append-only on both SQLite and PostgreSQL.

The application never updates or deletes these rows; the triggers make that a property of the
database too, so a stray script or manual SQL cannot rewrite history.
"""

from __future__ import annotations

from alembic import op

PG_FUNCTION = """
CREATE OR REPLACE FUNCTION cloudbill_append_only() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'table % is append-only: % refused', TG_TABLE_NAME, TG_OP;
END
$$ LANGUAGE plpgsql
"""


def create_append_only_triggers(tables: tuple[str, ...]) -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute(PG_FUNCTION)
    for table in tables:
        if dialect == "postgresql":
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION cloudbill_append_only()"
            )
        else:
            for verb in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, 'table {table} is append-only: {verb} refused');"
                    " END"
                )


def drop_append_only_triggers(tables: tuple[str, ...], *, drop_function: bool = False) -> None:
    """Drop the triggers of `tables`; the shared PostgreSQL function only with the last of them
    (the first migration's downgrade), since other tables' triggers call it."""
    dialect = op.get_bind().dialect.name
    for table in tables:
        if dialect == "postgresql":
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        else:
            for verb in ("update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{verb}")
    if dialect == "postgresql" and drop_function:
        op.execute("DROP FUNCTION IF EXISTS cloudbill_append_only()")
