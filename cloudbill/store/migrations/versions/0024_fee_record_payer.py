"""fee records: who paid them (an enterprise master in unified accounting)

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-07

A unified member's fees and orders are paid from its master's books; the record keeps the
member as the consumer and names the master as the payer. Null: the consumer paid itself (every
record before this revision), so nothing is backfilled.
"""

from alembic import op
import sqlalchemy as sa


revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

PAYER = "payer_id IS NOT NULL"


def upgrade() -> None:
    op.add_column("fee_record", sa.Column("payer_id", sa.String(length=32), nullable=True))
    op.create_index(
        "ix_fee_record_payer_hour",
        "fee_record",
        ["payer_id", "hour_start"],
        sqlite_where=sa.text(PAYER),
        postgresql_where=sa.text(PAYER),
    )


def downgrade() -> None:
    op.drop_index("ix_fee_record_payer_hour", table_name="fee_record")
    op.drop_column("fee_record", "payer_id")
