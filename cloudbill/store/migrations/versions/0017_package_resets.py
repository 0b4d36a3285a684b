"""package reset kinds

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07

A resource package's monthly reset flag becomes a reset kind: none, daily at a local hour,
monthly on the purchase day, monthly on the calendar (Huawei's two monthly modes, and a daily
reset). A package that reset monthly reset on the calendar month, so it keeps that kind.
"""

from alembic import op
import sqlalchemy as sa


revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("resource_package") as batch:
        batch.add_column(
            sa.Column("reset_kind", sa.String(length=24), nullable=False, server_default="none")
        )
        batch.add_column(sa.Column("reset_hour", sa.Integer(), nullable=True))
    op.execute("UPDATE resource_package SET reset_kind = 'monthly_calendar' WHERE resets_monthly")
    with op.batch_alter_table("resource_package") as batch:
        batch.alter_column("reset_kind", server_default=None)
        batch.drop_column("resets_monthly")


def downgrade() -> None:
    with op.batch_alter_table("resource_package") as batch:
        batch.add_column(
            sa.Column("resets_monthly", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    # Only the calendar kind was there before: other resets cannot be kept and become none.
    op.execute("UPDATE resource_package SET resets_monthly = (reset_kind = 'monthly_calendar')")
    with op.batch_alter_table("resource_package") as batch:
        batch.alter_column("resets_monthly", server_default=None)
        batch.drop_column("reset_hour")
        batch.drop_column("reset_kind")
