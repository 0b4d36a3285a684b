"""console users, sessions and forms applied once

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07

The web console's people: customers' users and operator users (Argon2id password hashes,
invitations kept as digests, lockout), their sessions (cookie digests, CSRF tokens, expiry)
and the forms they applied (a double submit applies once).
"""

from alembic import op
import sqlalchemy as sa
import cloudbill.store.types


revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "console_user",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("customer_id", sa.String(length=32), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=True),
        sa.Column("invite_digest", sa.String(length=64), nullable=True),
        sa.Column("invite_expires_at", cloudbill.store.types.UtcDateTime(), nullable=True),
        sa.Column("failed_sign_ins", sa.Integer(), nullable=False),
        sa.Column("locked_until", cloudbill.store.types.UtcDateTime(), nullable=True),
        sa.Column("last_sign_in_at", cloudbill.store.types.UtcDateTime(), nullable=True),
        sa.Column("created_at", cloudbill.store.types.UtcDateTime(), nullable=False),
        sa.Column("updated_at", cloudbill.store.types.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customer.id"], name=op.f("fk_console_user_customer_id_customer")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_console_user")),
        sa.UniqueConstraint("invite_digest", name=op.f("uq_console_user_invite_digest")),
        sa.UniqueConstraint("kind", "email", name="uq_console_user_kind_email"),
    )
    op.create_index("ix_console_user_customer", "console_user", ["customer_id", "created_at"])
    op.create_table(
        "console_session",
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", cloudbill.store.types.UtcDateTime(), nullable=False),
        sa.Column("last_seen_at", cloudbill.store.types.UtcDateTime(), nullable=False),
        sa.Column("expires_at", cloudbill.store.types.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["console_user.id"], name=op.f("fk_console_session_user_id_console_user")
        ),
        sa.PrimaryKeyConstraint("digest", name=op.f("pk_console_session")),
    )
    op.create_index("ix_console_session_user", "console_session", ["user_id"])
    op.create_index("ix_console_session_expires", "console_session", ["expires_at"])
    op.create_table(
        "console_form",
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("form_key", sa.String(length=64), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column("created_at", cloudbill.store.types.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["console_user.id"], name=op.f("fk_console_form_user_id_console_user")
        ),
        sa.PrimaryKeyConstraint("user_id", "form_key", name=op.f("pk_console_form")),
    )
    op.create_index("ix_console_form_created", "console_form", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_console_form_created", table_name="console_form")
    op.drop_table("console_form")
    op.drop_index("ix_console_session_expires", table_name="console_session")
    op.drop_index("ix_console_session_user", table_name="console_session")
    op.drop_table("console_session")
    op.drop_index("ix_console_user_customer", table_name="console_user")
    op.drop_table("console_user")
