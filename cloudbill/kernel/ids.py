"""Identifiers. Customer ids look like Huawei domain ids: 32 lowercase hex characters."""

from __future__ import annotations

import re
import uuid

_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,127}$")


def new_id() -> str:
    return uuid.uuid4().hex


def is_valid_id(value: object) -> bool:
    """Ids from outside: 1-128 characters of letters, digits and `_ . : -`. Anything else (a NUL
    byte, which PostgreSQL refuses in text, a space, a slash) cannot name a record."""
    return isinstance(value, str) and bool(_ID_RE.fullmatch(value))
