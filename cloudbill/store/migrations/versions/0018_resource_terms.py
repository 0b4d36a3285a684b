"""resource terms: billing mode and spec in force over time; order lines settled by unsubscriptions

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07

Usage is metered by the terms in force during its interval, not at its arrival: the history
of a resource's billing mode and spec (written from its first change on), the instant of the
last change on the resource, and the spec a usage record is rated at.
"""

from alembic import op
import sqlalchemy as sa
import cloudbill.store.types
from cloudbill.store.append_only import create_append_only_triggers, drop_append_only_triggers


revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

APPEND_ONLY = ("resource_terms",)  # frozen here: see 0001


def upgrade() -> None:
    op.create_table(
        "resource_terms",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("resource_id", sa.String(length=128), nullable=False),
        sa.Column("since", cloudbill.store.types.UtcDateTime(), nullable=False),
        sa.Column("billing_mode", sa.String(length=16), nullable=False),
        sa.Column("spec", sa.String(length=128), nullable=False),
        sa.ForeignKeyConstraint(["resource_id"], ["resource.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_resource_terms_resource", "resource_terms", ["resource_id", "since"], unique=False
    )
    create_append_only_triggers(APPEND_ONLY)
    op.add_column(
        "resource", sa.Column("terms_since", cloudbill.store.types.UtcDateTime(), nullable=True)
    )
    op.add_column("usage_record", sa.Column("spec", sa.String(length=128), nullable=True))
    op.add_column("order_line", sa.Column("settled_by", sa.String(length=32), nullable=True))


def downgrade() -> None:
    # Plain ALTER TABLE (SQLite >= 3.35 has DROP COLUMN): a batch copy of usage_record would
    # lose its append-only triggers.
    op.execute("ALTER TABLE order_line DROP COLUMN settled_by")
    op.execute("ALTER TABLE usage_record DROP COLUMN spec")
    op.execute("ALTER TABLE resource DROP COLUMN terms_since")
    drop_append_only_triggers(APPEND_ONLY)
    op.drop_index("ix_resource_terms_resource", table_name="resource_terms")
    op.drop_table("resource_terms")
