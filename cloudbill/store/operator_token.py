"""The operator API token, kept only as its SHA-256 digest: the database file alone does not
let anyone in. A new token is shown once, when it is made (first start, or `cloudbill token
rotate`); every API process checks the stored digest, so a rotation takes effect at once.

SHA-256 rather than a password hash: the token is 32 random bytes, not a guessable secret, and
every operator request checks it."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

from sqlalchemy import Connection, delete, insert, select, update

from .schema import app_setting

DIGEST_KEY = "operator_token_sha256"
LEGACY_KEY = "operator_token"  # the plaintext earlier releases kept (upgraded at start)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def stored_digest(conn: Connection) -> str | None:
    return conn.execute(select(app_setting.c.value).where(app_setting.c.key == DIGEST_KEY)).scalar()


def matches(presented: str, expected_digest: str) -> bool:
    return hmac.compare_digest(digest(presented), expected_digest)


def ensure(conn: Connection, *, now: datetime) -> str | None:
    """Make sure a digest is stored: the plaintext of an earlier release becomes its digest
    (the token keeps working); a new database gets a new token, returned to be shown once."""
    if stored_digest(conn) is not None:
        return None
    legacy = conn.execute(
        select(app_setting.c.value).where(app_setting.c.key == LEGACY_KEY)
    ).scalar()
    token = legacy or secrets.token_urlsafe(32)
    conn.execute(insert(app_setting).values(key=DIGEST_KEY, value=digest(token), updated_at=now))
    conn.execute(delete(app_setting).where(app_setting.c.key == LEGACY_KEY))
    return None if legacy else token


def rotate(conn: Connection, *, now: datetime) -> str:
    """A new token replaces the old one, which stops working at once; returned to be shown."""
    ensure(conn, now=now)
    token = secrets.token_urlsafe(32)
    conn.execute(
        update(app_setting)
        .where(app_setting.c.key == DIGEST_KEY)
        .values(value=digest(token), updated_at=now)
    )
    return token
