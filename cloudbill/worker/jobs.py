"""Run every job that is due now, each in its own transactions, catching up deterministically.

Jobs are keyed by their period (a settlement by its hour), so running this twice, or from two
processes at once, changes nothing the second time."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy import Connection, func, select
from sqlalchemy.exc import SQLAlchemyError

from ..benefits import coupons
from ..bootstrap import Container
from ..credentials.sealing import SecretBox
from ..enterprise import budgets as member_budgets
from ..invoices import automatic
from ..invoices.model import Method as InvoiceMethod
from ..invoices.model import Terms as InvoiceTerms
from ..kernel.limits import PAGE_SIZE_MAX
from ..lifecycle import service as lifecycle
from ..lifecycle.rules import Transition
from ..notify import alerts, customer_notices
from ..notify.customer_notices import NoticeReport
from ..notify.notices.rules import parse_days
from ..notify.webhooks import DeliveryReport, deliver_due
from ..observe import logs, metrics
from ..orders import renewal_job
from ..orders.renewal_job import SubscriptionReport
from ..orders.service import Terms as OrderTerms
from ..postpaid import service as postpaid
from ..settle import shards
from ..settle.service import SettleResult, settle_hour
from ..storage import push as storage_push
from ..storage.push import PushReport
from ..store import gates
from ..store.schema import usage_record
from ..users import sessions

log = logs.get("cloudbill.worker")
T = TypeVar("T")

# One call settles at most this many hours; the next call goes on (bounded work per call).
MAX_HOURS_PER_CALL = 24 * 31
MAX_COUPON_PAGES = 100  # 100,000 coupons expired a call at most; the next call goes on
MAX_INVOICE_PAGES = 100  # automatic invoicing looks at 100,000 customers a call at most


@dataclass
class RunReport:
    settled: list[SettleResult] = field(default_factory=list)
    transitions: list[Transition] = field(default_factory=list)
    bills_issued: list[int] = field(default_factory=list)  # post-paid bill ids
    overdue_customers: list[str] = field(default_factory=list)  # went into arrears: bill overdue
    webhooks: DeliveryReport = field(default_factory=DeliveryReport)
    notices: NoticeReport = field(default_factory=NoticeReport)
    subscriptions: SubscriptionReport = field(default_factory=SubscriptionReport)
    coupons_expired: int = 0
    invoices_made: int = 0  # automatic mode: invoices and credit memos issued
    storage: PushReport = field(default_factory=PushReport)


def _exclusive(job: str, skipped: T, work: Callable[[Connection, datetime], T]):  # type: ignore[no-untyped-def]
    """`work` as a transaction that runs only while no other worker runs `job` (answers
    `skipped` when one does: that worker does the job for both)."""

    def run(conn: Connection, now: datetime) -> T:
        return work(conn, now) if gates.try_job(conn, job) else skipped

    return run


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
    """Settle due hours one transaction each; `on_settled` hears of each once it committed.

    PostgreSQL: shard by shard (CLOUDBILL_SETTLEMENT_SHARDS), starting at a shard of this
    process's own so that workers started together spread out; a shard another worker holds is
    skipped, and a shard caught up is given back. SQLite: one shard, no lease."""
    lateness = timedelta(seconds=container.settings.settlement_lateness_s)
    if container.db.dialect != "postgresql":
        return _settle_shard(container, lateness, None, max_hours, on_settled)
    count = container.settings.settlement_shards
    container.write(lambda conn, _now: shards.ensure_layout(conn, count))
    presence = shards.Presence.of(container.db)
    results: list[SettleResult] = []
    for step in range(count):
        shard = (presence.key + step) % count
        lease = functools.partial(
            shards.Lease, shard, count, presence.holder, presence.key,
            container.settings.settlement_lease_s,
        )  # fmt: skip
        results += _settle_shard(container, lateness, lease, max_hours, on_settled)
        container.write(lambda conn, _now, s=lease: shards.release(conn, s(container.wall.now())))
    return results


def _settle_shard(container, lateness, lease, max_hours, on_settled):  # type: ignore[no-untyped-def]
    """Up to `max_hours` due hours of one shard (`lease(now)` makes its lease; None: SQLite)."""
    results: list[SettleResult] = []
    for _ in range(max_hours):
        watermark = read_watermark(container)
        result = container.write(
            lambda conn, now, w=watermark: settle_hour(
                conn,
                now=now,
                lateness=lateness,
                watermark=w,
                lease=None if lease is None else lease(container.wall.now()),
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
    return container.write(
        _exclusive(
            "postpaid_bills", ([], []), lambda conn, now: postpaid.run_due(conn, terms, now=now)
        )
    )


def subscriptions_due(container: Container) -> SubscriptionReport:
    """Unpaid orders past their deadline, auto-renewals, expiry reminders, expiries."""
    terms = OrderTerms.from_settings(container.settings)
    days = parse_days(container.settings.subscription_reminder_days)
    return container.write(
        _exclusive(
            "subscriptions",
            SubscriptionReport(),
            lambda conn, now: renewal_job.run_due(conn, terms=terms, reminder_days=days, now=now),
        )
    )


def coupons_due(container: Container) -> int:
    """Cash coupons whose validity is over give their unused value back (a page a call)."""
    expired = 0
    for _ in range(MAX_COUPON_PAGES):
        done = container.write(
            _exclusive(
                "coupon_expiry",
                0,
                lambda conn, now: coupons.expire_coupons(conn, now=now, limit=PAGE_SIZE_MAX),
            )
        )
        expired += done
        if done < PAGE_SIZE_MAX:
            break
    return expired


def invoices_due(container: Container) -> int:
    """Automatic invoicing: every customer's new invoices and credit memos, one transaction
    each (a customer's bad data never holds back the others' documents)."""
    terms = InvoiceTerms.from_settings(container.settings)
    if terms.method is not InvoiceMethod.AUTOMATIC:
        return 0
    made, after = 0, ""

    def one(customer_id: str) -> Callable[[Connection, datetime], int]:
        return lambda conn, now: automatic.run_customer(conn, customer_id, terms, now=now)

    for _ in range(MAX_INVOICE_PAGES):
        ids = container.read(lambda conn, _now, a=after: automatic.customer_ids(conn, a))
        for customer_id in ids:
            try:
                made += container.write(_exclusive("invoices", 0, one(customer_id)))
            except SQLAlchemyError:
                raise  # the database, not this customer: the pass stops and runs again
            except Exception as exc:  # this customer's data: logged, the others go on
                log.warning(
                    "automatic invoicing failed", customer_id=customer_id, error=str(exc)[:200]
                )
        if len(ids) < PAGE_SIZE_MAX:
            break
        after = ids[-1]
    return made


def storage_due(container: Container) -> PushReport:
    """Bill files of the days whose lateness window has passed, to each enabled customer's
    bucket (storage/push.py). Skipped while no customer has storage on: no sealing key read."""
    settings = container.settings
    enabled = container.read(
        lambda conn, _now: storage_push.repo.enabled_customers(conn, after="", limit=1)
    )
    if not enabled:
        return PushReport()
    return storage_push.push_due(
        container,
        SecretBox(container.secret_key()),
        lateness=timedelta(seconds=settings.settlement_lateness_s),
        max_rows=settings.bill_storage_file_rows,
        failure_days=settings.bill_storage_failure_days,
        wall_now=container.wall.now(),
    )


def lifecycle_due(container: Container) -> list[Transition]:
    return container.write(
        _exclusive("lifecycle", [], lambda conn, now: lifecycle.apply_due(conn, now=now))
    )


def run_due(
    container: Container, *, on_settled: Callable[[SettleResult], None] | None = None
) -> RunReport:
    """Settlement first (it may put customers into arrears), then post-paid bills (an overdue
    bill does too), then yearly/monthly orders and subscriptions, then the lifecycle and alert
    reminders, then the customers' notices and the provider webhooks of what changed. Each job
    is logged with its figures as soon as it has committed, so a later job's failure hides
    nothing that was done."""
    started = time.perf_counter()

    def settled_and_told(result: SettleResult) -> None:
        _settled(result)
        if on_settled is not None:
            on_settled(result)

    report = RunReport(settled=settle_due(container, on_settled=settled_and_told))
    report.bills_issued, report.overdue_customers = postpaid_due(container)
    _log_bills(report)
    report.subscriptions = subscriptions_due(container)
    _log_subscriptions(report.subscriptions)
    report.coupons_expired = coupons_due(container)
    if report.coupons_expired:
        log.info("cash coupons expired", count=report.coupons_expired)
    report.invoices_made = invoices_due(container)
    if report.invoices_made:
        log.info("invoices issued", count=report.invoices_made)
    report.transitions = lifecycle_due(container)
    _log_transitions(report.transitions)
    report.storage = storage_due(container)
    if report.storage.days or report.storage.failed:
        log.info("bill storage", **asdict(report.storage))
    container.write(
        _exclusive("alert_reminders", None, lambda conn, now: alerts.remind_due(conn, now=now))
    )
    budget_alerts = container.write(
        _exclusive("member_budgets", 0, lambda conn, now: member_budgets.check_due(conn, now=now))
    )
    if budget_alerts:
        log.info("members' budgets passed", events=budget_alerts)
    report.notices = customer_notices.run_due(container)
    _log_notices(report.notices)
    report.webhooks = deliver_due(container)
    _log_webhooks(report.webhooks)
    purged = container.write(lambda conn, _now: sessions.purge(conn, now=container.wall.now()))
    if any(purged.values()):
        log.info("console records purged", **purged)
    metrics.WORKER_PASSES.labels("ok").inc()
    log.debug(
        "worker pass",
        hours_settled=len(report.settled),
        duration_s=round(time.perf_counter() - started, 3),
    )
    return report


def _settled(r: SettleResult) -> None:
    """Each settled hour, once committed: logged with its figures and counted."""
    metrics.HOURS_SETTLED.inc()
    metrics.FEE_RECORDS.inc(r.fees)
    log.info(
        "hour settled",
        hour=r.hour.isoformat(),
        settlement_id=r.settlement_id,
        records=r.records,
        late_records=r.late_records,
        fees=r.fees,
        customers=r.customers,
        new_arrears=r.new_arrears,
    )


def _log_bills(report: RunReport) -> None:
    if report.bills_issued or report.overdue_customers:
        log.info(
            "post-paid bills",
            issued=len(report.bills_issued),
            overdue_customers=len(report.overdue_customers),
        )


def _log_subscriptions(subs: SubscriptionReport) -> None:
    if subs.orders_expired or subs.renewed or subs.renew_failed or subs.expiry_steps:
        log.info(
            "subscriptions",
            orders_expired=len(subs.orders_expired),
            auto_renewed=len(subs.renewed),
            auto_renew_failed=len(subs.renew_failed),
            reminders=subs.reminders,
            expiry_steps=len(subs.expiry_steps),
        )


def _log_transitions(transitions: list[Transition]) -> None:
    for t in transitions:  # counted where the status is written (resources.repo)
        log.info(
            "resource status changed",
            resource_id=t.resource_id,
            from_status=str(t.from_status),
            to_status=str(t.to_status),
            at=t.at.isoformat(),
            reason=t.reason,
        )


def _log_notices(notices: NoticeReport) -> None:
    d = notices.delivery
    for outcome, count in (("sent", d.sent), ("retry", d.failed), ("dead", d.dead)):
        metrics.NOTICE_DELIVERIES.labels(outcome).inc(count)
    if notices.enqueued or d.sent or d.failed or d.dead:
        log.info("customer notices", enqueued=notices.enqueued, **asdict(d))


def _log_webhooks(w: DeliveryReport) -> None:
    for outcome, count in (("delivered", w.delivered), ("retry", w.failed), ("dead", w.dead)):
        metrics.WEBHOOK_DELIVERIES.labels(outcome).inc(count)
    if w.delivered or w.failed or w.dead:
        log.info("webhooks", **asdict(w))
