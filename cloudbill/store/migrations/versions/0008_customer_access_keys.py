"""customer access keys

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22

Customer access keys (AK/SK) for the BSS API: the AK, its customer, the sealed SK and its status.
"""

from alembic import op
import sqlalchemy as sa
import cloudbill.store.types


revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "access_key",
        sa.Column("id", sa.String(length=20), nullable=False),
        sa.Column("customer_id", sa.String(length=32), nullable=False),
        sa.Column("secret_sealed", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("description", sa.String(length=255), nullable=True),
        sa.Column("created_at", cloudbill.store.types.UtcDateTime(), nullable=False),
        sa.Column("updated_at", cloudbill.store.types.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customer.id"], name=op.f("fk_access_key_customer_id_customer")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_key")),
    )
    with op.batch_alter_table("access_key", schema=None) as batch_op:
        batch_op.create_index("ix_access_key_customer", ["customer_id", "created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("access_key", schema=None) as batch_op:
        batch_op.drop_index("ix_access_key_customer")
    op.drop_table("access_key")
