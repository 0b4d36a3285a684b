"""Finding an association for a caller and locking its two customers: what the association
use cases (service.py) and the movements (allocation.py) share."""

from __future__ import annotations

from sqlalchemy import Connection

from ..customers import service as customers
from ..customers.model import Customer
from ..kernel.errors import CloudbillError, ErrorCode
from ..kernel.ids import is_valid_id
from . import repo
from .model import Association


def get(conn: Connection, association_id: str, *, party: str | None = None) -> Association:
    """The association; with `party`, only if that customer is its master or member (another
    customer's association answers as unknown, never as forbidden)."""
    found = repo.get(conn, association_id) if is_valid_id(association_id) else None
    if found is None or (party is not None and party not in (found.master_id, found.member_id)):
        raise CloudbillError(
            ErrorCode.ENTERPRISE_ASSOCIATION_NOT_FOUND,
            f"no association {association_id!r}",
            association_id=association_id,
        )
    return found


def lock_pair(conn: Connection, first_id: str, second_id: str) -> tuple[Customer, Customer]:
    """Both customers row-locked, always in id order so that two requests never deadlock."""
    locked = {cid: customers.get(conn, cid, lock=True) for cid in sorted({first_id, second_id})}
    return locked[first_id], locked[second_id]
