"""How a CLI command reaches the billing center: the same database the server uses."""

from __future__ import annotations

from functools import cache
from typing import Annotated

import typer

from ..bootstrap import Container, build
from ..config import Settings


@cache
def container() -> Container:
    """Built on first use; migrates a new database so every command works on a fresh machine."""
    return build(Settings())


def customer_ref(value: str | None) -> str | None:
    """A customer given by id or by name, as its id (unknown: unchanged, so the command says
    CUSTOMER_NOT_FOUND)."""
    if value is None:
        return None
    from ..customers import service as customers
    from ..kernel.errors import CloudbillError

    try:
        return container().read(lambda conn, _now: customers.resolve(conn, value))
    except CloudbillError:
        return value  # the command itself meets the same error and says it in one line


CustomerArg = Annotated[
    str, typer.Argument(help="the customer: its id or its name", callback=customer_ref)
]
