"""invoices: invoice information, invoices and credit memos, their items, documents, series

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07

Invoices cover paid orders and billed months (or top-ups), one tax rate each; issued documents
are numbered gaplessly per series and never change (append-only).
"""

from alembic import op
import sqlalchemy as sa
import cloudbill.store.types
from cloudbill.store.append_only import create_append_only_triggers, drop_append_only_triggers


revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

APPEND_ONLY = ("invoice_item", "invoice_document")  # frozen here: see 0001
UtcDateTime = cloudbill.store.types.UtcDateTime


def upgrade() -> None:
    op.create_table(
        "invoice_profile",
        sa.Column("customer_id", sa.String(length=32), nullable=False),
        sa.Column("title_type", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("tax_id", sa.String(length=64), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("address", sa.String(length=512), nullable=True),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"]),
        sa.PrimaryKeyConstraint("customer_id"),
    )
    op.create_table(
        "invoice",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("customer_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("tax_rate", sa.String(length=16), nullable=False),
        sa.Column("amount_units", sa.BigInteger(), nullable=False),
        sa.Column("reference", sa.String(length=200), nullable=True),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=512), nullable=True),
        sa.Column("corrects_id", sa.String(length=32), nullable=True),
        sa.Column("series", sa.String(length=16), nullable=True),
        sa.Column("number", sa.Integer(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.Column("issued_at", UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("customer_id", "reference"),
        sa.UniqueConstraint("series", "number", name="uq_invoice_series_number"),
    )
    op.create_index("ix_invoice_customer_created", "invoice", ["customer_id", "created_at"])
    op.create_index("ix_invoice_status", "invoice", ["status", "created_at"])
    op.create_table(
        "invoice_item",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("invoice_id", sa.String(length=32), nullable=False),
        sa.Column("customer_id", sa.String(length=32), nullable=False),
        sa.Column("source_kind", sa.String(length=16), nullable=False),
        sa.Column("source_id", sa.String(length=64), nullable=False),
        sa.Column("tax_rate", sa.String(length=16), nullable=False),
        sa.Column("amount_units", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoice.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_invoice_item_invoice_id", "invoice_item", ["invoice_id"])
    op.create_index("ix_invoice_item_customer_id", "invoice_item", ["customer_id"])
    op.create_table(
        "invoice_document",
        sa.Column("invoice_id", sa.String(length=32), nullable=False),
        sa.Column("series", sa.String(length=16), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("issued_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoice.id"]),
        sa.PrimaryKeyConstraint("invoice_id"),
        sa.UniqueConstraint("series", "number", name="uq_invoice_document_series_number"),
    )
    op.create_table(
        "invoice_series",
        sa.Column("series", sa.String(length=16), nullable=False),
        sa.Column("next_number", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("series"),
    )
    create_append_only_triggers(APPEND_ONLY)


def downgrade() -> None:
    drop_append_only_triggers(APPEND_ONLY)
    op.drop_table("invoice_series")
    op.drop_table("invoice_document")
    op.drop_index("ix_invoice_item_customer_id", table_name="invoice_item")
    op.drop_index("ix_invoice_item_invoice_id", table_name="invoice_item")
    op.drop_table("invoice_item")
    op.drop_index("ix_invoice_status", table_name="invoice")
    op.drop_index("ix_invoice_customer_created", table_name="invoice")
    op.drop_table("invoice")
    op.drop_table("invoice_profile")
