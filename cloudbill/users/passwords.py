"""Password hashing: Argon2id with argon2-cffi's defaults (RFC 9106's second recommended
profile), the encoded hash carrying its own parameters so they can be raised later."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_hasher = PasswordHasher()
# Checked against when the email is unknown, so that the answer takes as long as for a known
# one and does not tell which addresses have users.
_UNKNOWN = _hasher.hash("no user has this password: it only spends the same time")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify(encoded: str | None, password: object) -> bool:
    """Whether `password` is the one hashed in `encoded` (None: no user, checked against a
    dummy so that it takes as long)."""
    if not isinstance(password, str) or len(password) > 1024:
        password = ""
    try:
        return _hasher.verify(encoded or _UNKNOWN, password) and encoded is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(encoded: str | None) -> bool:
    return encoded is not None and _hasher.check_needs_rehash(encoded)
