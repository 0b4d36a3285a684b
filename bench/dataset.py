"""The seeded data set shared by W1-W3: customers, their books, resources, benefits and usage.

Everything is derived from one seed and the chosen size, so two runs on two machines measure
the same rows. Set-up is not measured: it bulk-inserts rows with the driver's executemany
(SQLite) or COPY (PostgreSQL) instead of calling the use cases one by one, but the rows are
the ones the use cases would write:

- every customer has its four ledger accounts (CUSTOMER_KINDS) and the provider has its
  accounts per currency (opened through `ledger.service.provider_account`);
- a top-up is a balanced FUNDS -> CASH transaction with its entries and cached balances;
- a cash coupon is a `cash_coupon` row with its PROMOTION -> COUPON transaction and its
  `coupon_usage` "issued" row, as `benefits.coupons.issue_coupon` writes them;
- a resource package is a `resource_package` row, as `benefits.service.grant_package` writes it;
- a resource has its `resource_status_history` "registered" row;
- usage records carry the derived columns ingestion computes (pricing unit, `quantity_e10`,
  first and last hour, `payload_hash`); `check_usage_sample` proves a sample of them equal to
  what `ingest.rules.validate` makes of the same input, and `verify_books` runs the ledger's
  own verification.

Mix (by customer number, so the fractions are exact): a tenth pay in CNY, a tenth are
post-paid (a quarter of those with a credit limit below one hour of fees), a fifth hold a
resource package, a twentieth hold a cash coupon, and one in 25 prepaid customers topped up
less than an hour of fees: they run out of money during the settled hour and go into arrears.
"""

from __future__ import annotations

import hashlib
import json
import random
from array import array
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache, partial
from pathlib import Path
from typing import Any, NamedTuple
from uuid import uuid4

from sqlalchemy import Connection, create_engine, func, select, text
from sqlalchemy.engine import make_url

from cloudbill.bootstrap import Container, build
from cloudbill.catalog import service as catalog_service
from cloudbill.config import Settings
from cloudbill.ingest import repo as ingest_repo
from cloudbill.ingest.model import UsageInput
from cloudbill.ingest.rules import PricingUnits, validate
from cloudbill.ledger import service as ledger
from cloudbill.ledger.model import (
    ACCOUNT_RULES,
    CUSTOMER_KINDS,
    PROVIDER_KINDS,
    AccountKind,
    TransactionKind,
    customer_account_code,
)
from cloudbill.ledger.rules import payload_hash as ledger_payload_hash
from cloudbill.ledger.verify import verify
from cloudbill.store import clock_repo
from cloudbill.store.engine import is_sqlite, normalize_url
from cloudbill.store.schema import cash_coupon, ledger_account
from cloudbill.store.types import BookUnits, UtcDateTime, exact_sum

SEED = 20260316
TOKEN = "bench-operator-token"
UNITS = 10**8  # money: 10**-8 currency units
E10 = 10**10  # quantities: 10**-10 of the pricing unit

# The settled hour (W1), the hour W2 and W3 ingest into, and the clock during the benchmark:
# HOUR is due (it ended more than the default 15-minute lateness ago), NEXT_HOUR is not.
HOUR = datetime(2026, 3, 16, 9, tzinfo=UTC)
NEXT_HOUR = HOUR + timedelta(hours=1)
NOW = HOUR + timedelta(hours=2)
CREATED = HOUR - timedelta(days=30)


@dataclass(frozen=True)
class Size:
    name: str
    customers: int
    resources: int
    records: int  # W1: usage records in the settled hour
    w2_records: int  # rows of the Parquet file W2 ingests
    w3_records: int  # records W3 posts (at most; W3 also stops after w3_seconds)
    w3_seconds: float
    b0_movements: int

    @property
    def fraction_of_full(self) -> float:
        return self.records / SIZES["full"].records


SIZES = {
    "quick": Size("quick", 100, 1_000, 10_000, 10_000, 5_000, 20.0, 200),
    "medium": Size("medium", 10_000, 100_000, 1_000_000, 200_000, 50_000, 40.0, 2_000),
    "full": Size("full", 100_000, 1_000_000, 10_000_000, 2_000_000, 200_000, 60.0, 2_000),
}


@dataclass(frozen=True)
class Kind:
    """A kind of resource and how its usage is metered."""

    service: str
    resource_type: str
    spec: str
    usage_type: str
    unit: str | None  # the unit records are sent in; None: the pricing unit
    pricing_unit: str
    weight: int  # share of resources, in percent


KINDS = (
    Kind("ecs", "hws.resource.type.vm", "s6.large.2", "duration", "s", "h", 30),
    Kind("ecs", "hws.resource.type.vm", "c7.large.2", "duration", "s", "h", 20),
    Kind("evs", "hws.resource.type.volume", "SSD", "capacity", "GBs", "GBh", 20),
    Kind("eip", "hws.resource.type.bandwidth", "bandwidth_5m", "duration", None, "h", 15),
    Kind("obs", "hws.resource.type.obs", "standard", "requests", "count", "10k", 10),
    # tiered price: settlement looks up what was billed this month for each of these
    Kind("eip", "hws.resource.type.ip", "traffic_bgp", "upflow", "MB", "GB", 5),
)
# Base units in one unit, as in the default catalog (checked against it at set-up).
UNIT_FACTORS = {
    "s": 1,
    "h": 3600,
    "GBs": 1,
    "GBh": 3600,
    "count": 1,
    "10k": 10_000,
    "MB": 1 << 20,
    "GB": 1 << 30,
}


def resource_id(i: int) -> str:
    return f"bench-r{i:07d}"


def decimal_text(n: int, scale: int) -> str:
    """n / 10**scale as plain decimal text without trailing zeros (what Decimal.normalize and
    format(..., 'f') give, so it is also the payload hash's spelling)."""
    if scale == 0:
        return str(n)
    digits = str(n).rjust(scale + 1, "0")
    whole, frac = digits[:-scale], digits[-scale:].rstrip("0")
    return f"{whole}.{frac}" if frac else whole


class DataSet:
    """Who the customers are, what they own and how they use it: all from the seed."""

    def __init__(self, size: Size, seed: int = SEED) -> None:
        if size.records % size.resources or 3600 % (size.records // size.resources):
            raise ValueError("records per resource must divide the hour into whole seconds")
        self.size = size
        self.seed = seed
        rng = random.Random(seed)
        self.customer_ids = [f"{rng.getrandbits(128):032x}" for _ in range(size.customers)]
        self.resource_customer = array(
            "i", (rng.randrange(size.customers) for _ in range(size.resources))
        )
        self.resource_kind = array(
            "b", rng.choices(range(len(KINDS)), [k.weight for k in KINDS], k=size.resources)
        )
        self.per_resource = size.records // size.resources
        self.slice_s = 3600 // self.per_resource
        self._slots: dict[datetime, dict[tuple[int, bool], Slot]] = {}
        self._slot_hour: datetime | None = None
        self._hour_slots: dict[tuple[int, bool], Slot] | None = None

    # -- customers ------------------------------------------------------------------------
    @staticmethod
    def currency(i: int) -> str:
        return "CNY" if i % 10 == 9 else "USD"

    @staticmethod
    def postpaid(i: int) -> bool:
        return i % 10 == 4

    def credit_limit_units(self, i: int) -> int:
        if not self.postpaid(i):
            return 0
        return UNITS // 5 if i % 40 == 4 else 1000 * UNITS  # 0.20: runs over within the hour

    def topup_units(self, i: int) -> int:
        if self.postpaid(i):
            return 0
        return UNITS // 20 if i % 25 == 7 else 200 * UNITS  # 0.05: runs out within the hour

    @staticmethod
    def level(i: int) -> int:
        return 3 if i % 9 == 0 else 2 if i % 3 == 0 else 1

    def timezone(self, i: int) -> str:
        return "Asia/Shanghai" if self.currency(i) == "CNY" else "UTC"

    @staticmethod
    def region(i: int) -> str:
        return "cn-north-4" if i % 10 == 9 else "ap-southeast-1"

    @staticmethod
    def has_package(i: int) -> bool:
        return i % 5 == 1

    @staticmethod
    def has_coupon(i: int) -> bool:
        return i % 20 == 2

    # -- usage ------------------------------------------------------------------------------
    @staticmethod
    def crosses(i: int) -> bool:
        """1 resource in 100: its last record of the hour runs on into the next hour."""
        return i % 100 == 50

    def quantity(self, i: int, j: int, seconds: int) -> tuple[str, int]:
        """(quantity text as sent, quantity_e10 in the pricing unit) of record j of resource i."""
        kind = KINDS[self.resource_kind[i]]
        if kind.usage_type == "duration" and kind.unit == "s":
            n, scale = seconds, 0
        elif kind.usage_type == "duration":  # in hours, e.g. 0.1
            n, scale = seconds * 10_000 // 3600, 4
        elif kind.usage_type == "capacity":  # GB-seconds of a 40-500 GB volume
            n, scale = (40 + i * 37 % 461) * seconds, 0
        elif kind.usage_type == "requests":
            n, scale = 1 + (i * 7919 + j * 104_729) % 5000, 0
        else:  # upflow, MB with one decimal
            n, scale = 1 + (i * 31 + j * 17) % 20_000, 1
        src, dst = UNIT_FACTORS[kind.unit or kind.pricing_unit], UNIT_FACTORS[kind.pricing_unit]
        return decimal_text(n, scale), n * src * E10 // (10**scale * dst)

    def slot(self, j: int, hour: datetime, crossing: bool) -> Slot:
        """Record j's interval in `hour` (all resources share it): computed once, reused."""
        key = (j, hour, crossing)
        slots = self._slots.get(hour) if hour is not self._slot_hour else self._hour_slots
        if slots is None:
            slots = self._slots[hour] = {}
        self._slot_hour, self._hour_slots = hour, slots
        found = slots.get((j, crossing))
        if found is None:
            start = hour + timedelta(seconds=j * self.slice_s)
            end = start + timedelta(seconds=(2 if crossing else 1) * self.slice_s)
            first = start.replace(minute=0, second=0, microsecond=0)
            last = (end - timedelta(microseconds=1)).replace(minute=0, second=0, microsecond=0)
            found = Slot(
                key,
                start,
                end,
                first,
                last,
                int((end - start).total_seconds()),
                start.isoformat(),
                end.isoformat(),
            )
            slots[(j, crossing)] = found
        return found

    def record(self, i: int, j: int, hour: datetime, *, allow_crossing: bool = True) -> Record:
        kind = KINDS[self.resource_kind[i]]
        crossing = allow_crossing and j == self.per_resource - 1 and self.crosses(i)
        slot = self.slot(j, hour, crossing)
        qtext, e10 = self.quantity(i, j, slot.seconds)
        rid = resource_id(i)
        unit = kind.unit or kind.pricing_unit
        digest = hashlib.sha256(
            f"{rid}|{kind.usage_type}|{qtext}|{unit}|{slot.start_iso}|{slot.end_iso}".encode()
        ).hexdigest()[:32]
        return Record(rid, kind, qtext, unit, e10, slot, crossing, digest)


class Slot(NamedTuple):
    key: tuple[int, datetime, bool]
    start: datetime
    end: datetime
    first_hour: datetime
    last_hour: datetime
    seconds: int
    start_iso: str
    end_iso: str


class Record(NamedTuple):
    resource_id: str
    kind: Kind
    quantity: str
    unit: str  # as stored: the unit sent, or the pricing unit
    quantity_e10: int
    slot: Slot
    crossing: bool
    payload_hash: str

    @property
    def start(self) -> datetime:
        return self.slot.start

    @property
    def end(self) -> datetime:
        return self.slot.end

    @property
    def first_hour(self) -> datetime:
        return self.slot.first_hour

    @property
    def last_hour(self) -> datetime:
        return self.slot.last_hour


# -- writing rows fast ------------------------------------------------------------------------


class Writer:
    """Bulk inserts in the caller's transaction: executemany on SQLite, COPY on PostgreSQL.
    Instants go in exactly as the UtcDateTime column type would store them."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.sqlite = conn.dialect.name == "sqlite"
        process = UtcDateTime().dialect_impl(conn.dialect).bind_processor(conn.dialect)
        self._process = process or (lambda v: v.astimezone(UTC).replace(tzinfo=None))
        self.dt = lru_cache(maxsize=65536)(self._dt)

    def _dt(self, value: datetime | None) -> Any:
        return None if value is None else self._process(value)

    def insert(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
        raw = self.conn.connection.driver_connection
        names = ", ".join(columns)
        if self.sqlite:
            marks = ", ".join("?" for _ in columns)
            raw.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)  # type: ignore[union-attr]
            return
        with raw.cursor() as cursor, cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:  # type: ignore[union-attr]
            for row in rows:
                copy.write_row(row)

    def next_id(self, table: str) -> int:
        return (
            int(self.conn.exec_driver_sql(f"SELECT COALESCE(MAX(id), 0) FROM {table}").scalar()) + 1
        )

    def fix_sequence(self, table: str) -> None:
        """PostgreSQL: rows inserted with explicit ids do not move the id sequence."""
        if not self.sqlite:
            self.conn.exec_driver_sql(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT COALESCE(MAX(id), 1) FROM {table}))"
            )


def chunks(rows: Iterable[Any], size: int) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


# -- the database -----------------------------------------------------------------------------


@contextmanager
def bench_database(url: str | None, workdir: Path) -> Iterator[str]:
    """A fresh database: a SQLite file in `workdir`, or a new database on the PostgreSQL server
    of `url` (created here, dropped afterwards), so a run never touches existing data."""
    if url is None or is_sqlite(url):
        path = workdir / "bench.sqlite" if url is None else Path(make_url(url).database or "")
        if url is not None and path.exists():
            raise SystemExit(f"{path} exists: give a path for a new SQLite file")
        yield f"sqlite:///{path}"
        return
    admin_url = make_url(normalize_url(url))
    name = f"cloudbill_bench_{uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def open_container(url: str) -> Container:
    container = build(Settings(database_url=url, operator_token=TOKEN))
    with container.db.write() as conn:
        clock_repo.set_simulated(conn, NOW)
    return container


def checkpoint(container: Container) -> None:
    """SQLite: fold the WAL into the database file, so set-up pages are not written back during
    a measurement; PostgreSQL: refresh planner statistics after the bulk load."""
    if container.db.dialect == "sqlite":
        fairy = container.db.engine.raw_connection()  # outside any transaction
        try:
            fairy.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # type: ignore[union-attr]
        finally:
            fairy.close()
        return
    with container.db.engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")


# -- the base: customers, books, benefits, resources --------------------------------------------


@dataclass
class Base:
    customers: int
    resources: int
    topups: int
    packages: int
    coupons: int
    accounts: dict[str, dict[AccountKind, int]]  # currency -> provider account ids


def prepare_base(container: Container, ds: DataSet) -> Base:
    with container.db.write() as conn:
        catalog = catalog_service.active(conn)
        for code, factor in UNIT_FACTORS.items():
            assert catalog.units[code].factor == factor, f"catalog unit {code} changed"
        provider = {
            cur: {k: ledger.provider_account(conn, cur, k, now=CREATED).id for k in PROVIDER_KINDS}
            for cur in ("USD", "CNY")
        }
    counts = {"topups": 0, "packages": 0, "coupons": 0}
    with container.db.write() as conn:
        w = Writer(conn)
        counts.update(_customers_and_books(w, ds, provider))
        w.fix_sequence("ledger_account")
        w.fix_sequence("ledger_transaction")
    with container.db.write() as conn:
        w = Writer(conn)
        counts["packages"] = _packages(w, ds)
        _resources(w, ds)
    checkpoint(container)
    return Base(
        ds.size.customers,
        ds.size.resources,
        counts["topups"],
        counts["packages"],
        counts["coupons"],
        provider,
    )


def _customers_and_books(w: Writer, ds: DataSet, provider: dict[str, dict[AccountKind, int]]):  # type: ignore[no-untyped-def]
    created = w.dt(CREATED)
    w.insert(
        "customer",
        (
            "id",
            "name",
            "email",
            "mobile",
            "currency",
            "payment_mode",
            "credit_limit_units",
            "level",
            "timezone",
            "status",
            "arrears_since",
            "created_at",
            "updated_at",
        ),
        (
            (
                cid,
                f"bench-customer-{i:07d}",
                None,
                None,
                ds.currency(i),
                "postpaid" if ds.postpaid(i) else "prepaid",
                ds.credit_limit_units(i),
                ds.level(i),
                ds.timezone(i),
                "active",
                None,
                created,
                created,
            )
            for i, cid in enumerate(ds.customer_ids)
        ),
    )
    first_account = w.next_id("ledger_account")
    kinds = list(CUSTOMER_KINDS)
    # Balances are written raw: in the books' own encoding (text on SQLite, store/types.py).
    book = partial(BookUnits().process_bind_param, dialect=w.conn.dialect)

    def account(i: int, kind: AccountKind) -> int:
        return first_account + 4 * i + kinds.index(kind)

    balances = {}
    for i in range(len(ds.customer_ids)):
        balances[account(i, AccountKind.CASH)] = ds.topup_units(i)
        if ds.has_coupon(i):
            balances[account(i, AccountKind.COUPON)] = _coupon_value(ds, i)
    w.insert(
        "ledger_account",
        (
            "id",
            "code",
            "customer_id",
            "kind",
            "currency",
            "normal_sign",
            "may_go_negative",
            "balance_units",
            "created_at",
        ),
        (
            (
                account(i, kind),
                customer_account_code(cid, kind),
                cid,
                str(kind),
                ds.currency(i),
                ACCOUNT_RULES[kind][0],
                ACCOUNT_RULES[kind][1],
                book(balances.get(account(i, kind), 0)),
                created,
            )
            for i, cid in enumerate(ds.customer_ids)
            for kind in kinds
        ),
    )
    # Transactions: a top-up (FUNDS -> CASH) for every customer with money, a coupon issue
    # (PROMOTION -> COUPON, kind `coupon`) for every coupon holder.
    tx_id = w.next_id("ledger_transaction")
    transactions, entries, coupons, coupon_uses = [], [], [], []
    provider_totals: dict[int, int] = {}
    topups = issued = 0
    for i, cid in enumerate(ds.customer_ids):
        cur = ds.currency(i)
        amount = ds.topup_units(i)
        if amount:
            reference = f"bench-topup-{i:07d}"
            digest = ledger_payload_hash({"customer": cid, "amount": amount, "currency": cur})
            result = {
                "customer_id": cid,
                "currency": cur,
                "amount_units": amount,
                "debt_written_off_units": 0,
                "unpaid_repaid_units": 0,
                "cash_credited_units": amount,
            }
            transactions.append(
                (
                    tx_id,
                    f"topup:{reference}",
                    digest,
                    "topup",
                    cid,
                    reference,
                    "top-up",
                    json.dumps(result, sort_keys=True),
                    created,
                )
            )
            funds = provider[cur][AccountKind.FUNDS]
            entries += [
                (tx_id, funds, cur, amount),
                (tx_id, account(i, AccountKind.CASH), cur, -amount),
            ]
            provider_totals[funds] = provider_totals.get(funds, 0) + amount
            tx_id += 1
            topups += 1
        if ds.has_coupon(i):
            value = _coupon_value(ds, i)
            coupon_id = f"{(i * 2_654_435_761 + ds.seed) % (1 << 128):032x}"
            reference = f"bench-coupon-{i:07d}"
            services = ["ecs"] if i % 40 == 22 else None
            valid_from, valid_to = HOUR - timedelta(days=1), HOUR + timedelta(days=30)
            name = f"bench coupon {i}"
            digest = ledger_payload_hash(
                {
                    "customer": cid,
                    "name": name,
                    "amount": value,
                    "currency": cur,
                    "valid_from": valid_from,
                    "valid_to": valid_to,
                    "services": tuple(services) if services else None,
                    "billing_modes": None,
                    "min_spend": 0,
                }
            )
            result = {
                "coupon_id": coupon_id,
                "customer_id": cid,
                "currency": cur,
                "amount_units": value,
            }
            transactions.append(
                (
                    tx_id,
                    f"coupon-issue:{reference}",
                    digest,
                    str(TransactionKind.COUPON),
                    cid,
                    reference,
                    f"cash coupon issued: {name}",
                    json.dumps(result, sort_keys=True),
                    created,
                )
            )
            promotion = provider[cur][AccountKind.PROMOTION]
            entries += [
                (tx_id, promotion, cur, value),
                (tx_id, account(i, AccountKind.COUPON), cur, -value),
            ]
            provider_totals[promotion] = provider_totals.get(promotion, 0) + value
            coupons.append(
                (
                    coupon_id,
                    cid,
                    name,
                    cur,
                    value,
                    value,
                    0,
                    json.dumps(services) if services else None,
                    None,
                    w.dt(valid_from),
                    w.dt(valid_to),
                    "active",
                    reference,
                    created,
                )
            )
            coupon_uses.append((coupon_id, cid, "issued", value, None, tx_id, created))
            tx_id += 1
            issued += 1
    w.insert(
        "ledger_transaction",
        (
            "id",
            "idempotency_key",
            "payload_hash",
            "kind",
            "customer_id",
            "reference",
            "description",
            "result",
            "created_at",
        ),
        transactions,
    )
    w.insert("ledger_entry", ("transaction_id", "account_id", "currency", "amount_units"), entries)
    w.insert(
        "cash_coupon",
        (
            "id",
            "customer_id",
            "name",
            "currency",
            "face_value_units",
            "balance_units",
            "min_spend_units",
            "services",
            "billing_modes",
            "valid_from",
            "valid_to",
            "status",
            "reference",
            "issued_at",
        ),
        coupons,
    )
    w.insert(
        "coupon_usage",
        (
            "coupon_id",
            "customer_id",
            "kind",
            "amount_units",
            "settlement_id",
            "ledger_transaction_id",
            "at",
        ),
        coupon_uses,
    )
    # Provider accounts are debit-normal (FUNDS, PROMOTION): balance = + sum of entries.
    # (added here, not in SQL: an SQLite balance is text, store/types.py)
    for account_id, total in provider_totals.items():
        where = ledger_account.c.id == account_id
        balance = w.conn.execute(select(ledger_account.c.balance_units).where(where)).scalar_one()
        w.conn.execute(ledger_account.update().where(where).values(balance_units=balance + total))
    return {"topups": topups, "coupons": issued}


def _coupon_value(ds: DataSet, i: int) -> int:
    return UNITS // 2 if i % 40 == 2 else 5 * UNITS  # 0.50 (used up this hour) or 5.00


def _packages(w: Writer, ds: DataSet) -> int:
    rows = []
    for i, cid in enumerate(ds.customer_ids):
        if not ds.has_package(i):
            continue
        small = i % 10 == 1  # 0.5 h: used up within the hour; else 50 h
        hours_text = "0.5" if small else "50"
        rows.append(
            (
                f"{(i * 40_503 + ds.seed * 7) % (1 << 128):032x}",
                cid,
                f"{hours_text} h duration",
                "duration",
                "h",
                E10 // 2 if small else 50 * E10,
                "ecs" if i % 15 == 1 else None,
                None,
                None,
                None,
                "monthly_calendar" if (i // 5) % 2 == 0 else "none",
                None,
                w.dt(HOUR - timedelta(days=10)),
                w.dt(HOUR + timedelta(days=20)),
                "granted",
                f"bench-package-{i:07d}",
                w.dt(CREATED),
            )
        )
    w.insert(
        "resource_package",
        (
            "id",
            "customer_id",
            "name",
            "usage_type",
            "pricing_unit",
            "quantity_e10",
            "service",
            "resource_type",
            "spec",
            "region",
            "reset_kind",
            "reset_hour",
            "valid_from",
            "valid_to",
            "source",
            "reference",
            "created_at",
        ),
        rows,
    )
    return len(rows)


def _resources(w: Writer, ds: DataSet) -> None:
    created = w.dt(CREATED)
    w.insert(
        "resource",
        (
            "id",
            "customer_id",
            "service",
            "resource_type",
            "spec",
            "billing_mode",
            "region",
            "name",
            "parent_id",
            "status",
            "status_since",
            "created_at",
            "expire_at",
        ),
        (
            (
                resource_id(i),
                ds.customer_ids[c],
                KINDS[k].service,
                KINDS[k].resource_type,
                KINDS[k].spec,
                "pay_per_use",
                ds.region(c),
                resource_id(i),
                None,
                "normal",
                created,
                created,
                None,
            )
            for i, (c, k) in enumerate(zip(ds.resource_customer, ds.resource_kind, strict=True))
        ),
    )
    w.insert(
        "resource_status_history",
        ("resource_id", "from_status", "to_status", "at", "reason"),
        ((resource_id(i), None, "normal", created, "registered") for i in range(ds.size.resources)),
    )


# -- proofs -------------------------------------------------------------------------------------


def check_usage_sample(container: Container, ds: DataSet, records: Sequence[Record]) -> int:
    """The derived columns the data set writes equal what ingestion computes from the same
    input; returns how many records were compared."""
    with container.db.read() as conn:
        facts = ingest_repo.resource_facts(conn, [r.resource_id for r in records])
        units = PricingUnits(catalog_service.active(conn))
    for n, r in enumerate(records):
        sent_unit = r.kind.unit  # None: the pricing unit
        valid = validate(
            UsageInput(
                f"check-{n}",
                r.resource_id,
                r.kind.usage_type,
                r.quantity,
                r.start,
                r.end,
                sent_unit,
            ),
            facts.get(r.resource_id),
            units,
            now=NOW,
        )
        mine = (
            r.quantity,
            r.unit,
            r.kind.pricing_unit,
            r.quantity_e10,
            r.first_hour,
            r.last_hour,
            r.payload_hash,
        )
        theirs = (
            valid.quantity,
            valid.unit,
            valid.pricing_unit,
            valid.quantity_e10,
            valid.first_hour,
            valid.last_hour,
            valid.payload_hash,
        )
        assert mine == theirs, f"derived columns differ for {r}: {mine} != {theirs}"
    return len(records)


def sample_indexes(ds: DataSet, count: int = 300) -> list[tuple[int, int]]:
    """(resource, record) pairs covering every kind and the records that cross the hour."""
    rng = random.Random(ds.seed + 1)
    picks = {
        (rng.randrange(ds.size.resources), rng.randrange(ds.per_resource)) for _ in range(count)
    }
    crossing = [i for i in range(min(ds.size.resources, 1000)) if ds.crosses(i)]
    picks.update((i, ds.per_resource - 1) for i in crossing[:20])
    for k in range(len(KINDS)):
        first = next((i for i, kind in enumerate(ds.resource_kind) if kind == k), None)
        if first is not None:
            picks.add((first, 0))
    return sorted(picks)


@dataclass
class Books:
    ok: bool
    accounts: int
    transactions: int
    entries: int
    problems: list[str]

    def describe(self) -> str:
        state = "ok" if self.ok else "FAILED: " + "; ".join(self.problems[:5])
        return (
            f"{state} ({self.accounts:,} accounts, {self.transactions:,} transactions, "
            f"{self.entries:,} entries)"
        )


def verify_books(container: Container) -> Books:
    """cloudbill's ledger verification, plus: every customer's COUPON account holds the sum of
    their coupon balances."""
    with container.db.read() as conn:
        report = verify(conn)
        coupon_accounts = (
            conn.execute(
                select(exact_sum(ledger_account.c.balance_units)).where(
                    ledger_account.c.kind == str(AccountKind.COUPON)
                )
            ).scalar_one()
            or 0
        )
        coupon_rows = conn.execute(
            select(func.coalesce(func.sum(cash_coupon.c.balance_units), 0))
        ).scalar_one()
    problems = list(report.problems)
    if coupon_accounts != coupon_rows:
        problems.append(f"COUPON accounts hold {coupon_accounts}, coupons {coupon_rows}")
    return Books(not problems, report.accounts, report.transactions, report.entries, problems)
