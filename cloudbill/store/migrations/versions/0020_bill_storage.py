"""bill storage: a customer's bucket, the versions of bill files pushed, the push jobs

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-08
"""

from alembic import op
import sqlalchemy as sa
import cloudbill.store.types


revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bill_storage",
        sa.Column("customer_id", sa.String(length=32), nullable=False),
        sa.Column("endpoint_url", sa.String(length=512), nullable=False),
        sa.Column("region", sa.String(length=64), nullable=False),
        sa.Column("bucket", sa.String(length=63), nullable=False),
        sa.Column("prefix", sa.String(length=512), nullable=False),
        sa.Column("access_key_id", sa.String(length=128), nullable=False),
        sa.Column("secret_sealed", sa.Text(), nullable=False),
        sa.Column("bills", sa.String(length=64), nullable=False),
        sa.Column("file_format", sa.String(length=16), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("next_day", sa.String(length=10), nullable=True),
        sa.Column("failure_days", sa.Integer(), nullable=False),
        sa.Column("last_failure_on", sa.String(length=10), nullable=True),
        sa.Column("disabled_reason", sa.String(length=512), nullable=True),
        sa.Column("verified_at", cloudbill.store.types.UtcDateTime(), nullable=True),
        sa.Column("created_at", cloudbill.store.types.UtcDateTime(), nullable=False),
        sa.Column("updated_at", cloudbill.store.types.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"]),
        sa.PrimaryKeyConstraint("customer_id"),
    )
    op.create_table(
        "bill_storage_file",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("customer_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("billing_period", sa.String(length=7), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("high_water", sa.BigInteger(), nullable=False),
        sa.Column("rows", sa.BigInteger(), nullable=False),
        sa.Column("parts", sa.Integer(), nullable=False),
        sa.Column("manifest_key", sa.String(length=1024), nullable=False),
        sa.Column("pushed_at", cloudbill.store.types.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("customer_id", "name", "version", name="uq_bill_storage_file_version"),
    )
    op.create_table(
        "bill_storage_push",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("customer_id", sa.String(length=32), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("files_written", sa.Integer(), nullable=False),
        sa.Column("rows", sa.BigInteger(), nullable=False),
        sa.Column("problem", sa.String(length=32), nullable=True),
        sa.Column("error", sa.String(length=512), nullable=True),
        sa.Column("started_at", cloudbill.store.types.UtcDateTime(), nullable=False),
        sa.Column("finished_at", cloudbill.store.types.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_bill_storage_push_customer", "bill_storage_push", ["customer_id", "id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_bill_storage_push_customer", table_name="bill_storage_push")
    op.drop_table("bill_storage_push")
    op.drop_table("bill_storage_file")
    op.drop_table("bill_storage")
