"""settlement sharded by customer: a shard number on each run, and a lease per shard

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07

Each hour is settled once per shard (customers are spread over shards by a hash of their id),
so an hour has one `settlement_run` row per shard: the unique key becomes (shard, hour_start).
Existing runs are shard 0 of a one-shard layout. `settlement_lease` holds one row per shard of
the layout: which worker settles it now and until when its lease runs.

SQLite cannot drop a unique constraint: the table is rebuilt by hand (see _rebuild_sqlite) and
its append-only triggers are made again.
"""

from alembic import op
import sqlalchemy as sa
import cloudbill.store.types

from cloudbill.store.append_only import create_append_only_triggers, drop_append_only_triggers

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

UtcDateTime = cloudbill.store.types.UtcDateTime
RUN = ("settlement_run",)
COLUMNS = (
    "id, hour_start, watermark_seq, records, late_records, fees, customers, started_at, finished_at"
)

SQLITE_RUN = """
CREATE TABLE settlement_run (
	id INTEGER NOT NULL,
	hour_start DATETIME NOT NULL,
	watermark_seq BIGINT NOT NULL,
	records INTEGER NOT NULL,
	late_records INTEGER NOT NULL,
	fees INTEGER NOT NULL,
	customers INTEGER NOT NULL,
	started_at DATETIME NOT NULL,
	finished_at DATETIME NOT NULL,
	shard INTEGER DEFAULT '0' NOT NULL,
	CONSTRAINT pk_settlement_run PRIMARY KEY (id),
	CONSTRAINT uq_settlement_run_shard UNIQUE (shard, hour_start)
)
"""

SQLITE_RUN_OLD = SQLITE_RUN.replace("\tshard INTEGER DEFAULT '0' NOT NULL,\n", "").replace(
    "uq_settlement_run_shard UNIQUE (shard, hour_start)",
    "uq_settlement_run_hour_start UNIQUE (hour_start)",
)


def _rebuild_sqlite(create: str, columns: str) -> None:
    # Foreign keys are on and cannot be switched off inside the migration's transaction, and
    # renaming a parent table would rewrite its children's references: so the rows are kept
    # aside, the table dropped with the children's checks deferred, made again under its own
    # name, and refilled, which gives every fee_record and package_usage its parent back.
    drop_append_only_triggers(RUN)
    op.execute(f"CREATE TABLE settlement_run_copy AS SELECT {columns} FROM settlement_run")
    op.execute("PRAGMA defer_foreign_keys = ON")
    op.execute("DROP TABLE settlement_run")
    op.execute(create)
    op.execute(f"INSERT INTO settlement_run ({columns}) SELECT {columns} FROM settlement_run_copy")
    op.execute("DROP TABLE settlement_run_copy")
    create_append_only_triggers(RUN)


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_sqlite(SQLITE_RUN, COLUMNS)
    else:
        op.add_column(
            "settlement_run",
            sa.Column("shard", sa.Integer(), server_default="0", nullable=False),
        )
        op.drop_constraint("uq_settlement_run_hour_start", "settlement_run", type_="unique")
        op.create_unique_constraint(
            "uq_settlement_run_shard", "settlement_run", ["shard", "hour_start"]
        )
    op.create_table(
        "settlement_lease",
        sa.Column("shard", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("holder", sa.String(length=128), nullable=True),
        sa.Column("holder_key", sa.BigInteger(), nullable=True),
        sa.Column("expires_at", UtcDateTime(), nullable=True),
        sa.Column("renewed_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("shard", name=op.f("pk_settlement_lease")),
    )


def downgrade() -> None:
    op.drop_table("settlement_lease")
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_sqlite(SQLITE_RUN_OLD, COLUMNS)
    else:
        op.drop_constraint("uq_settlement_run_shard", "settlement_run", type_="unique")
        op.create_unique_constraint(
            "uq_settlement_run_hour_start", "settlement_run", ["hour_start"]
        )
        op.drop_column("settlement_run", "shard")
