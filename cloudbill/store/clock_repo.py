"""The clock shared by the server, the CLI and the workers, kept in the database.

In `simulated` mode the instant is stored and moves only by `cloudbill clock advance`, so every
process sees the same time and months can be replayed in seconds.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Connection, insert, select, update

from ..kernel.clock import SystemClock, ensure_utc
from ..kernel.errors import CloudbillError, ErrorCode
from ..kernel.limits import CLOCK_ADVANCE_MAX_DAYS
from .engine import Database
from .schema import clock_state, customer

SYSTEM = "system"
SIMULATED = "simulated"


def _row(conn: Connection):  # type: ignore[no-untyped-def]
    return conn.execute(select(clock_state).where(clock_state.c.id == 1)).first()


def ensure_clock(conn: Connection, mode: str, *, start: datetime | None = None) -> None:
    """Create the clock row on a new database."""
    if _row(conn) is not None:
        return
    real_now = SystemClock().now()
    conn.execute(
        insert(clock_state).values(
            id=1,
            mode=mode,
            simulated_now=ensure_utc(start) if start else (real_now if mode == SIMULATED else None),
            updated_at=real_now,
        )
    )


def read_clock(conn: Connection) -> tuple[str, datetime]:
    row = _row(conn)
    if row is None or row.mode == SYSTEM:
        return SYSTEM, SystemClock().now()
    return SIMULATED, row.simulated_now


def _billing_started(conn: Connection) -> bool:
    """Whether anything was billed at a time of this clock yet (a customer exists). Before
    that, the clock may be set anywhere (tests and demos start in the past)."""
    return conn.execute(select(customer.c.id).limit(1)).first() is not None


def set_simulated(conn: Connection, instant: datetime | None) -> datetime:
    """Switch to simulated time at `instant` (default: now). Billing time never moves
    backwards, from either mode: once anything was billed, `instant` may not be earlier than
    the clock's present reading (the system time, when it follows the system clock)."""
    _mode, current = read_clock(conn)
    target = ensure_utc(instant) if instant else current
    if target < current and _billing_started(conn):
        raise CloudbillError(
            ErrorCode.INVALID_ARGUMENT,
            f"the clock cannot move backwards: it reads {current.isoformat()}",
        )
    _write(conn, SIMULATED, target)
    return target


def set_system(conn: Connection) -> None:
    """Follow the system clock again, unless the simulated clock is ahead of it: billing time
    would then move backwards (keep simulating, or wait until the system time has caught up)."""
    mode, current = read_clock(conn)
    real_now = SystemClock().now()
    if mode == SIMULATED and current > real_now and _billing_started(conn):
        raise CloudbillError(
            ErrorCode.INVALID_ARGUMENT,
            f"the simulated clock reads {current.isoformat()}, ahead of the system clock: "
            "following it now would move billing time backwards",
        )
    _write(conn, SYSTEM, None)


def advance(conn: Connection, delta: timedelta) -> datetime:
    mode, current = read_clock(conn)
    if mode != SIMULATED:
        raise CloudbillError(
            ErrorCode.CLOCK_NOT_SIMULATED,
            "the clock follows system time: run `cloudbill clock simulate` first",
        )
    if delta <= timedelta(0) or delta > timedelta(days=CLOCK_ADVANCE_MAX_DAYS):
        raise CloudbillError(
            ErrorCode.INVALID_ARGUMENT,
            f"advance by more than zero and at most {CLOCK_ADVANCE_MAX_DAYS} days",
        )
    target = current + delta
    _write(conn, SIMULATED, target)
    return target


def _write(conn: Connection, mode: str, instant: datetime | None) -> None:
    values = {"mode": mode, "simulated_now": instant, "updated_at": SystemClock().now()}
    if _row(conn) is None:
        conn.execute(insert(clock_state).values(id=1, **values))
    else:
        conn.execute(update(clock_state).where(clock_state.c.id == 1).values(**values))


class DatabaseClock:
    """A `Clock` that reads the shared clock row on every call."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def now(self) -> datetime:
        with self._db.read() as conn:
            return read_clock(conn)[1]
