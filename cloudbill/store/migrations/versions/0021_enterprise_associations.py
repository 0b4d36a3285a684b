"""enterprise: master/member associations with their accounting mode

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07

An association ties a member account to a master account, in unified accounting (the master
pays the member's fees) or independent accounting (the member pays itself; the master may
allocate money to it). A member has at most one live (invited or active) association; ended
associations stay, so what an hour was billed under can always be looked up.
"""

from alembic import op
import sqlalchemy as sa
import cloudbill.store.types


revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

UtcDateTime = cloudbill.store.types.UtcDateTime
LIVE = "status IN ('invited', 'active')"


def upgrade() -> None:
    op.create_table(
        "enterprise_association",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("master_id", sa.String(length=32), nullable=False),
        sa.Column("member_id", sa.String(length=32), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("invited_by", sa.String(length=16), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("accepted_at", UtcDateTime(), nullable=True),
        sa.Column("ended_at", UtcDateTime(), nullable=True),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["master_id"], ["customer.id"]),
        sa.ForeignKeyConstraint(["member_id"], ["customer.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_enterprise_association_master", "enterprise_association", ["master_id", "status"]
    )
    op.create_index(
        "ix_enterprise_association_member", "enterprise_association", ["member_id", "created_at"]
    )
    op.create_index(
        "uq_enterprise_association_live_member",
        "enterprise_association",
        ["member_id"],
        unique=True,
        sqlite_where=sa.text(LIVE),
        postgresql_where=sa.text(LIVE),
    )


def downgrade() -> None:
    op.drop_index("uq_enterprise_association_live_member", table_name="enterprise_association")
    op.drop_index("ix_enterprise_association_member", table_name="enterprise_association")
    op.drop_index("ix_enterprise_association_master", table_name="enterprise_association")
    op.drop_table("enterprise_association")
