"""`column` among many values in one statement, whatever their number.

An IN list binds one parameter per value: SQLite allows a few hundred to a few thousand, and
SQLAlchemy compiles an expanded statement for every length, which costs more than the query
when a settlement looks up ten thousand customers a thousand at a time. Here the values travel
as one parameter and the database joins against them: PostgreSQL's `= ANY(array)` (an index
scan per value) and SQLite's `IN (SELECT value FROM json_each(?))` (an ephemeral index of
the values). The statement compiles once and is cached like any other.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, Integer, String, any_, bindparam, func, select
from sqlalchemy.dialects.postgresql import ARRAY


def among(conn: Connection, column: Any, values: Iterable[Any]):  # type: ignore[no-untyped-def]
    """A clause: `column` is one of `values` (strings or integers, as the column holds)."""
    found = sorted(set(values))
    integers = isinstance(column.type, Integer)
    if conn.dialect.name == "postgresql":
        kind = ARRAY(Integer if integers else String)
        return column == any_(bindparam(None, found, type_=kind))
    listed = func.json_each(bindparam(None, json.dumps(found), type_=String))
    return column.in_(select(listed.table_valued("value").c.value))
