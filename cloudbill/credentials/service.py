"""Access key use cases, each inside one transaction handed in by the caller.

The customer row is locked before the active keys are counted, so two concurrent creations
(or enables) cannot both see one active key and end with three.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

from ..customers import service as customers
from ..customers.rules import check_not_frozen
from ..kernel.errors import CloudbillError, ErrorCode
from . import repo, rules
from .model import AccessKey, AccessKeyStatus, IssuedKey
from .sealing import SecretBox


def _not_found(key_id: object) -> CloudbillError:
    return CloudbillError(
        ErrorCode.ACCESS_KEY_NOT_FOUND, f"no access key {key_id!r}", access_key=str(key_id)[:64]
    )


def get(conn: Connection, key_id: str, *, customer_id: str | None = None) -> AccessKey:
    """A key by its AK; with `customer_id`, another customer's key is not found either."""
    found = repo.get(conn, key_id) if rules.is_access_key_id(key_id) else None
    if found is None or (customer_id is not None and found[0].customer_id != customer_id):
        raise _not_found(key_id)
    return found[0]


def create(
    conn: Connection,
    customer_id: str,
    *,
    box: SecretBox,
    now: datetime,
    description: str | None = None,
) -> IssuedKey:
    customer = customers.get(conn, customer_id, lock=True)
    check_not_frozen(customer)  # a frozen customer may not arm new automation
    text = rules.check_description(description)
    rules.check_room_for_active(repo.count_active(conn, customer.id))
    secret = rules.new_secret()
    key = AccessKey(
        id=rules.new_access_key_id(),
        customer_id=customer.id,
        status=AccessKeyStatus.ACTIVE,
        description=text,
        created_at=now,
        updated_at=now,
    )
    repo.insert_key(conn, key, box.seal(secret))
    return IssuedKey(key=key, secret=secret)


def list_keys(conn: Connection, customer_id: str) -> list[AccessKey]:
    return repo.list_for(conn, customers.get(conn, customer_id).id)


def set_enabled(
    conn: Connection,
    key_id: str,
    enabled: bool,
    *,
    now: datetime,
    customer_id: str | None = None,
) -> AccessKey:
    """Enable or disable a key; doing it twice changes nothing the second time."""
    key = get(conn, key_id, customer_id=customer_id)
    customer = customers.get(conn, key.customer_id, lock=True)
    if enabled:  # disabling (like deleting) stays possible: it only takes power away
        check_not_frozen(customer)
    target = AccessKeyStatus.ACTIVE if enabled else AccessKeyStatus.DISABLED
    if key.status == target:
        return key
    if enabled:
        rules.check_room_for_active(repo.count_active(conn, key.customer_id))
    repo.set_status(conn, key.id, target, now)
    return get(conn, key.id)


def delete(conn: Connection, key_id: str, *, customer_id: str | None = None) -> AccessKey:
    key = get(conn, key_id, customer_id=customer_id)
    repo.delete_key(conn, key.id)
    return key


def resolve(conn: Connection, key_id: str, box: SecretBox) -> tuple[AccessKey, str] | None:
    """The key and its plain secret, for the signature verifier; None for an unknown AK."""
    found = repo.get(conn, key_id) if rules.is_access_key_id(key_id) else None
    if found is None:
        return None
    key, sealed = found
    return key, box.open(sealed)
