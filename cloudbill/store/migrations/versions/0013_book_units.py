"""balances past 64 bits

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03

An account balance was a 64-bit count of 10**-8 currency units: the books of a provider billing
in VND, KRW or IDR overflowed at about 92 billion units. PostgreSQL keeps balances as
NUMERIC(38) now; SQLite, whose integers stop at 64 bits, as order-preserving text (see
store/types.py BookUnits). Every balance is the same number afterwards.
"""

from alembic import op
import sqlalchemy as sa


revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

OFFSET = 10**30  # as store/types.py encodes them (copied: a migration must not change)


def _encode(value: int) -> str:
    return f"b:{value + OFFSET:031d}"


def _decode(value: object) -> int:
    if isinstance(value, str) and value.startswith("b:"):
        return int(value[2:]) - OFFSET
    return int(value)  # type: ignore[call-overload]


def _recode(convert) -> None:  # type: ignore[no-untyped-def]
    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT id, balance_units FROM ledger_account")).all()
    for account_id, balance in rows:
        conn.execute(
            sa.text("UPDATE ledger_account SET balance_units = :b WHERE id = :id"),
            {"b": convert(balance), "id": account_id},
        )


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column(
            "ledger_account", "balance_units", type_=sa.Numeric(38, 0),
            existing_type=sa.BigInteger(), existing_nullable=False,
            postgresql_using="balance_units::numeric(38, 0)",
        )  # fmt: skip
    else:
        _recode(lambda value: _encode(_decode(value)))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column(
            "ledger_account", "balance_units", type_=sa.BigInteger(),
            existing_type=sa.Numeric(38, 0), existing_nullable=False,
            postgresql_using="balance_units::bigint",
        )  # fmt: skip
    else:
        _recode(_decode)
