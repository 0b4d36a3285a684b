"""Pure rules of console users: what an email, a password and a name may be, and when
failures lock a user."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta

from ..kernel.errors import CloudbillError, ErrorCode
from ..kernel.limits import (
    EMAIL_MAX_CHARS,
    NAME_MAX_CHARS,
    PASSWORD_MAX_CHARS,
    PASSWORD_MIN_CHARS,
)
from .model import Role, SessionPolicy, User, UserStatus

# Local part @ a domain with a dot; no spaces or control characters. Deliverability is the
# mail server's business: this only keeps out what cannot be an address.
_EMAIL_RE = re.compile(r"^[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+\.[^@\s\x00-\x1f\x7f]+$")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
INVITATION_DAYS = 7


def _bad(field: str, message: str) -> CloudbillError:
    return CloudbillError(ErrorCode.INVALID_ARGUMENT, message, field=field)


def check_email(value: object) -> str:
    """The address, trimmed and lower-cased: one user per address and kind."""
    if not isinstance(value, str) or not value.strip():
        raise _bad("email", "an email address is required")
    email = value.strip().lower()
    if len(email) > EMAIL_MAX_CHARS or not _EMAIL_RE.fullmatch(email):
        raise _bad("email", f"not an email address: {value[:EMAIL_MAX_CHARS]!r}")
    return email


def check_name(value: object, email: str) -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        return email.split("@", 1)[0]
    if not isinstance(value, str) or len(value.strip()) > NAME_MAX_CHARS:
        raise _bad("name", f"a name has 1-{NAME_MAX_CHARS} characters")
    if _CONTROL_RE.search(value):
        raise _bad("name", "a name has no control characters")
    return value.strip()


def check_password(value: object) -> str:
    """Length is what makes a password strong (NIST SP 800-63B): at least PASSWORD_MIN_CHARS,
    no composition rules; the upper bound keeps hashing cheap for the server."""
    if not isinstance(value, str) or len(value) < PASSWORD_MIN_CHARS:
        raise _bad("password", f"a password has at least {PASSWORD_MIN_CHARS} characters")
    if len(value) > PASSWORD_MAX_CHARS:
        raise _bad("password", f"a password has at most {PASSWORD_MAX_CHARS} characters")
    if "\x00" in value:
        raise _bad("password", "a password has no NUL character")
    return value


def check_role(value: object) -> Role:
    try:
        return Role(str(value))
    except ValueError:
        raise _bad("role", "role is admin or viewer") from None


def digest(token: str) -> str:
    """What is stored of a secret token (a session cookie, an invitation): its SHA-256, enough
    for a random 256-bit token (no salt or slow hash needed: it cannot be guessed)."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


def invitation_expiry(now: datetime) -> datetime:
    return now + timedelta(days=INVITATION_DAYS)


def locked(user: User, now: datetime) -> bool:
    return user.locked_until is not None and user.locked_until > now


def after_failure(user: User, policy: SessionPolicy, now: datetime) -> tuple[int, datetime | None]:
    """(failures in a row, locked until) after one more failed sign-in: the lock starts when
    the count reaches the policy's bound, and the count starts again after it."""
    failures = user.failed_sign_ins + 1
    if failures >= policy.lockout_failures:
        return 0, now + timedelta(seconds=policy.lockout_s)
    return failures, user.locked_until


def session_expiry(created_at: datetime, last_seen_at: datetime, policy: SessionPolicy) -> datetime:
    """When a session ends: the sooner of its absolute lifetime and its idle timeout."""
    return min(
        created_at + timedelta(seconds=policy.lifetime_s),
        last_seen_at + timedelta(seconds=policy.idle_s),
    )


def may_sign_in(user: User) -> bool:
    return user.status is UserStatus.ACTIVE
