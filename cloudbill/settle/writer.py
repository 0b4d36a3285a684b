"""Write a priced settlement: the run, fee records, one ledger transfer per paying customer
(itself, or a unified master for its members too), package and coupon usage, arrears marks and
their events, all in the caller's one transaction."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, bindparam, update

from ..catalog.model import BillingMode
from ..ledger import service as ledger
from ..ledger.model import AccountKind, Leg, Posting, TransactionKind
from ..ledger.rules import payload_hash
from ..notify.outbox import Event, emit_many
from ..store.bulk import insert_tuples
from ..store.schema import (
    cash_coupon,
    coupon_usage,
    customer,
    fee_record,
    package_period,
    package_usage,
)
from . import repo
from .pricing import PayerSettlement, PricedSettlement

PAY_PER_USE = str(BillingMode.PAY_PER_USE)
PAID_FROM = (  # fee payment part -> the customer's book it is taken from
    ("coupon_units", AccountKind.COUPON),
    ("cash_units", AccountKind.CASH),
    ("credit_units", AccountKind.UNPAID),
    ("debt_units", AccountKind.DEBT),
)


def write_settlement(
    conn: Connection,
    priced: PricedSettlement,
    *,
    hour: datetime,
    watermark: int,
    now: datetime,
    result_type,
    arrears_at: datetime | None = None,
):  # type: ignore[no-untyped-def]
    """`arrears_at`: when a customer this hour leaves unpaid fell into arrears: the hour's
    due time, even when a worker catching up after downtime settles it much later."""
    entries = list(priced.customers.values())
    lines = [p for e in entries for p in e.lines]
    run_id = repo.insert_run(
        conn,
        {
            "hour_start": hour,
            "watermark_seq": watermark,
            "records": sum(p.line.records for p in lines),
            "late_records": sum(p.line.records for p in lines if p.line.is_late),
            "fees": len(lines),
            "customers": len(entries),
            "started_at": now,
            "finished_at": now,
        },
    )
    payers = [priced.payers[pid] for pid in sorted(priced.payers)]
    transaction_ids = _post_ledger(conn, payers, hour=hour, now=now)
    _write_fees(conn, entries, transaction_ids, run_id, now)
    _write_packages(conn, entries, run_id)
    _write_coupons(conn, priced, transaction_ids, run_id, now)
    new_arrears = _mark_arrears(conn, payers, hour=hour, since=arrears_at or now, now=now)
    return result_type(
        hour=hour,
        settlement_id=run_id,
        records=sum(p.line.records for p in lines),
        late_records=sum(p.line.records for p in lines if p.line.is_late),
        fees=len(lines),
        customers=len(entries),
        new_arrears=new_arrears,
    )


def _totals(entry: PayerSettlement) -> dict[str, int]:
    return {part: sum(getattr(p.payment, part) for p in entry.lines) for part, _ in PAID_FROM}


def _post_ledger(
    conn: Connection, entries: list[PayerSettlement], *, hour: datetime, now: datetime
) -> dict[str, int]:
    """One transfer per payer: the fees it paid, its members' with its own."""
    postings, owners = [], []
    revenue: dict[str, int] = {}
    for entry in entries:
        row = entry.customer
        totals = _totals(entry)
        amount = sum(totals.values())
        if amount == 0:
            continue
        if row.currency not in revenue:
            revenue[row.currency] = ledger.provider_account(
                conn, row.currency, AccountKind.REVENUE, now=now
            ).id
        legs = [Leg(revenue[row.currency], -amount, row.currency)]
        legs += [
            Leg(entry.accounts[kind].id, totals[part], row.currency)
            for part, kind in PAID_FROM
            if totals[part]
        ]
        key = f"settle:{hour.isoformat()}:{row.id}"
        digest = payload_hash({"hour": hour.isoformat(), "customer": row.id, **totals})
        postings.append(
            Posting(
                idempotency_key=key,
                payload_hash=digest,
                kind=TransactionKind.FEE,
                legs=tuple(legs),
                customer_id=row.id,
                reference=f"hour {hour.isoformat()}",
                description="pay-per-use fees",
                result={"currency": row.currency, **totals},
            )
        )
        owners.append(row.id)
    ids = ledger.post_many(conn, postings, now=now)
    return dict(zip(owners, ids, strict=True))


FEE_COLUMNS = (
    "settlement_id",
    "customer_id",
    "resource_id",
    "service",
    "resource_type",
    "spec",
    "region",
    "billing_mode",
    "usage_type",
    "hour_start",
    "is_late",
    "currency",
    "pricing_unit",
    "usage_e10",
    "package_usage_e10",
    "unit_price",
    "official_units",
    "discount_units",
    "amount_units",
    "coupon_units",
    "cash_units",
    "credit_units",
    "debt_units",
    "ledger_transaction_id",
    "created_at",
    "payer_id",
)


def _write_fees(conn, entries, transaction_ids, run_id, now) -> None:  # type: ignore[no-untyped-def]
    rows = []
    for entry in entries:
        row = entry.customer
        for p in entry.lines:
            f, pay, line, rated = p.facts, p.payment, p.line, p.rated
            tx_id = transaction_ids.get(p.payer_id)
            rows.append(
                (
                    run_id,
                    row.id,
                    line.resource_id,
                    f.service,
                    f.resource_type,
                    f.spec,
                    f.region,
                    PAY_PER_USE,  # metered usage, whatever the resource became since
                    line.usage_type,
                    line.hour,
                    line.is_late,
                    row.currency,
                    line.pricing_unit,
                    line.usage_e10,
                    p.package_e10,
                    _price_text(rated.unit_price),
                    rated.official_units,
                    rated.discount_units,
                    rated.amount_units,
                    pay.coupon_units,
                    pay.cash_units,
                    pay.credit_units,
                    pay.debt_units,
                    tx_id,
                    now,
                    p.payer_id if p.payer_id != row.id else None,
                )
            )
    insert_tuples(conn, fee_record, FEE_COLUMNS, rows)


def _price_text(price):  # type: ignore[no-untyped-def]
    return None if price is None else format(price, "f")


def _write_packages(conn, entries, run_id) -> None:  # type: ignore[no-untyped-def]
    uses = [(p, use) for e in entries for p, use in e.package_uses]
    repo.insert_rows(
        conn,
        package_usage,
        [
            {
                "package_id": use.package_id,
                "period_start": use.period_start,
                "settlement_id": run_id,
                "customer_id": p.line.customer_id,
                "resource_id": p.line.resource_id,
                "hour_start": p.line.hour,
                "quantity_e10": use.quantity_e10,
            }
            for p, use in uses
        ],
    )
    added: dict[tuple[str, datetime], int] = {}
    for _, use in uses:
        key = (use.package_id, use.period_start)
        added[key] = added.get(key, 0) + use.quantity_e10
    known = repo.package_periods(conn, {pid for pid, _ in added})
    repo.execute_many(
        conn,
        update(package_period)
        .where(
            package_period.c.package_id == bindparam("pid"),
            package_period.c.period_start == bindparam("start"),
        )
        .values(used_e10=bindparam("used")),
        [
            {"pid": pid, "start": start, "used": known[(pid, start)] + qty}
            for (pid, start), qty in added.items()
            if (pid, start) in known
        ],
    )
    repo.insert_rows(
        conn,
        package_period,
        [
            {"package_id": pid, "period_start": start, "used_e10": qty}
            for (pid, start), qty in added.items()
            if (pid, start) not in known
        ],
    )


def _write_coupons(conn, priced, transaction_ids, run_id, now) -> None:  # type: ignore[no-untyped-def]
    used: dict[str, int] = {}
    for entry in priced.payers.values():
        for p in entry.lines:
            for coupon_id, amount in p.payment.coupon_uses:
                used[coupon_id] = used.get(coupon_id, 0) + amount
    changed = [priced.coupons[cid] for cid in sorted(used)]
    repo.execute_many(
        conn,
        update(cash_coupon)
        .where(cash_coupon.c.id == bindparam("cid"))
        .values(balance_units=bindparam("balance"), status=bindparam("status")),
        [
            {
                "cid": c.id,
                "balance": c.balance_units,
                "status": "active" if c.balance_units else "used_up",
            }
            for c in changed
        ],
    )
    repo.insert_rows(
        conn,
        coupon_usage,
        [
            {
                "coupon_id": c.id,
                "customer_id": c.customer_id,
                "kind": "used",
                "amount_units": used[c.id],
                "settlement_id": run_id,
                "ledger_transaction_id": transaction_ids.get(c.customer_id),
                "at": now,
            }
            for c in changed
        ],
    )


def _mark_arrears(conn, entries, *, hour, since, now) -> int:  # type: ignore[no-untyped-def]
    """A payer whose fees could not all be paid is in arrears from `since` (one event); a
    unified member's resources follow its master's arrears (lifecycle/)."""
    started = [e for e in entries if e.customer.arrears_since is None and e.wallet.debt_units > 0]
    repo.execute_many(
        conn,
        update(customer)
        .where(customer.c.id == bindparam("cid"))
        .values(arrears_since=bindparam("since"), updated_at=bindparam("now")),
        [{"cid": e.customer.id, "since": since, "now": now} for e in started],
    )
    emit_many(
        conn,
        [
            Event(
                "customer.arrears_started",
                e.customer.id,
                {
                    "customer_id": e.customer.id,
                    "currency": e.customer.currency,
                    "debt_units": e.wallet.debt_units,
                    "since": since.isoformat(),
                    "hour": hour.isoformat(),
                },
                dedupe_key=f"customer.arrears_started:{e.customer.id}:{hour.isoformat()}",
            )
            for e in started
        ],
        now=now,
    )
    return len(started)
