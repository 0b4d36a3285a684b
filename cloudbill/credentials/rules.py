"""Pure rules for access keys: their shape, and how many may be active."""

from __future__ import annotations

import re
import secrets
import string

from ..kernel.errors import CloudbillError, ErrorCode
from .model import ACCESS_KEY_ID_CHARS, ACTIVE_KEYS_MAX, SECRET_KEY_CHARS

DESCRIPTION_MAX_CHARS = 255
_AK_ALPHABET = string.ascii_uppercase + string.digits
_SK_ALPHABET = string.ascii_letters + string.digits
_AK_RE = re.compile(rf"^[A-Z0-9]{{{ACCESS_KEY_ID_CHARS}}}$")


def new_access_key_id() -> str:
    """Huawei-style AK: 20 upper-case letters and digits."""
    return "".join(secrets.choice(_AK_ALPHABET) for _ in range(ACCESS_KEY_ID_CHARS))


def new_secret() -> str:
    """40 letters and digits: ~238 bits, from the OS's cryptographic source."""
    return "".join(secrets.choice(_SK_ALPHABET) for _ in range(SECRET_KEY_CHARS))


def is_access_key_id(value: object) -> bool:
    return isinstance(value, str) and bool(_AK_RE.fullmatch(value))


def check_description(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > DESCRIPTION_MAX_CHARS or "\x00" in value:
        raise CloudbillError(
            ErrorCode.INVALID_ARGUMENT,
            f"description must be text of at most {DESCRIPTION_MAX_CHARS} characters",
        )
    return value.strip() or None


def check_room_for_active(active_count: int) -> None:
    if active_count >= ACTIVE_KEYS_MAX:
        raise CloudbillError(
            ErrorCode.ACCESS_KEY_LIMIT_REACHED,
            f"a customer has at most {ACTIVE_KEYS_MAX} active access keys: "
            "disable or delete one first",
            active=active_count,
        )
