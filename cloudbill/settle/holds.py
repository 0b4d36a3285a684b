"""Customers set aside by settlement: one customer's bad data or missing price must never stop
billing for the others. A held customer is left out of every run until its backlog (what was
not billed since the hold began) can be priced; each run tries that again, and the run that
succeeds settles the held hours once, with the rest. The operator sees the hold (CLI, operator
API, metric, the `settlement.customer_held` event) and mends its cause: the catalog, or the
usage (`cloudbill usage void` sets a wrong record of a held customer aside)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, func, insert, select, update

from ..kernel.errors import CloudbillError, ErrorCode
from ..kernel.limits import DESCRIPTION_MAX_CHARS
from ..notify.outbox import Event, emit_many
from ..store.schema import settlement_hold, usage_record, usage_void
from .shards import wait_for_settlements

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


@dataclass(frozen=True)
class Failure:
    """Why a customer's settlement could not be computed."""

    code: str
    reason: str


def describe(exc: BaseException) -> Failure:
    """A stable code and a readable reason for what stopped a customer's settlement."""
    if isinstance(exc, CloudbillError):
        return Failure(str(exc.code), _printable(exc.message))
    if isinstance(exc, (OverflowError, ArithmeticError)):
        return Failure(
            str(ErrorCode.AMOUNT_OUT_OF_RANGE),
            _printable(f"usage or amounts too large to bill: {exc}"),
        )
    return Failure(str(ErrorCode.INVALID_STATE), _printable(f"{type(exc).__name__}: {exc}"))


def _printable(text: str) -> str:
    """A reason fit to store (PostgreSQL refuses NUL) and to show, whatever the data held."""
    return _CONTROL.sub("?", text)[:DESCRIPTION_MAX_CHARS]


def open_holds(conn: Connection) -> dict[str, object]:
    rows = conn.execute(
        select(settlement_hold).where(settlement_hold.c.released_at.is_(None))
    ).all()
    return {r.customer_id: r for r in rows}


def open_count(conn: Connection) -> int:
    return conn.execute(
        select(func.count())
        .select_from(settlement_hold)
        .where(settlement_hold.c.released_at.is_(None))
    ).scalar_one()


def hold(
    conn: Connection,
    failures: dict[str, Failure],
    *,
    hour: datetime,
    watermark: int,
    now: datetime,
) -> None:
    """Open a hold for each newly failed customer: nothing billed since `hour` (and nothing
    past `watermark`, the previous run's) is theirs until it is released."""
    if not failures:
        return
    conn.execute(
        insert(settlement_hold),
        [
            {
                "customer_id": cid,
                "since_hour": hour,
                "since_watermark": watermark,
                "code": f.code,
                "reason": f.reason,
                "held_at": now,
                "last_tried_at": now,
                "attempts": 1,
            }
            for cid, f in sorted(failures.items())
        ],
    )
    emit_many(
        conn,
        [
            Event(
                "settlement.customer_held",
                cid,
                {
                    "customer_id": cid,
                    "since_hour": hour.isoformat(),
                    "code": f.code,
                    "reason": f.reason,
                },
                dedupe_key=f"settlement.customer_held:{cid}:{hour.isoformat()}",
            )
            for cid, f in sorted(failures.items())
        ],
        now=now,
    )


def still_failing(
    conn: Connection, holds: dict[str, object], failures: dict[str, Failure], *, now: datetime
) -> None:
    for cid, failure in sorted(failures.items()):
        row = holds[cid]
        conn.execute(
            update(settlement_hold)
            .where(settlement_hold.c.id == row.id)
            .values(
                code=failure.code,
                reason=failure.reason,
                last_tried_at=now,
                attempts=settlement_hold.c.attempts + 1,
            )
        )


def release(conn: Connection, holds: list[object], *, settlement_id: int, now: datetime) -> None:
    for row in holds:
        conn.execute(
            update(settlement_hold)
            .where(settlement_hold.c.id == row.id)
            .values(released_at=now, released_settlement_id=settlement_id, last_tried_at=now)
        )
    emit_many(
        conn,
        [
            Event(
                "settlement.customer_released",
                row.customer_id,
                {
                    "customer_id": row.customer_id,
                    "since_hour": row.since_hour.isoformat(),
                    "settlement_id": settlement_id,
                },
                dedupe_key=f"settlement.customer_released:{row.id}",
            )
            for row in holds
        ],
        now=now,
    )


def list_holds(conn: Connection, *, include_released: bool, limit: int, offset: int):  # type: ignore[no-untyped-def]
    query = select(settlement_hold)
    if not include_released:
        query = query.where(settlement_hold.c.released_at.is_(None))
    total = conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    rows = conn.execute(
        query.order_by(settlement_hold.c.id.desc()).limit(limit).offset(offset)
    ).all()
    return total, rows


def void_usage(conn: Connection, record_id: str, *, reason: str, now: datetime):  # type: ignore[no-untyped-def]
    """Set a usage record aside for good. Only a record of a held customer that nothing was
    billed from: its customer's hold began before any of its pieces could be settled."""
    reason = reason.strip() if isinstance(reason, str) else ""
    if not reason or _CONTROL.search(reason) or _CONTROL.search(record_id):
        raise CloudbillError(
            ErrorCode.INVALID_ARGUMENT, "a reason is required, and text holds no control characters"
        )
    # Wait for settlements in progress: one may be billing this very record from the backlog,
    # and a void committed beside it would leave the record half billed.
    wait_for_settlements(conn)
    record = conn.execute(select(usage_record).where(usage_record.c.record_id == record_id)).first()
    if record is None:
        raise CloudbillError(ErrorCode.NOT_FOUND, f"no usage record {record_id!r}")
    held = open_holds(conn).get(record.customer_id)
    if held is None:
        raise CloudbillError(
            ErrorCode.INVALID_STATE,
            f"usage record {record_id} belongs to {record.customer_id}, whose settlement is "
            "not held: billed usage is corrected with an adjustment, never removed",
        )
    billed = record.seq <= held.since_watermark and record.first_hour < held.since_hour
    if billed:
        raise CloudbillError(
            ErrorCode.INVALID_STATE,
            f"usage record {record_id} was billed (in part) before the hold began: "
            "correct it with an adjustment",
        )
    already = conn.execute(select(usage_void).where(usage_void.c.seq == record.seq)).first()
    if already is not None:
        return record, already, False
    values = {
        "seq": record.seq,
        "customer_id": record.customer_id,
        "reason": reason[:DESCRIPTION_MAX_CHARS],
        "voided_at": now,
    }
    conn.execute(insert(usage_void).values(**values))
    voided = conn.execute(select(usage_void).where(usage_void.c.seq == record.seq)).one()
    return record, voided, True
