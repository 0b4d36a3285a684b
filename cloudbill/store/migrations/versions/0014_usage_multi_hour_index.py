"""index of multi-hour usage records

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03

Ingestion refuses more than an hour of running time in an hour, summed over the records of a
resource and usage type; the records that reach into an hour from days before are found through
this partial index of the few records spanning several hours.
"""

from alembic import op
import sqlalchemy as sa


revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_usage_record_multi_hour",
        "usage_record",
        ["resource_id", "start_at"],
        unique=False,
        sqlite_where=sa.text("first_hour <> last_hour"),
        postgresql_where=sa.text("first_hour <> last_hour"),
    )


def downgrade() -> None:
    op.drop_index("ix_usage_record_multi_hour", table_name="usage_record")
