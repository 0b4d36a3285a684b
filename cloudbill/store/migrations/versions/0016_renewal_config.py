"""renewal configuration: the auto-renewal deduction day, and when auto-renew was switched on

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07

A customer's auto-renewal deduction day (BSS SetResourcesRenewConfig DEDUCTION_DATE, 2 to 7
days before expiry), and the instant auto-renew was last switched on for a subscription (the
first charge of one switched on inside the charging window waits for the next 03:00).
"""

from alembic import op
import sqlalchemy as sa
import cloudbill.store.types


revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "renewal_config",
        sa.Column("customer_id", sa.String(length=32), nullable=False),
        sa.Column("deduction_days_before", sa.Integer(), nullable=True),
        sa.Column("unified_expiry_day", sa.Integer(), nullable=True),
        sa.Column("updated_at", cloudbill.store.types.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"]),
        sa.PrimaryKeyConstraint("customer_id"),
    )
    with op.batch_alter_table("subscription") as batch:
        batch.add_column(
            sa.Column("auto_renew_enabled_at", cloudbill.store.types.UtcDateTime(), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("subscription") as batch:
        batch.drop_column("auto_renew_enabled_at")
    op.drop_table("renewal_config")
