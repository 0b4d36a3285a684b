"""Console users and their sessions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class UserKind(StrEnum):
    CUSTOMER = "customer"  # one of a customer's people: sees that customer only
    OPERATOR = "operator"  # the provider's staff: the operator console


class Role(StrEnum):
    ADMIN = "admin"  # sees and changes
    VIEWER = "viewer"  # sees everything, changes nothing


class UserStatus(StrEnum):
    INVITED = "invited"  # no password yet: waits for the invitation to be accepted
    ACTIVE = "active"
    DISABLED = "disabled"


@dataclass(frozen=True, slots=True)
class User:
    id: str
    kind: UserKind
    customer_id: str | None  # None for operator users
    email: str
    name: str
    role: Role
    status: UserStatus
    failed_sign_ins: int
    locked_until: datetime | None
    invite_expires_at: datetime | None
    last_sign_in_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @property
    def can_change(self) -> bool:
        return self.role is Role.ADMIN and self.status is UserStatus.ACTIVE


@dataclass(frozen=True, slots=True)
class NewUser:
    """A user as made, with its invitation token, shown once (None when a password was set at
    creation)."""

    user: User
    invitation: str | None


@dataclass(frozen=True, slots=True)
class Session:
    """A signed-in browser. Only the digest of its cookie value is stored; the CSRF token is
    a second, independent secret the session's forms carry."""

    digest: str
    user: User
    csrf_token: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class SessionPolicy:
    """How long a session lives and when repeated failures lock a user (configurable)."""

    lifetime_s: int  # absolute: signed out after this whatever the activity
    idle_s: int  # signed out after this long without a request
    lockout_failures: int  # failed sign-ins in a row that lock the user
    lockout_s: int  # how long the lock lasts
