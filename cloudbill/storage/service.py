"""Bill storage use cases: set up a customer's bucket, verify it, switch storage on and off.

The bucket is outside: a verification runs outside any database transaction, and switching
storage on records the verification it passed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any, Protocol, TypeVar

from sqlalchemy import Connection

from ..credentials.sealing import SecretBox
from ..customers import service as customers
from ..kernel.errors import CloudbillError, ErrorCode
from ..ledger.rules import payload_hash
from ..notify.outbox import Event, emit_many
from . import bucket, repo, rules
from .model import FileFormat, StorageConfig, Target, VerifyReport

T = TypeVar("T")
DISABLED_TOPIC = "customer.bill_storage_disabled"


class Database(Protocol):
    """What these use cases need of the container: a read and a write transaction."""

    def read(self, work: Callable[[Connection, datetime], T]) -> T: ...
    def write(self, work: Callable[[Connection, datetime], T]) -> T: ...


def get(conn: Connection, customer_id: str) -> StorageConfig:
    customers.get(conn, customer_id)  # CUSTOMER_NOT_FOUND first
    config = repo.get(conn, customer_id)
    if config is None:
        raise CloudbillError(
            ErrorCode.BILL_STORAGE_NOT_SET_UP, "bill storage is not set up for this customer"
        )
    return config


def configure(
    conn: Connection,
    box: SecretBox,
    customer_id: str,
    *,
    endpoint_url: object,
    region: object,
    bucket_name: object,
    prefix: object,
    access_key_id: object,
    secret_access_key: object | None,
    bills: object,
    file_format: object,
    now: datetime,
) -> StorageConfig:
    """Save the bucket settings (all checked first: bad input changes nothing). A missing
    secret keeps the one saved; new bucket settings need a new verification before storage
    is on again, so they switch it off."""
    customers.get(conn, customer_id)
    before = repo.get(conn, customer_id)
    values: dict[str, Any] = {
        "endpoint_url": rules.check_endpoint(endpoint_url),
        "region": rules.check_region(region),
        "bucket": rules.check_bucket(bucket_name),
        "prefix": rules.check_prefix(prefix),
        "access_key_id": rules.check_key_field("access_key_id", access_key_id),
        "bills": ",".join(b.value for b in rules.check_bills(bills)),
        "file_format": rules.check_format(file_format).value,
    }
    if secret_access_key in (None, ""):
        if before is None:
            raise CloudbillError(
                ErrorCode.INVALID_ARGUMENT,
                "secret_access_key is required",
                field="secret_access_key",
            )
        values["secret_sealed"] = before.secret_sealed
    else:
        secret = rules.check_key_field("secret_access_key", secret_access_key)
        values["secret_sealed"] = box.seal(secret)
    where = ("endpoint_url", "region", "bucket", "prefix", "access_key_id")
    moved = before is None or any(getattr(before, k) != values[k] for k in where)
    moved = moved or (before is not None and before.secret_sealed != values["secret_sealed"])
    if before is None:
        values |= {"enabled": False, "failure_days": 0}
    elif moved:
        values |= {"enabled": False, "verified_at": None}
    repo.upsert(conn, customer_id, values, now=now)
    return get(conn, customer_id)


def target_of(config: StorageConfig, box: SecretBox) -> Target:
    return Target(
        endpoint_url=config.endpoint_url,
        region=config.region,
        bucket=config.bucket,
        prefix=config.prefix,
        access_key_id=config.access_key_id,
        secret_access_key=box.open(config.secret_sealed),
    )


def verify(db: Database, box: SecretBox, customer_id: str) -> VerifyReport:
    """Write, read back and delete a test object with the saved settings."""
    config = db.read(lambda conn, _now: get(conn, customer_id))
    return replace(bucket.verify(target_of(config, box)), settings=settings_digest(config))


def settings_digest(config: StorageConfig) -> str:
    """What a verification checked: the bucket's address and key (sealed secret included)."""
    return payload_hash(
        {
            "endpoint_url": config.endpoint_url,
            "region": config.region,
            "bucket": config.bucket,
            "prefix": config.prefix,
            "access_key_id": config.access_key_id,
            "secret": config.secret_sealed,
        }
    )


def unverified(report: VerifyReport) -> CloudbillError:
    """The refusal of switching storage on, naming the step and problem that failed."""
    return CloudbillError(
        ErrorCode.BILL_STORAGE_UNVERIFIED,
        f"the bucket check failed at {report.step}: {report.problem}: {report.message}",
        step=report.step,
        problem=str(report.problem),
    )


def switch_on(conn: Connection, customer_id: str, *, verified: str, now: datetime) -> StorageConfig:
    """Record a verification that passed just now and switch storage on (the caller verified
    outside the transaction: the bucket is no part of it). `verified`: the report's digest of
    the settings it checked; settings changed in between are refused, never switched on
    unchecked."""
    config = get(conn, customer_id)
    if settings_digest(config) != verified:
        raise CloudbillError(
            ErrorCode.INVALID_STATE,
            "the bucket settings changed while they were being verified: verify them again",
        )
    customer = customers.get(conn, customer_id)
    values: dict[str, Any] = {
        "enabled": True,
        "verified_at": now,
        "failure_days": 0,
        "last_failure_on": None,
        "disabled_reason": None,
    }
    if config.next_day is None:
        values["next_day"] = rules.first_day(now, customer.timezone).isoformat()
    repo.upsert(conn, customer_id, values, now=now)
    return get(conn, customer_id)


def enable(db: Database, box: SecretBox, customer_id: str) -> StorageConfig:
    """Switch storage on after a verification passes; refused with what failed otherwise."""
    report = verify(db, box, customer_id)
    if not report.ok:
        raise unverified(report)
    return db.write(
        lambda conn, now: switch_on(conn, customer_id, verified=report.settings, now=now)
    )


def disable(
    conn: Connection, customer_id: str, *, now: datetime, reason: str | None = None
) -> StorageConfig:
    """Switch storage off; the day cursor stays, so switching on again catches up from it."""
    get(conn, customer_id)
    repo.upsert(conn, customer_id, {"enabled": False, "disabled_reason": reason}, now=now)
    if reason is not None:
        event = Event(
            DISABLED_TOPIC,
            customer_id,
            {"customer_id": customer_id, "reason": reason, "at": now.isoformat()},
            dedupe_key=f"{DISABLED_TOPIC}:{customer_id}:{now.isoformat()}",
        )
        emit_many(conn, [event], now=now)
    return get(conn, customer_id)


def card(conn: Connection, customer_id: str) -> tuple[StorageConfig | None, dict[str, Any] | None]:
    """The settings (None: never set up) and the latest push, for the Overview card."""
    config = repo.get(conn, customer_id)
    if config is None:
        return None, None
    latest = repo.pushes(conn, customer_id, limit=1)
    return config, latest[0] if latest else None


def pushes(conn: Connection, customer_id: str, *, limit: int = 50) -> list[dict[str, Any]]:
    get(conn, customer_id)
    return repo.pushes(conn, customer_id, limit=max(1, min(limit, 1000)))


__all__ = [
    "FileFormat",
    "card",
    "configure",
    "disable",
    "enable",
    "get",
    "pushes",
    "switch_on",
    "verify",
]
