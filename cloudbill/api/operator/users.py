"""Operator routes: console users — a customer's people (admins and viewers) and the operator
users of the operator console. A user made without a password is invited: the answer carries
the invitation token and the console path that accepts it, this once."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from pydantic import Field

from ...bootstrap import Container
from ...kernel.limits import EMAIL_MAX_CHARS, NAME_MAX_CHARS, PASSWORD_MAX_CHARS
from ...users import service
from ...users.model import UserKind
from ...users.views import new_user_view, user_view
from ..deps import container, require_operator
from .schemas import _Body

router = APIRouter(tags=["console users"], dependencies=[Depends(require_operator)])
ACTOR = "operator"  # the token names no person
ROOTS = {UserKind.CUSTOMER: "/console", UserKind.OPERATOR: "/operator/console"}


class UserCreate(_Body):
    email: str = Field(max_length=EMAIL_MAX_CHARS)
    name: str | None = Field(None, max_length=NAME_MAX_CHARS)
    role: str = Field("admin", examples=["admin", "viewer"])
    password: str | None = Field(
        None,
        max_length=PASSWORD_MAX_CHARS,
        description="at least 10 characters; without it the user is invited",
    )


class UserUpdate(_Body):
    role: str | None = Field(None, examples=["admin", "viewer"])
    enabled: bool | None = None


class PasswordSet(_Body):
    password: str = Field(max_length=PASSWORD_MAX_CHARS)


def _create(c: Container, kind: UserKind, customer_id: str | None, body: UserCreate) -> Any:
    wall = c.wall.now()
    made = c.write(
        lambda conn, _now: service.create(
            conn,
            kind=kind,
            customer_id=customer_id,
            email=body.email,
            name=body.name,
            role=body.role,
            password=body.password,
            actor=ACTOR,
            now=wall,
        )
    )
    return new_user_view(made, ROOTS[kind])


@router.get("/customers/{customer_id}/users")
def customer_users(customer_id: str, c: Container = Depends(container)) -> dict[str, Any]:
    found = c.read(lambda conn, _now: service.list_users(conn, UserKind.CUSTOMER, customer_id))
    return {"items": [user_view(u) for u in found]}


@router.post("/customers/{customer_id}/users", status_code=201)
def add_customer_user(
    customer_id: str, body: UserCreate, c: Container = Depends(container)
) -> dict[str, Any]:
    return _create(c, UserKind.CUSTOMER, customer_id, body)


@router.get("/operator-users")
def operator_users(c: Container = Depends(container)) -> dict[str, Any]:
    found = c.read(lambda conn, _now: service.list_users(conn, UserKind.OPERATOR))
    return {"items": [user_view(u) for u in found]}


@router.post("/operator-users", status_code=201)
def add_operator_user(body: UserCreate, c: Container = Depends(container)) -> dict[str, Any]:
    return _create(c, UserKind.OPERATOR, None, body)


def _change(c: Container, user_id: str, change: Any) -> dict[str, Any]:
    wall = c.wall.now()

    def work(conn, _now):  # type: ignore[no-untyped-def]
        user = service.find(conn, user_id)
        return change(conn, user, wall)

    return c.write(work)


@router.patch("/users/{user_id}")
def update_user(user_id: str, body: UserUpdate, c: Container = Depends(container)) -> Any:
    """Change the role, or disable (its sessions end) and enable again."""
    return _change(
        c,
        user_id,
        lambda conn, user, wall: user_view(
            service.update(conn, user, role=body.role, enabled=body.enabled, actor=ACTOR, now=wall)
        ),
    )


@router.post("/users/{user_id}/password")
def set_password(user_id: str, body: PasswordSet, c: Container = Depends(container)) -> Any:
    """A new password: the user's sessions end and a lock is lifted."""
    return _change(
        c,
        user_id,
        lambda conn, user, wall: user_view(
            service.set_password(conn, user, body.password, actor=ACTOR, now=wall)
        ),
    )


@router.delete("/users/{user_id}")
def delete_user(user_id: str, c: Container = Depends(container)) -> Any:
    def delete(conn, user, wall):  # type: ignore[no-untyped-def]
        service.delete(conn, user, actor=ACTOR, now=wall)
        return {**user_view(user), "deleted": True}

    return _change(c, user_id, delete)
