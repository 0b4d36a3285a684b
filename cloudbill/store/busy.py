"""Which database failures mean "busy or out of reach, ask again shortly" rather than a fault.

A client is answered 503 with `Retry-After` for these (never 500): SQLite's writer lock held past
the busy timeout, PostgreSQL's lock and statement timeouts, a serialization failure or deadlock
that survived the retries, no free connection in the pool, a server that is not accepting
connections. Anything else is a fault of cloudbill's and stays a 500 with its traceback logged.
"""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from ..kernel.errors import CloudbillError, ErrorCode

RETRY_AFTER_S = 1

# PostgreSQL SQLSTATEs of a database that is busy, not of a wrong statement.
BUSY_SQLSTATES = {
    "40001",  # serialization_failure
    "40P01",  # deadlock_detected
    "55P03",  # lock_not_available (lock_timeout, NOWAIT)
    "57014",  # query_canceled (statement_timeout)
    "53300",  # too_many_connections
    "57P03",  # cannot_connect_now (starting up, shutting down)
}
SQLITE_BUSY = ("database is locked", "database table is locked", "database is busy")


def _sqlstate(exc: DBAPIError) -> str | None:
    orig = exc.orig
    return getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)


def busy_error(exc: BaseException) -> CloudbillError | None:
    """The 503 answer for a busy or unreachable database; None for any other failure."""
    if isinstance(exc, PoolTimeout):
        return _busy("every database connection of this process is in use")
    if not isinstance(exc, DBAPIError):
        return None
    if exc.connection_invalidated:
        return CloudbillError(
            ErrorCode.DATABASE_UNAVAILABLE,
            "the database connection was lost; try again shortly",
            retry_after_s=RETRY_AFTER_S,
        )
    message = str(exc.orig).lower()
    if _sqlstate(exc) in BUSY_SQLSTATES or any(sign in message for sign in SQLITE_BUSY):
        return _busy(str(exc.orig).splitlines()[0] if str(exc.orig) else "locked")
    if (
        _sqlstate(exc) is None
        and "connection" in message
        and exc.__class__.__name__ == ("OperationalError")
    ):
        return CloudbillError(
            ErrorCode.DATABASE_UNAVAILABLE,
            "the database cannot be reached; try again shortly",
            retry_after_s=RETRY_AFTER_S,
        )
    return None


def _busy(why: str) -> CloudbillError:
    return CloudbillError(
        ErrorCode.DATABASE_BUSY,
        f"the database is busy ({why}); try again shortly",
        retry_after_s=RETRY_AFTER_S,
    )
