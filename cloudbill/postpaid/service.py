"""Post-paid bills: the job that issues each month's bill on the billing day and puts
customers with overdue bills into arrears, and the figures the customer and operator see.

Runs after settlement (so the month's last hours are on the bill) and before the arrears
lifecycle (so an overdue bill starts the grace period in the same worker pass). Running it again
changes nothing: a bill is unique per customer and cycle, and the arrears start is written once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select, update

from ..kernel.limits import PAGE_SIZE_MAX
from ..kernel.money import Money
from ..notify.outbox import Event, emit_many
from ..store.schema import customer
from . import repo, rules
from .rules import BillStatus, Cycle


@dataclass(frozen=True, slots=True)
class Terms:
    """When bills are issued and due (settings postpaid_billing_day, postpaid_repayment_days)."""

    billing_day: int
    repayment_days: int


@dataclass(frozen=True, slots=True)
class BillView:
    id: int
    customer_id: str
    currency: str
    period_start: datetime
    period_end: datetime
    issued_at: datetime
    due_at: datetime
    amount_units: int
    outstanding_units: int
    status: BillStatus


@dataclass(frozen=True, slots=True)
class Figures:
    """For the overview: issued and unpaid, and of that what is past its due date."""

    billed_outstanding_units: int = 0
    overdue_units: int = 0


def _cycle_of(instant: datetime, tz: str, terms: Terms) -> Cycle:
    return rules.cycle_containing(
        instant, tz, billing_day=terms.billing_day, repayment_days=terms.repayment_days
    )


def _next(c: Cycle, tz: str, terms: Terms) -> Cycle:
    return rules.next_cycle(
        c, tz, billing_day=terms.billing_day, repayment_days=terms.repayment_days
    )


def _previous(c: Cycle, tz: str, terms: Terms) -> Cycle:
    return rules.previous_cycle(
        c, tz, billing_day=terms.billing_day, repayment_days=terms.repayment_days
    )


def issue_due(conn: Connection, row, terms: Terms, *, now: datetime) -> list[int]:  # type: ignore[no-untyped-def]
    """Issue every bill of this customer whose billing day has come; returns the new bill ids.

    A cycle without charges gets no bill. Cycles are walked from the one after the last bill (or
    from the first charge), jumping over cycles without charges."""
    tz = row.timezone
    last = repo.last_bill(conn, row.id)
    if last is not None:
        current = _next(_cycle_of(last.period_start, tz, terms), tz, terms)
    else:
        starts = [
            t
            for t in (
                repo.next_fee_hour(conn, row.id, None),
                repo.first_charge_at(conn, row.id, None),
            )
            if t is not None
        ]
        if not starts:
            return []
        # A charge belongs to the cycle of its hour or, settled late, to a later one.
        current = _cycle_of(min(starts), tz, terms)
    issued: list[int] = []
    events: list[Event] = []
    while current.issue_at <= now:
        previous_issue = _previous(current, tz, terms).issue_at
        amount = repo.charged_in(conn, row.id, current, previous_issue)
        if amount > 0:
            bill_id = repo.insert_bill(
                conn,
                {
                    "customer_id": row.id,
                    "currency": row.currency,
                    "period_start": current.start,
                    "period_end": current.end,
                    "amount_units": amount,
                    "due_at": current.due_at,
                    "issued_at": current.issue_at,
                },
            )
            issued.append(bill_id)
            events.append(_issued_event(row, bill_id, current, amount))
            current = _next(current, tz, terms)
            continue
        following = _next_with_charges(conn, row.id, current, tz, terms)
        if following is None:
            break
        current = following
    emit_many(conn, events, now=now)
    return issued


def _next_with_charges(conn: Connection, customer_id: str, c: Cycle, tz: str, terms: Terms):  # type: ignore[no-untyped-def]
    """The first cycle after `c` that has something to bill, or None."""
    candidates = []
    hour, other = (
        repo.next_fee_hour(conn, customer_id, c.end),
        repo.next_other_charge(conn, customer_id, c.end),
    )
    for instant in (hour, other):
        if instant is not None:
            candidates.append(_cycle_of(instant, tz, terms))
    late = repo.next_late_settlement(conn, customer_id, c.end, c.issue_at)
    if late is not None:
        # Late fees join the cycle whose bill is being prepared when they are settled.
        holder = _cycle_of(late, tz, terms)
        before = _previous(holder, tz, terms)
        candidates.append(before if late < before.issue_at else holder)
    return min(candidates, key=lambda x: x.start) if candidates else None


def _issued_event(row, bill_id: int, c: Cycle, amount: int) -> Event:  # type: ignore[no-untyped-def]
    return Event(
        "customer.postpaid_bill_issued",
        row.id,
        {
            "customer_id": row.id,
            "bill_id": bill_id,
            "currency": row.currency,
            "amount": Money(amount, row.currency).to_text(),
            "period_start": c.start.isoformat(),
            "period_end": c.end.isoformat(),
            "due_at": c.due_at.isoformat(),
        },
        dedupe_key=f"customer.postpaid_bill_issued:{row.id}:{c.start.isoformat()}",
    )


def views(conn: Connection, customer_id: str, *, now: datetime) -> list[BillView]:
    """Every bill of the customer, oldest first, with what is still outstanding."""
    rows = repo.bills(conn, customer_id)
    left = rules.outstanding([r.amount_units for r in rows], repo.repaid_total(conn, customer_id))
    return [
        BillView(
            r.id,
            r.customer_id,
            r.currency,
            r.period_start,
            r.period_end,
            r.issued_at,
            r.due_at,
            r.amount_units,
            rest,
            rules.status(rest, r.due_at, now),
        )
        for r, rest in zip(rows, left, strict=True)
    ]


def figures(conn: Connection, customer_id: str, *, now: datetime) -> Figures:
    bills = views(conn, customer_id, now=now)
    return Figures(
        billed_outstanding_units=sum(b.outstanding_units for b in bills),
        overdue_units=sum(b.outstanding_units for b in bills if b.status is BillStatus.OVERDUE),
    )


def earliest_overdue(conn: Connection, customer_id: str, *, now: datetime) -> BillView | None:
    for bill in views(conn, customer_id, now=now):
        if bill.status is BillStatus.OVERDUE:
            return bill
    return None


def mark_overdue(conn: Connection, *, now: datetime) -> list[str]:
    """Customers with a bill unpaid after its due date go into arrears, from the due date (the
    lifecycle's deadlines are anchored there, however late this job runs)."""
    started: list[str] = []
    events: list[Event] = []
    for row in repo.overdue_candidates(conn, now):
        customer_id = row.id
        bill = earliest_overdue(conn, customer_id, now=now)
        if bill is None:
            continue
        conn.execute(
            update(customer)
            .where(customer.c.id == customer_id, customer.c.arrears_since.is_(None))
            .values(arrears_since=bill.due_at, updated_at=now)
        )
        started.append(customer_id)
        events.append(
            Event(
                "customer.arrears_started",
                customer_id,
                {
                    "customer_id": customer_id,
                    "currency": row.currency,
                    "reason": "postpaid bill overdue",
                    "bill_id": bill.id,
                    "overdue": Money(bill.outstanding_units, row.currency).to_text(),
                    "since": bill.due_at.isoformat(),
                },
                dedupe_key=f"customer.arrears_started:{customer_id}:bill:{bill.id}",
            )
        )
    emit_many(conn, events, now=now)
    return started


def run_due(conn: Connection, terms: Terms, *, now: datetime) -> tuple[list[int], list[str]]:
    """Issue due bills of every post-paid customer, then mark overdue ones (bounded pages)."""
    issued: list[int] = []
    after = ""
    while True:
        page = conn.execute(
            select(customer)
            .where(customer.c.payment_mode == "postpaid", customer.c.id > after)
            .order_by(customer.c.id)
            .limit(PAGE_SIZE_MAX)
        ).all()
        for row in page:
            issued += issue_due(conn, row, terms, now=now)
        if len(page) < PAGE_SIZE_MAX:
            break
        after = page[-1].id
    return issued, mark_overdue(conn, now=now)
