"""Column types that keep time in UTC, decimals exact and balances unbounded on every database."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, DateTime, Numeric, String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeDecorator


class UtcDateTime(TypeDecorator[datetime]):
    """Stored as naive UTC on every database; returned timezone-aware."""

    impl = DateTime(timezone=False)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):  # SQLite raw text (e.g. from a view)
            value = datetime.fromisoformat(value)
        return value.replace(tzinfo=UTC)


class DecimalText(TypeDecorator[Decimal]):
    """An exact decimal kept as text (never SQLite NUMERIC/REAL, which round through float)."""

    impl = String(64)
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect: Any) -> str | None:
        if value is None:
            return None
        if not isinstance(value, Decimal):
            raise TypeError("DecimalText takes Decimal")
        return format(value, "f")

    def process_result_value(self, value: str | None, dialect: Any) -> Decimal | None:
        return None if value is None else Decimal(value)


# -- balances past int64 ----------------------------------------------------------------------
# A balance may pass 2**63 units of 10**-8 (92 billion VND). PostgreSQL keeps it as NUMERIC(38):
# exact, summed and compared natively. SQLite's integers stop at 64 bits (a larger one turns
# into a lossy REAL), so there it is text whose order is the number's order: "b:" (so SQLite
# never reads it as a number) then the value plus 10**30 in 31 digits. `balance > 0` and the
# like still work in SQL; arithmetic is done in Python.
_SQLITE_OFFSET = 10**30
_SQLITE_DIGITS = 31
_SQLITE_PREFIX = "b:"


def encode_book_units(value: int) -> str:
    shifted = value + _SQLITE_OFFSET
    if not 0 <= shifted < 10**_SQLITE_DIGITS:
        raise ValueError("balance outside the books' range")
    return f"{_SQLITE_PREFIX}{shifted:0{_SQLITE_DIGITS}d}"


def decode_book_units(value: Any) -> int:
    if isinstance(value, str) and value.startswith(_SQLITE_PREFIX):
        return int(value[len(_SQLITE_PREFIX) :]) - _SQLITE_OFFSET
    return int(value)  # an int, a PostgreSQL Decimal, a number as text


class BookUnits(TypeDecorator[int]):
    """An account balance in units of 10**-8, up to 10**30 either way (kernel/limits.py)."""

    impl = BigInteger  # the declared type on SQLite (see above); NUMERIC(38) on PostgreSQL
    cache_ok = True

    def load_dialect_impl(self, dialect: Any) -> Any:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(Numeric(38, 0))
        return dialect.type_descriptor(BigInteger())

    def process_bind_param(self, value: int | None, dialect: Any) -> Any:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return encode_book_units(int(value))
        return int(value)

    def process_result_value(self, value: Any, dialect: Any) -> int | None:
        return None if value is None else decode_book_units(value)


class ExactSum:
    """SQLite aggregate `cb_exact_sum`: the exact sum of 64-bit integers (SQLite's own `sum`
    fails on an intermediate overflow), answered in BookUnits' text."""

    def __init__(self) -> None:
        self.total = 0

    def step(self, value: Any) -> None:
        if value is not None:
            self.total += decode_book_units(value)

    def finalize(self) -> str:
        return encode_book_units(self.total)


class exact_sum(FunctionElement[int]):  # lower case: an SQL function, named as one
    """`exact_sum(column)`: a sum that cannot overflow, read back as an int (PostgreSQL's
    `sum` of integers is already exact NUMERIC; SQLite's goes through `cb_exact_sum`)."""

    type = BookUnits()
    inherit_cache = True


@compiles(exact_sum)
def _exact_sum_default(element: exact_sum, compiler: Any, **kw: Any) -> str:
    return f"sum({compiler.process(element.clauses, **kw)})"


@compiles(exact_sum, "sqlite")
def _exact_sum_sqlite(element: exact_sum, compiler: Any, **kw: Any) -> str:
    return f"cb_exact_sum({compiler.process(element.clauses, **kw)})"
