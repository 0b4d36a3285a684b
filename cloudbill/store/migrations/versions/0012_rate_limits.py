"""rate limits shared by every API process

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03

Per-customer request budgets and failed-authentication budgets were kept in each process's
memory; they live in the database now (or in Redis, when configured), so every process and a
restart see the same budget.
"""

from alembic import op
import sqlalchemy as sa


revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rate_limit",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("tat_us", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_rate_limit")),
    )


def downgrade() -> None:
    op.drop_table("rate_limit")
