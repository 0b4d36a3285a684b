"""Access key data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

# Huawei's IAM allows two access keys per user; cloudbill bounds the *active* ones to the same
# two (a rotation: create the new one, switch clients, disable the old one).
ACTIVE_KEYS_MAX = 2
ACCESS_KEY_ID_CHARS = 20
SECRET_KEY_CHARS = 40


class AccessKeyStatus(StrEnum):
    ACTIVE = "active"
    DISABLED = "disabled"


@dataclass(frozen=True, slots=True)
class AccessKey:
    """One AK/SK pair, without its secret (which only `service.create` and the verifier see)."""

    id: str  # the AK
    customer_id: str
    status: AccessKeyStatus
    description: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class IssuedKey:
    """What `create` answers: the key and its secret, shown this once and never again."""

    key: AccessKey
    secret: str
