"""Users as the APIs and the CLI show them (never a hash or a token)."""

from __future__ import annotations

from typing import Any

from ..views import instant
from .model import NewUser, User


def user_view(u: User) -> dict[str, Any]:
    return {
        "id": u.id,
        "kind": str(u.kind),
        "customer_id": u.customer_id,
        "email": u.email,
        "name": u.name,
        "role": str(u.role),
        "status": str(u.status),
        "locked_until": instant(u.locked_until),
        "invite_expires_at": instant(u.invite_expires_at),
        "last_sign_in_at": instant(u.last_sign_in_at),
        "created_at": instant(u.created_at),
    }


def new_user_view(made: NewUser, console_root: str) -> dict[str, Any]:
    """With the invitation token and the console path that accepts it, shown this once."""
    view = user_view(made.user)
    if made.invitation:
        view["invitation_token"] = made.invitation
        view["invitation_path"] = f"{console_root}/invitation?token={made.invitation}"
    return view
