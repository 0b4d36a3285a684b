"""Write a priced settlement: the run, fee records, one ledger transfer per paying customer
(itself, or a unified master for its members too), package and coupon usage, arrears marks and
their events, all in the caller's one transaction."""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace

from sqlalchemy import Connection, bindparam, update

from ..catalog.model import BillingMode
from ..ledger import service as ledger
from ..ledger.model import AccountKind, Leg, Posting, TransactionKind
from ..ledger.rules import payload_hash
from ..notify.outbox import Event, emit_many
from ..store.bulk import insert_columns
from ..store.schema import (
    cash_coupon,
    coupon_usage,
    customer,
    fee_record,
    package_period,
    package_usage,
)
from . import repo
from .priced import CustomerSettlement, PricedSettlement

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
    shard: int = 0,
):  # type: ignore[no-untyped-def]
    """`arrears_at`: when a customer this hour leaves unpaid fell into arrears: the hour's
    due time, even when a worker catching up after downtime settles it much later. `shard`:
    the settlement shard whose customers `priced` holds (settle/shards.py)."""
    entries = list(priced.customers.values())
    lines = priced.columns.lines
    records = sum(line.records for line in lines)
    late_records = sum(line.records for line in lines if line.is_late)
    run_id = repo.insert_run(
        conn,
        {
            "hour_start": hour,
            "shard": shard,
            "watermark_seq": watermark,
            "records": records,
            "late_records": late_records,
            "fees": len(lines),
            "customers": len({e.customer.id for e in entries}),
            "started_at": now,
            "finished_at": now,
        },
    )
    transaction_ids = _post_ledger(conn, entries, hour=hour, now=now, shard=shard)
    _write_fees(conn, entries, priced.columns, transaction_ids, run_id, now)
    _write_packages(conn, entries, priced.columns, run_id)
    _write_coupons(conn, priced, transaction_ids, run_id, now)
    new_arrears = _mark_arrears(conn, entries, hour=hour, since=arrears_at or now, now=now)
    return result_type(
        hour=hour,
        settlement_id=run_id,
        records=records,
        late_records=late_records,
        fees=len(lines),
        customers=len({e.customer.id for e in entries}),
        new_arrears=new_arrears,
    )


def _payers(entries: list[CustomerSettlement]) -> dict[str, list[CustomerSettlement]]:
    """Each paying customer's entries: its own lines and those it pays for its members."""
    found: dict[str, list[CustomerSettlement]] = {}
    for entry in entries:
        found.setdefault(entry.payer_row.id, []).append(entry)
    return found


def _post_ledger(
    conn: Connection,
    entries: list[CustomerSettlement],
    *,
    hour: datetime,
    now: datetime,
    shard: int = 0,
) -> dict[str, int]:
    """One transfer per payer: the fees it paid, its members' with its own."""
    postings, owners = [], []
    revenue: dict[str, int] = {}
    for _, paid in sorted(_payers(entries).items()):
        entry, row = paid[0], paid[0].payer_row
        totals = {part: sum(e.paid[part] for e in paid) for part, _ in PAID_FROM}
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
        # A payer's members may be settled by other shards than its own: each shard's
        # transfer is its own (shard 0 keeps the key of an unsharded settlement).
        where = f"{shard}:" if shard else ""
        key = f"settle:{hour.isoformat()}:{where}{row.id}"
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


def _write_fees(conn, entries, cols, transaction_ids, run_id, now) -> None:  # type: ignore[no-untyped-def]
    """One fee record per rated line, straight from the columns."""
    customer_of, currency_of, tx_of, payer_of = [], [], [], []
    for entry in entries:
        row, count = entry.customer, entry.stop - entry.start
        customer_of += [row.id] * count
        currency_of += [row.currency] * count
        tx_of += [transaction_ids.get(entry.payer_row.id)] * count
        payer_of += [entry.payer.id if entry.payer is not None else None] * count
    lines, facts = cols.lines, cols.facts
    n = len(lines)
    columns = (
        [run_id] * n,
        customer_of,
        [line.resource_id for line in lines],
        [f.service for f in facts],
        [f.resource_type for f in facts],
        [f.spec for f in facts],
        [f.region for f in facts],
        [PAY_PER_USE] * n,  # metered usage, whatever the resource became since
        [line.usage_type for line in lines],
        [line.hour for line in lines],
        [line.is_late for line in lines],
        currency_of,
        [line.pricing_unit for line in lines],
        cols.usage_e10,
        cols.package_e10,
        cols.unit_price,
        cols.official_units,
        cols.discount_units,
        cols.amount_units,
        cols.coupon_units,
        cols.cash_units,
        cols.credit_units,
        cols.debt_units,
        tx_of,
        [now] * n,
        payer_of,  # a unified member's master; none when the consumer paid itself
    )
    insert_columns(conn, fee_record, FEE_COLUMNS, columns)


def _write_packages(conn, entries, cols, run_id) -> None:  # type: ignore[no-untyped-def]
    uses = [(cols.lines[i], use) for e in entries for i, use in e.package_uses]
    repo.insert_rows(
        conn,
        package_usage,
        [
            {
                "package_id": use.package_id,
                "period_start": use.period_start,
                "settlement_id": run_id,
                "customer_id": line.customer_id,
                "resource_id": line.resource_id,
                "hour_start": line.hour,
                "quantity_e10": use.quantity_e10,
            }
            for line, use in uses
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
    for entry in priced.customers.values():
        for coupon_id, amount in entry.coupon_uses.items():
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
    unified member's unpaid fees are its master's debt, so its master's arrears."""
    started = [
        SimpleNamespace(customer=paid[0].payer_row, wallet=paid[0].wallet)
        for _, paid in sorted(_payers(entries).items())
        if paid[0].payer_row.arrears_since is None and paid[0].wallet.debt_units > 0
    ]
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
