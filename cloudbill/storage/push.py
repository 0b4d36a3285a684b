"""The bill storage job: every day after the lateness window, each enabled customer's files of
the previous day (and of every day missed while the worker was down) go to their bucket.

A file is a version of its records: it is pushed when its records' fingerprint differs from
the current version's (a late record, an adjustment), never again otherwise, so running the
job twice writes nothing the second time. Each version's data files go to their own folder,
then its manifest, then the current manifest (written last: a reader who finds it finds
every file it names). Each day pushed is a recorded job with its outcome; a bucket that
fails on `failure_days` days in a row switches storage off and the customer is told."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import SQLAlchemyError

from ..bills import repo as bills_repo
from ..bills.export import COLUMNS as EXPORT_COLUMNS
from ..bills.model import EXPORT_CHUNK_ROWS, FIGURES, FeeGroup, FeeRecord
from ..bills.views import fee_group_view, fee_record_view
from ..credentials.sealing import SecretBox
from ..customers import service as customers
from ..customers.model import Customer
from ..kernel.errors import CloudbillError, ErrorCode
from ..kernel.periods import Period, zone
from ..observe import logs
from ..store.schema import fee_record
from . import bucket, files, repo, rules
from .model import (
    BillFile,
    BucketError,
    FileSpec,
    Problem,
    PushedVersion,
    StorageConfig,
    Target,
)
from .service import Database, disable, target_of

log = logs.get("cloudbill.storage")

DAYS_PER_PASS = 62  # a pass catches up two months at most; the next pass goes on
CUSTOMERS_PER_PAGE = 100
# Every field of the fee records, order records among them (their order id, line, and the
# span they pay for), amounts as exact 8-decimal text.
EXPENDITURE_COLUMNS = (*EXPORT_COLUMNS, "line_no")
RESOURCE_COLUMNS = (
    "bill_type", "resource_id", "resource_name", "service", "resource_type", "spec", "region",
    "billing_mode", "usage_type", "pricing_unit", "first_hour", "last_hour", "records",
    "late_records", "usage", "package_usage", *FIGURES, "currency",
)  # fmt: skip


@dataclass
class PushReport:
    days: int = 0
    files: int = 0
    failed: list[str] = field(default_factory=list)  # customer ids whose push failed
    disabled: list[str] = field(default_factory=list)


def exact8(units: int) -> str:
    """Counts of 10**-8 as exact text with all 8 decimals (never rounded, never a float);
    integer arithmetic: this runs for every figure of every row pushed."""
    whole, fraction = divmod(abs(units), 10**8)
    return f"{'-' if units < 0 else ''}{whole}.{fraction:08d}"


def _text(value: object) -> str:
    return "" if value is None else str(value)


def expenditure_row(r: FeeRecord, tz_name: str) -> list[str]:
    view = fee_record_view(r, with_figures=False)
    view["hour_start_local"] = r.hour_start.astimezone(zone(tz_name)).isoformat()
    view["is_late"] = "true" if r.is_late else "false"
    view["line_no"] = r.line_no
    view |= {name: exact8(units) for name, units in r.figures.units().items()}
    return [_text(view[c]) for c in EXPENDITURE_COLUMNS]


def resource_row(g: FeeGroup) -> list[str]:
    figures = {n: exact8(u) for n, u in g.figures.units().items()}
    view = fee_group_view(g, with_figures=False) | figures
    return [_text(view[c]) for c in RESOURCE_COLUMNS]


def _where(customer_id: str, spec: FileSpec, high_water: int | None = None) -> list[Any]:
    where = bills_repo.scope(customer_id, Period(spec.start, spec.end))
    return where if high_water is None else [*where, fee_record.c.id <= high_water]


def fingerprint(conn: Connection, customer_id: str, spec: FileSpec) -> tuple[str, int]:
    """(fingerprint, high water) of the records the file holds now. Fee records are
    append-only, so their count, highest id and sums change whenever the file would."""
    where = _where(customer_id, spec)
    figures, count, _ = bills_repo.totals(conn, where)
    high = bills_repo.max_fee_id(conn, where)
    sums = ",".join(str(v) for v in figures.units().values())
    text = f"{spec.kind}|{spec.start.isoformat()}|{spec.end.isoformat()}|{count}|{high}|{sums}"
    return hashlib.sha256(text.encode()).hexdigest(), high


def _rows(
    conn: Connection, customer: Customer, spec: FileSpec, high_water: int
) -> Iterator[list[str]]:
    """The file's rows from the database, a page at a time (keyset paging for records)."""
    where = _where(customer.id, spec, high_water)
    if spec.kind is BillFile.EXPENDITURES:
        last: FeeRecord | None = None
        while True:
            page = bills_repo.export_chunk(conn, where, after=last, limit=EXPORT_CHUNK_ROWS)
            yield from (expenditure_row(r, customer.timezone) for r in page)
            if len(page) < EXPORT_CHUNK_ROWS:
                return
            last = page[-1]
    offset = 0
    while True:
        groups, _ = bills_repo.fee_groups_page(
            conn, where, None, limit=EXPORT_CHUNK_ROWS, offset=offset
        )
        yield from (resource_row(g) for g in groups)
        if len(groups) < EXPORT_CHUNK_ROWS:
            return
        offset += len(groups)


@dataclass(frozen=True, slots=True)
class _Context:
    config: StorageConfig
    target: Target
    customer: Customer
    max_rows: int


def _push_file(db: Database, s3: Any, ctx: _Context, spec: FileSpec) -> int:
    """Push the file's next version when its records changed; returns 1 if pushed."""
    cid = ctx.customer.id

    def look(conn: Connection, now: datetime) -> tuple[str, int, list[PushedVersion], datetime]:
        return (*fingerprint(conn, cid, spec), repo.versions_of(conn, cid, spec.name), now)

    digest, high, versions, now = db.read(look)
    if versions and versions[-1].fingerprint == digest:
        return 0
    version = versions[-1].version + 1 if versions else 1
    columns = EXPENDITURE_COLUMNS if spec.kind is BillFile.EXPENDITURES else RESOURCE_COLUMNS
    fmt, prefix = ctx.config.file_format, ctx.target.prefix

    def write_data(conn: Connection, _now: datetime) -> list[dict[str, Any]]:
        listed = []
        rows = _rows(conn, ctx.customer, spec, high)
        for part in files.parts(rows, columns, fmt, max_rows=ctx.max_rows):
            key = rules.data_key(prefix, spec, version, part.number, fmt)
            with part.file:
                bucket.put(
                    s3, ctx.target.bucket, key, part.file, content_type=files.CONTENT_TYPES[fmt]
                )
            listed.append(
                {"key": key, "rows": part.rows, "bytes": part.size, "sha256": part.sha256}
            )
        return listed

    listed = db.read(write_data)
    body = files.manifest(
        spec, customer_id=cid, timezone=ctx.customer.timezone, currency=ctx.customer.currency,
        fmt=fmt, columns=columns, files=listed, version=version,
        versions=[*(v.version for v in versions), version], fingerprint=digest,
        generated_at=now.isoformat(),
    )  # fmt: skip
    for key in (rules.version_manifest_key(prefix, spec, version),
                rules.current_manifest_key(prefix, spec)):  # fmt: skip
        bucket.put(s3, ctx.target.bucket, key, body, content_type="application/json")
    pushed = PushedVersion(
        spec.name, spec.billing_period, version, digest, high, sum(f["rows"] for f in listed),
        len(listed), rules.current_manifest_key(prefix, spec), now,
    )  # fmt: skip
    try:
        db.write(lambda conn, _now: repo.add_version(conn, cid, pushed))
    except CloudbillError as exc:
        if exc.code is not ErrorCode.ALREADY_EXISTS:
            raise
        return 0  # another worker pushed this version first: the same bytes, written once more
    return 1


def _previous_period(day: date) -> str:
    first = day.replace(day=1) - timedelta(days=1)
    return f"{first.year:04d}-{first.month:02d}"


def push_day(db: Database, s3: Any, ctx: _Context, day: date) -> int:
    """The day's files (those already pushed unchanged are left as they are)."""
    specs = rules.files_of_day(day, ctx.customer.timezone, ctx.config.bills)
    return sum(_push_file(db, s3, ctx, s) for s in specs)


def recheck(db: Database, s3: Any, ctx: _Context, last_day: date) -> int:
    """Every file of the last pushed day's billing period and the one before whose records
    changed since it was pushed (late usage, adjustments): a new version each. Runs every
    pass, so a change is pushed even when no new day is due."""
    periods = [f"{last_day.year:04d}-{last_day.month:02d}", _previous_period(last_day)]
    current = db.read(lambda conn, _now: repo.latest_versions(conn, ctx.customer.id, periods))
    pushed = 0
    for version in current:
        spec = rules.spec_of(version.name, version.billing_period, ctx.customer.timezone)
        if spec.kind in ctx.config.bills:
            pushed += _push_file(db, s3, ctx, spec)
    return pushed


def push_customer(
    db: Database, box: SecretBox, customer_id: str, *, lateness: timedelta, max_rows: int,
    failure_days: int, wall_now: datetime, report: PushReport,
) -> None:  # fmt: skip
    """Every due day of one customer, oldest first; stops at the first failure."""

    def load(conn: Connection, now: datetime) -> tuple[StorageConfig | None, Customer, datetime]:
        return repo.get(conn, customer_id), customers.get(conn, customer_id), now

    config, customer, now = db.read(load)
    if config is None or not config.enabled or config.next_day is None:
        return
    days = rules.due_days(
        config.next_day, customer.timezone, lateness=lateness, now=now, limit=DAYS_PER_PASS
    )
    target = target_of(config, box)
    ctx = _Context(config, target, customer, max_rows)
    last = days[-1] if days else config.next_day - timedelta(days=1)
    try:
        s3 = bucket.client(target)
    except ValueError as exc:  # an endpoint the client refuses: this bucket's failure
        error = BucketError(Problem.ENDPOINT_UNREACHABLE, str(exc)[:200])
        _failed(db, customer, days[0] if days else last, error, started=wall_now,
                limit_days=failure_days, report=report)  # fmt: skip
        return
    for day in [*days, None]:
        started = wall_now
        try:
            count = push_day(db, s3, ctx, day) if day else recheck(db, s3, ctx, last)
        except BucketError as error:
            _failed(db, customer, day or last, error, started=started, limit_days=failure_days,
                    report=report)  # fmt: skip
            return
        if day is None:
            if count:  # a recheck that pushed new versions is a recorded job of its own
                _succeeded(db, customer.id, last, count, started=started, advance=False)
            report.files += count
            continue
        _succeeded(db, customer.id, day, count, started=started)
        report.days += 1
        report.files += count


def _succeeded(
    db: Database, customer_id: str, day: date, count: int, *, started: datetime,
    advance: bool = True,
) -> None:  # fmt: skip
    def save(conn: Connection, now: datetime) -> None:
        repo.record_push(
            conn, customer_id, day=day.isoformat(), outcome="ok", files_written=count, rows=0,
            problem=None, error=None, started_at=started, finished_at=now,
        )  # fmt: skip
        values: dict[str, Any] = {"failure_days": 0, "last_failure_on": None}
        if advance:
            values["next_day"] = (day + timedelta(days=1)).isoformat()
        repo.upsert(conn, customer_id, values, now=now)

    db.write(save)


def _failed(
    db: Database, customer: Customer, day: date, error: BucketError, *, started: datetime,
    limit_days: int, report: PushReport,
) -> None:  # fmt: skip
    def save(conn: Connection, now: datetime) -> bool:
        config = repo.get(conn, customer.id)
        assert config is not None
        today = now.astimezone(zone(customer.timezone)).date()
        days, switch_off = rules.after_failure(
            config.failure_days, config.last_failure_on, today, limit_days=limit_days
        )
        repo.record_push(
            conn, customer.id, day=day.isoformat(), outcome="failed", files_written=0, rows=0,
            problem=str(error.problem), error=error.message[:512], started_at=started,
            finished_at=now,
        )  # fmt: skip
        values = {"failure_days": days, "last_failure_on": today.isoformat()}
        repo.upsert(conn, customer.id, values, now=now)
        if switch_off:
            reason = f"the bucket failed {days} days in a row ({error.problem}: {error.message})"
            disable(conn, customer.id, now=now, reason=reason[:512])
        return switch_off

    report.failed.append(customer.id)
    if db.write(save):
        report.disabled.append(customer.id)


def push_due(
    db: Database, box: SecretBox, *, lateness: timedelta, max_rows: int, failure_days: int,
    wall_now: datetime,
) -> PushReport:  # fmt: skip
    """Every enabled customer, a page at a time; one customer's failing bucket never stops
    the others."""
    report = PushReport()
    after = ""
    while True:
        page = db.read(
            lambda conn, _now, a=after: repo.enabled_customers(
                conn, after=a, limit=CUSTOMERS_PER_PAGE
            )
        )
        for customer_id in page:
            try:
                push_customer(
                    db, box, customer_id, lateness=lateness, max_rows=max_rows,
                    failure_days=failure_days, wall_now=wall_now, report=report,
                )  # fmt: skip
            except SQLAlchemyError:
                raise  # the database, not this customer: the pass stops and runs again
            except Exception as exc:  # whatever this customer's settings break: the others go on
                report.failed.append(customer_id)
                log.warning(
                    "bill storage push failed", customer_id=customer_id, error=type(exc).__name__
                )
        if len(page) < CUSTOMERS_PER_PAGE:
            return report
        after = page[-1]
