"""enterprise: allocations to and recalls from members, members' budgets

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07

In independent accounting a master allocates cash, credit limit and cash coupons to a member
and recalls them; each movement is one row of `enterprise_allocation`, idempotent by its
request key. `enterprise_member_setting` holds the monthly budget a master sets for a member
and the month it last alerted.
"""

from alembic import op
import sqlalchemy as sa
import cloudbill.store.types


revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

UtcDateTime = cloudbill.store.types.UtcDateTime


def upgrade() -> None:
    op.create_table(
        "enterprise_allocation",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("association_id", sa.String(length=32), nullable=False),
        sa.Column("master_id", sa.String(length=32), nullable=False),
        sa.Column("member_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("direction", sa.String(length=16), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount_units", sa.BigInteger(), nullable=False),
        sa.Column("from_coupon_id", sa.String(length=32), nullable=True),
        sa.Column("to_coupon_id", sa.String(length=32), nullable=True),
        sa.Column("ledger_transaction_id", sa.Integer(), nullable=True),
        sa.Column("request_key", sa.String(length=160), nullable=False),
        sa.Column("payload_hash", sa.String(length=64), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["association_id"], ["enterprise_association.id"]),
        sa.ForeignKeyConstraint(["master_id"], ["customer.id"]),
        sa.ForeignKeyConstraint(["member_id"], ["customer.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("request_key"),
    )
    op.create_index("ix_enterprise_allocation_master", "enterprise_allocation", ["master_id", "id"])
    op.create_index("ix_enterprise_allocation_member", "enterprise_allocation", ["member_id", "id"])
    op.create_table(
        "enterprise_member_setting",
        sa.Column("member_id", sa.String(length=32), nullable=False),
        sa.Column("master_id", sa.String(length=32), nullable=False),
        sa.Column("budget_units", sa.BigInteger(), nullable=True),
        sa.Column("budget_alerted_month", sa.String(length=7), nullable=True),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["customer.id"]),
        sa.ForeignKeyConstraint(["master_id"], ["customer.id"]),
        sa.PrimaryKeyConstraint("member_id"),
    )
    op.create_index(
        "ix_enterprise_member_setting_master", "enterprise_member_setting", ["master_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_enterprise_member_setting_master", table_name="enterprise_member_setting")
    op.drop_table("enterprise_member_setting")
    op.drop_index("ix_enterprise_allocation_member", table_name="enterprise_allocation")
    op.drop_index("ix_enterprise_allocation_master", table_name="enterprise_allocation")
    op.drop_table("enterprise_allocation")
