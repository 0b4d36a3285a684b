"""The only wiring: settings -> database -> clock -> the container every interface uses."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError, OperationalError

from .catalog import loader as catalog_loader
from .catalog import service as catalog_service
from .config import Settings
from .customers import service as customers_service
from .enterprise import allocation as enterprise_allocation
from .invoices import pdf as invoice_pdf
from .invoices import service as invoices_service
from .invoices.model import Terms as InvoiceTerms
from .kernel.clock import Clock, SystemClock
from .kernel.errors import CloudbillError, ErrorCode
from .ledger import service as ledger_service
from .lifecycle import service as lifecycle_service
from .notify import alerts
from .notify.notices import attachments as notice_attachments
from .notify.notices.rules import INVOICE_ISSUED
from .observe import logs
from .resources import service as resources_service
from .store import clock_repo, operator_token, sealing_key
from .store.engine import Database
from .store.migrate import migrate
from .subscriptions import service as subscriptions_service

T = TypeVar("T")
log = logs.get("cloudbill.store")

# A write that loses a race on a unique key (two requests with one idempotency key) is retried:
# the retry then finds the winner's row and answers as a replay.
WRITE_RETRIES = 3


def _unique_violation(exc: IntegrityError) -> bool:
    """A unique or primary key taken by a concurrent writer (PostgreSQL's SQLSTATE 23505,
    SQLite's "UNIQUE constraint failed")."""
    if getattr(exc.orig, "sqlstate", None) == "23505":
        return True
    return "UNIQUE constraint failed" in str(exc.orig)


@dataclass
class Container:
    settings: Settings
    db: Database
    clock: clock_repo.DatabaseClock  # billing time: simulated in demos and scenario tests
    # The outside world's time, whatever the billing clock says: webhook signatures and
    # delivery timestamps, retry back-off of webhooks and notices.
    wall: Clock = field(default_factory=SystemClock)

    def now(self) -> datetime:
        return self.clock.now()

    def write(self, work: Callable[[Connection, datetime], T]) -> T:
        """Run one use case in one write transaction, with the current time."""
        for attempt in range(WRITE_RETRIES):
            try:
                with self.db.write() as conn:
                    now = clock_repo.read_clock(conn)[1]
                    return work(conn, now)
            except IntegrityError as exc:
                if not _unique_violation(exc):
                    raise  # a broken reference or check: a fault, not a race to retry
                log.warning("write lost a race on a unique key; trying again",
                            attempt=attempt + 1, detail=str(exc.orig).splitlines()[0])  # fmt: skip
                if attempt == WRITE_RETRIES - 1:
                    raise CloudbillError(
                        ErrorCode.ALREADY_EXISTS, "a concurrent request wrote the same record"
                    ) from None
            except OperationalError as exc:
                if "deadlock" not in str(exc).lower() or attempt == WRITE_RETRIES - 1:
                    raise
                log.warning("write deadlocked; trying again", attempt=attempt + 1)
        raise AssertionError("unreachable")

    def read(self, work: Callable[[Connection, datetime], T]) -> T:
        with self.db.read() as conn:
            now = clock_repo.read_clock(conn)[1]
            return work(conn, now)

    # A token made by this process's start (a new database): shown once, then only its digest
    # is anywhere (store/operator_token.py).
    new_operator_token: str | None = None

    def operator_token_ok(self, presented: str) -> bool:
        """Whether `presented` is the operator token: the configured one, or the one whose
        digest is stored (read each time, so `cloudbill token rotate` holds at once)."""
        if self.settings.operator_token:
            return secrets.compare_digest(presented.encode(), self.settings.operator_token.encode())
        with self.db.read() as conn:
            expected = operator_token.stored_digest(conn)
        if expected is None:
            raise CloudbillError(ErrorCode.INVALID_STATE, "run `cloudbill migrate` first")
        return operator_token.matches(presented, expected)

    # The sealing key as this process's start found or made it (None: read when first needed).
    sealing_key: str | None = field(default=None, repr=False)  # never in a log or traceback

    def secret_key(self) -> str:
        """The key that seals customers' secret access keys (see credentials/sealing.py); kept
        outside the database (store/sealing_key.py)."""
        if self.sealing_key is None:
            src = sealing_key.source(
                self.settings.database_url, self.settings.secret_key, self.settings.secret_key_file
            )
            with self.db.read() as conn:
                self.sealing_key = sealing_key.load(conn, src)
        return self.sealing_key


@dataclass(frozen=True, slots=True)
class Prepared:
    new_operator_token: str | None  # made by this call, to be shown once
    sealing_key: str | None  # None: this database's key is not where this process looks


def prepare(db: Database, settings: Settings) -> Prepared:
    """Migrate, and on a new database create the clock, the operator token, the sealing key
    (in its file) and the catalog; an upgraded database's secrets move out of it."""
    migrate(db)
    src = sealing_key.source(settings.database_url, settings.secret_key, settings.secret_key_file)
    with db.write() as conn:
        clock_repo.ensure_clock(conn, settings.clock)
        new_token = operator_token.ensure(conn, now=SystemClock().now())
        key = sealing_key.ensure(conn, src, now=SystemClock().now())
        if not catalog_service.has_catalog(conn):
            document = catalog_loader.read_file(catalog_loader.DEFAULT_CATALOG_PATH)
            now = clock_repo.read_clock(conn)[1]
            catalog_service.load(
                conn, document, source=str(catalog_loader.DEFAULT_CATALOG_PATH), now=now
            )
    return Prepared(new_token, key)


def wire() -> None:
    """Connect the stages that react to each other (idempotent)."""
    customers_service.on_arrears_cleared(lifecycle_service.on_arrears_cleared)
    resources_service.on_yearly_monthly_registered(subscriptions_service.start_registered)
    ledger_service.on_posted(alerts.check)


def build(settings: Settings | None = None, *, prepare_db: bool = True) -> Container:
    wire()
    settings = settings or Settings()
    db = Database(settings.database_url, busy_timeout_s=settings.database_busy_timeout_s)
    prepared = prepare(db, settings) if prepare_db else Prepared(None, None)
    container = Container(settings=settings, db=db, clock=clock_repo.DatabaseClock(db))
    container.new_operator_token = None if settings.operator_token else prepared.new_operator_token
    container.sealing_key = prepared.sealing_key
    invoice_terms = InvoiceTerms.from_settings(settings)
    notice_attachments.register(
        INVOICE_ISSUED,
        lambda conn, data: invoice_pdf.attachments(
            conn, data, settings.invoice_template, settings.invoice_font
        ),
    )
    customers_service.set_allocation_hold(enterprise_allocation.allocated_cash_held)
    customers_service.set_withdrawal_hold(
        lambda conn, customer, now: invoices_service.held_units(
            conn, customer, invoice_terms, now=now
        )
    )
    return container
