"""How a CLI command reaches the billing center: the same database the server uses."""

from __future__ import annotations

from functools import cache

from ..bootstrap import Container, build
from ..config import Settings


@cache
def container() -> Container:
    """Built on first use; migrates a new database so every command works on a fresh machine."""
    return build(Settings())
