"""settlement holds and voided usage

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02

A customer whose hours cannot be settled is set aside (`settlement_hold`) so that the others
are billed on time; usage an operator found wrong is set aside (`usage_void`, append-only).
"""

from alembic import op
import sqlalchemy as sa
import cloudbill.store.types
from cloudbill.store.append_only import (
    create_append_only_triggers,
    drop_append_only_triggers,
)


revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "settlement_hold",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("customer_id", sa.String(length=32), nullable=False),
        sa.Column("since_hour", cloudbill.store.types.UtcDateTime(), nullable=False),
        sa.Column("since_watermark", sa.BigInteger(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=512), nullable=False),
        sa.Column("held_at", cloudbill.store.types.UtcDateTime(), nullable=False),
        sa.Column("last_tried_at", cloudbill.store.types.UtcDateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("released_at", cloudbill.store.types.UtcDateTime(), nullable=True),
        sa.Column("released_settlement_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customer.id"], name=op.f("fk_settlement_hold_customer_id_customer")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_settlement_hold")),
    )
    op.create_index(
        "uq_settlement_hold_open",
        "settlement_hold",
        ["customer_id"],
        unique=True,
        sqlite_where=sa.text("released_at IS NULL"),
        postgresql_where=sa.text("released_at IS NULL"),
    )
    op.create_table(
        "usage_void",
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("customer_id", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.String(length=512), nullable=False),
        sa.Column("voided_at", cloudbill.store.types.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["seq"], ["usage_record.seq"], name=op.f("fk_usage_void_seq_usage_record")
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_usage_void")),
    )
    create_append_only_triggers(("usage_void",))


def downgrade() -> None:
    drop_append_only_triggers(("usage_void",))
    op.drop_table("usage_void")
    op.drop_index("uq_settlement_hold_open", table_name="settlement_hold")
    op.drop_table("settlement_hold")
