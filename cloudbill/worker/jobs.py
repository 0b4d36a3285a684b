"""Run every job that is due now, each in its own transactions, catching up deterministically.

Jobs are keyed by their period (a settlement by its hour), so running this twice, or from two
processes at once, changes nothing the second time."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import func, select

from ..bootstrap import Container
from ..lifecycle import service as lifecycle
from ..lifecycle.rules import Transition
from ..notify import alerts, customer_notices
from ..notify.customer_notices import NoticeReport
from ..notify.notices.rules import parse_days
from ..notify.webhooks import DeliveryReport, deliver_due
from ..orders.service import Terms as OrderTerms
from ..postpaid import service as postpaid
from ..settle.service import SettleResult, settle_hour
from ..store import gates
from ..store.schema import usage_record
from ..subscriptions import service as subscriptions
from ..subscriptions.service import SubscriptionReport

# One call settles at most this many hours; the next call goes on (bounded work per call).
MAX_HOURS_PER_CALL = 24 * 31


@dataclass
class RunReport:
    settled: list[SettleResult] = field(default_factory=list)
    transitions: list[Transition] = field(default_factory=list)
    bills_issued: list[int] = field(default_factory=list)  # post-paid bill ids
    overdue_customers: list[str] = field(default_factory=list)  # went into arrears: bill overdue
    webhooks: DeliveryReport = field(default_factory=DeliveryReport)
    notices: NoticeReport = field(default_factory=NoticeReport)
    subscriptions: SubscriptionReport = field(default_factory=SubscriptionReport)


def read_watermark(container: Container) -> int | None:
    """PostgreSQL: the highest usage seq below which every ingestion has committed. Taking the
    gate exclusively waits for ingestions in flight; new ones start after and get higher seqs.
    SQLite: None (settlement reads it in its own transaction; writers there are serial)."""
    if container.db.dialect != "postgresql":
        return None
    with container.db.write() as conn:
        gates.hold_exclusive(conn)
        return conn.execute(select(func.coalesce(func.max(usage_record.c.seq), 0))).scalar_one()


def settle_due(
    container: Container,
    *,
    max_hours: int = MAX_HOURS_PER_CALL,
    on_settled: Callable[[SettleResult], None] | None = None,
) -> list[SettleResult]:
    """Settle due hours one transaction each; `on_settled` hears of each once it committed."""
    lateness = timedelta(seconds=container.settings.settlement_lateness_s)
    results: list[SettleResult] = []
    for _ in range(max_hours):
        watermark = read_watermark(container)
        result = container.write(
            lambda conn, now, w=watermark: settle_hour(
                conn, now=now, lateness=lateness, watermark=w
            )
        )
        if result is None:
            break
        results.append(result)
        if on_settled is not None:
            on_settled(result)
    return results


def postpaid_due(container: Container) -> tuple[list[int], list[str]]:
    """Issue the post-paid bills whose billing day has come; overdue ones start arrears."""
    settings = container.settings
    terms = postpaid.Terms(settings.postpaid_billing_day, settings.postpaid_repayment_days)
    return container.write(lambda conn, now: postpaid.run_due(conn, terms, now=now))


def subscriptions_due(container: Container) -> SubscriptionReport:
    """Unpaid orders past their deadline, auto-renewals, expiry reminders, expiries."""
    terms = OrderTerms.from_settings(container.settings)
    days = parse_days(container.settings.subscription_reminder_days)
    return container.write(
        lambda conn, now: subscriptions.run_due(conn, terms=terms, reminder_days=days, now=now)
    )


def lifecycle_due(container: Container) -> list[Transition]:
    return container.write(lambda conn, now: lifecycle.apply_due(conn, now=now))


def run_due(
    container: Container, *, on_settled: Callable[[SettleResult], None] | None = None
) -> RunReport:
    """Settlement first (it may put customers into arrears), then post-paid bills (an overdue
    bill does too), then yearly/monthly orders and subscriptions, then the lifecycle and alert
    reminders, then the customers' notices and the provider webhooks of what changed."""
    settled = settle_due(container, on_settled=on_settled)
    bills_issued, overdue = postpaid_due(container)
    subscription_report = subscriptions_due(container)
    transitions = lifecycle_due(container)
    container.write(lambda conn, now: alerts.remind_due(conn, now=now))
    notices = customer_notices.run_due(container)
    return RunReport(
        settled=settled,
        transitions=transitions,
        bills_issued=bills_issued,
        overdue_customers=overdue,
        webhooks=deliver_due(container),
        notices=notices,
        subscriptions=subscription_report,
    )
