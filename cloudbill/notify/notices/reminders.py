"""Deadline reminders: "grace ends in N days" for resources in grace, "release in N days" for
frozen ones, on the configured cadence. The deadline is where the lifecycle will act: the state
began at `status_since`, and lasts the grace or retention days of the resource's service and
its customer's level. One notice per customer and deadline lists its resources; its key holds
the deadline and N, so each reminder goes out once, and a new arrears episode (a new
`status_since`) starts the cadence afresh."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import Connection, select

from ...config import Settings
from ...kernel.limits import PAGE_SIZE_MAX
from ...lifecycle.policy import periods_for
from ...lifecycle.service import policy_rows
from ...store.schema import customer, resource
from . import contexts
from .rules import GRACE_REMINDER, RELEASE_REMINDER, days_left, due_reminder, parse_days
from .store import Draft, add, rows_by_id

GRACE, FROZEN = "grace", "frozen"


def _page(conn: Connection, after: str):  # type: ignore[no-untyped-def]
    """Pay-per-use resources on the way to a lifecycle deadline (what `lifecycle.decide` moves:
    those of customers still in arrears)."""
    r = resource.c
    return conn.execute(
        select(r.id, r.name, r.service, r.status, r.status_since, r.customer_id, customer.c.level)
        .join(customer, customer.c.id == r.customer_id)
        .where(
            r.billing_mode == "pay_per_use",
            r.status.in_([GRACE, FROZEN]),
            customer.c.arrears_since.is_not(None),
            r.id > after,
        )
        .order_by(r.id)
        .limit(PAGE_SIZE_MAX)
    ).all()


def _due(conn: Connection, settings: Settings, *, now: datetime):  # type: ignore[no-untyped-def]
    """(customer_id, kind, deadline, N) -> resources, for every reminder due now."""
    cadence = {
        GRACE: (GRACE_REMINDER, parse_days(settings.notice_grace_reminder_days)),
        FROZEN: (RELEASE_REMINDER, parse_days(settings.notice_release_reminder_days)),
    }
    rows_policy = policy_rows(conn)
    due: dict[tuple[str, str, datetime, int], list[dict[str, str]]] = defaultdict(list)
    after = ""
    while True:
        page = _page(conn, after)
        for row in page:
            kind, days = cadence[row.status]
            if not days:
                continue
            periods = periods_for(rows_policy, row.service, row.level)
            length = periods.grace_days if row.status == GRACE else periods.retention_days
            deadline = row.status_since + timedelta(days=length)
            n = due_reminder(deadline, days, now=now)
            if n is not None:
                item = {"id": row.id, "name": row.name, "service": row.service}
                due[(row.customer_id, kind, deadline, n)].append(item)
        if len(page) < PAGE_SIZE_MAX:
            return due
        after = page[-1].id


def enqueue_reminders(conn: Connection, settings: Settings, *, now: datetime) -> int:
    due = _due(conn, settings, now=now)
    owners = rows_by_id(conn, customer, {k[0] for k in due})
    drafts = []
    for (customer_id, kind, deadline, n), items in sorted(due.items()):
        owner = owners[customer_id]
        context = contexts.for_resources(
            kind, owner, items, deadline=deadline, days_left=days_left(deadline, now=now)
        )
        key = f"{kind}:{customer_id}:{deadline.isoformat()}:{n}"
        drafts.append(Draft(owner, kind, key, context))
    return add(conn, drafts, settings, now=now)
