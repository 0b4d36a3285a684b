"""ingest gate as an advisory lock

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22

The ingest gate was a one-row table locked FOR SHARE / FOR UPDATE. A row lock on a missing row
locks nothing (a TRUNCATE or a restore without seed rows silently disabled it), so the gate is
now a PostgreSQL advisory lock (cloudbill/store/gates.py) and the table goes.
"""

from alembic import op
import sqlalchemy as sa


revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_table("ingest_gate")


def downgrade() -> None:
    op.create_table(
        "ingest_gate",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ingest_gate")),
    )
    op.execute("INSERT INTO ingest_gate (id) VALUES (1)")
