"""Work a use case leaves to the last moment of its transaction, just before COMMIT.

A row every transaction touches (a provider's ledger account) is locked from its UPDATE until
the commit: done last, it is held for one statement instead of the whole use case, and the
transactions that share it queue for that much less. Only transactions `Database.write` opened
have hooks; elsewhere `state` answers None and the caller does the work at once. Inside a
savepoint (`begin_nested`) neither is offered: what a savepoint did may be rolled back while
the transaction commits, so its work is done at once, inside it, and nothing is remembered
for after the commit."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection

Hook = Callable[[Connection, dict[Any, Any]], None]
_pending: dict[Connection, dict[str, tuple[Hook, dict[Any, Any]]]] = {}
# What to do once the database has confirmed the commit (and never if it did not).
_after: dict[Connection, list[Callable[[], None]]] = {}


def opened(conn: Connection) -> None:
    _pending[conn] = {}
    _after[conn] = []


def after_commit(conn: Connection, action: Callable[[], None]) -> bool:
    """Do `action` once this transaction has committed; False (nothing will be done) outside a
    transaction Database.write opened, or inside a savepoint (which may yet be rolled back
    while the transaction commits)."""
    actions = _after.get(conn)
    if actions is None or conn.in_nested_transaction():
        return False
    actions.append(action)
    return True


def committed(conn: Connection) -> None:
    """The database confirmed the commit: the actions asked for run now."""
    for action in _after.pop(conn, ()):
        action()


def state(conn: Connection, name: str, hook: Hook) -> dict[Any, Any] | None:
    """The state of hook `name` in this transaction, made on first use (`hook(conn, state)`
    runs before the commit); None outside a transaction Database.write opened, and inside a
    savepoint (the caller's work then goes into the savepoint, undone with it)."""
    hooks = _pending.get(conn)
    if hooks is None or conn.in_nested_transaction():
        return None
    if name not in hooks:
        hooks[name] = (hook, {})
    return hooks[name][1]


def run(conn: Connection) -> None:
    """Run the hooks, in the order they were first asked for (the transaction goes on: a
    failing hook rolls it back)."""
    for hook, data in _pending.get(conn, {}).values():
        hook(conn, data)
    _pending[conn] = {}


def abandoned(conn: Connection) -> None:
    _pending.pop(conn, None)
    _after.pop(conn, None)
