"""A worker killed (SIGKILL) in the middle of settling a backlog, then restarted.

The database holds a backlog of several due hours with tens of thousands of usage records. A
`cloudbill worker run-due` process is started and killed at some moment (after its first
committed hour, after three, inside an hour's transaction, every worker in turn ...); workers
are then restarted until one says `nothing due`. Afterwards every hour must be settled exactly
once, every record billed exactly once, the books must verify, and the result must be exactly
what an uninterrupted worker produced on a copy of the same database.

The moments are found by reading the worker's `settled <hour>` lines, or more precisely by
watching `settlement_run` (and whether a write transaction is open) from this process.
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from cloudbill.benefits import service as benefits
from cloudbill.customers import service as customers
from cloudbill.customers.model import CustomerInput
from cloudbill.ingest import service as ingest
from cloudbill.ingest.model import UsageInput
from cloudbill.kernel.periods import utc
from cloudbill.resources import service as resources
from cloudbill.resources.model import ResourceInput
from cloudbill.store import clock_repo
from cloudbill.store.engine import Database
from cloudbill.store.migrate import migrate
from cloudbill.store.schema import (
    cash_coupon,
    customer,
    fee_record,
    ledger_account,
    outbox_event,
    package_usage,
    resource_package,
    settlement_run,
)

from ..conftest import _truncate_postgres, make_container
from ..helpers import billable_by_resource, created_before

CLI = str(Path(sys.executable).parent / "cloudbill")
USAGE_START = utc(2026, 3, 16, 1)  # the backlog: usage in hours 01:00 .. 06:00 (+ spill to 07:00)
HOURS = 6
CUSTOMERS = 40
RESOURCES = 200
PER_RESOURCE_HOUR = 25  # 6 x 200 x 25 = 30,000 records
NOW = USAGE_START + timedelta(hours=8)  # 09:00: hours 01:00 .. 07:00 are due
DUE_HOURS = [USAGE_START + timedelta(hours=h) for h in range(HOURS + 1)]
BATCH = 1000
WORKER_TIMEOUT_S = 300
EIP = ("hws.resource.type.ip", "traffic_bgp")
VMS = (("hws.resource.type.vm", "s6.large.2"), ("hws.resource.type.vm", "c7.large.2"))


# --- the backlog --------------------------------------------------------------------------------


def _customer_input(i: int) -> CustomerInput:
    if i % 4 in (2, 3):  # post-paid, some with a credit limit that runs out
        return CustomerInput(name=f"c{i:02d}", currency="USD", payment_mode="postpaid",
                             credit_limit="1" if i % 4 == 2 else "40")  # fmt: skip
    return CustomerInput(name=f"c{i:02d}", currency="USD")


def _resource_input(r: int, customer_ids: list[str]) -> ResourceInput:
    rtype, spec = EIP if r % 10 == 0 else VMS[r % 2]
    return ResourceInput(customer_id=customer_ids[r % CUSTOMERS], resource_type=rtype, spec=spec,
                         billing_mode="pay_per_use", region="ap-southeast-1", name=f"r{r:03d}",
                         id=f"r{r:03d}")  # fmt: skip


def _records() -> Iterator[UsageInput]:
    """25 records per resource and hour, staggered by resource; each hour's last record spills
    into the next hour."""
    step = 3600 // PER_RESOURCE_HOUR
    for h in range(HOURS):
        for r in range(RESOURCES):
            for k in range(PER_RESOURCE_HOUR):
                start = USAGE_START + timedelta(hours=h, seconds=k * step + r % 60)
                end = start + timedelta(seconds=step)
                if r % 10 == 0:
                    yield UsageInput(f"h{h}-r{r:03d}-{k}", f"r{r:03d}", "upflow",
                                     f"{(r + k) % 7}.125", start, end, "GB")  # fmt: skip
                else:
                    yield UsageInput(f"h{h}-r{r:03d}-{k}", f"r{r:03d}", "duration", str(step),
                                     start, end, "s")  # fmt: skip


def build_backlog(url: str) -> None:
    container = make_container(url, USAGE_START - timedelta(hours=1))

    def setup(conn, now):  # type: ignore[no-untyped-def]
        ids = [customers.create(conn, _customer_input(i), now=now).id for i in range(CUSTOMERS)]
        for r in range(RESOURCES):
            resources.register(conn, created_before(_resource_input(r, ids), now), now=now)
        for i, cid in enumerate(ids):
            if i % 4 == 0:
                customers.topup(conn, cid, "50", reference=f"top-{i}", now=now)
            elif i % 4 == 1:
                customers.topup(conn, cid, "0.4", reference=f"top-{i}", now=now)
            if i % 3 == 0:
                benefits.issue_coupon(conn, customer_id=cid, name=None, value="0.25",
                                      valid_from=None, valid_to=NOW + timedelta(days=30),
                                      reference=f"coupon-{i}", now=now)  # fmt: skip
            if i % 5 == 0:
                benefits.grant_package(conn, customer_id=cid, name=None, usage_type="duration",
                                       quantity="1.5", unit="h", resets_monthly=False,
                                       valid_from=USAGE_START, valid_to=NOW,
                                       reference=f"package-{i}", now=now)  # fmt: skip

    container.write(setup)
    container.write(lambda conn, now: clock_repo.advance(conn, NOW - now))
    batch: list[UsageInput] = []
    for record in _records():
        batch.append(record)
        if len(batch) == BATCH:
            container.write(lambda conn, now, b=batch: ingest.ingest_batch(conn, b, now=now))
            batch = []
    if batch:
        container.write(lambda conn, now, b=batch: ingest.ingest_batch(conn, b, now=now))
    container.db.dispose()


# --- watching and killing workers ---------------------------------------------------------------


def _env(url: str) -> dict[str, str]:
    return {**os.environ, "CLOUDBILL_DATABASE_URL": url, "PYTHONUNBUFFERED": "1"}


def start_worker(url: str, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [CLI, "worker", "run-due"], env=_env(url), cwd=cwd, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip


class Probe:
    """Watches a worker from outside: hours committed, and whether a write transaction is open."""

    def __init__(self, url: str) -> None:
        self.db = Database(url)
        self.raw = None
        if url.startswith("sqlite"):
            self.raw = sqlite3.connect(make_url(url).database, timeout=0, isolation_level=None)

    def settled(self) -> int:
        with self.db.read() as conn:
            return conn.execute(select(func.count()).select_from(settlement_run)).scalar_one()

    def writing(self) -> bool:
        if self.raw is not None:  # SQLite: can we take the write lock this instant?
            try:
                self.raw.execute("BEGIN IMMEDIATE")
                self.raw.execute("ROLLBACK")
                return False
            except sqlite3.OperationalError:
                return True
        with self.db.read() as conn:
            return bool(conn.execute(text(OTHER_OPEN_TRANSACTIONS)).scalar_one())

    def close(self) -> None:
        if self.raw is not None:
            self.raw.close()
        self.db.dispose()


OTHER_OPEN_TRANSACTIONS = (
    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
    "AND pid <> pg_backend_pid() AND xact_start IS NOT NULL AND state <> 'idle'"
)


def wait_for(proc: subprocess.Popen[str], ready: Callable[[], bool]) -> bool:
    """Poll until `ready()`; False if the worker ended first."""
    started = time.monotonic()
    while not ready():
        if proc.poll() is not None:
            return False
        if time.monotonic() - started > WORKER_TIMEOUT_S:
            raise AssertionError("the worker makes no progress")
        time.sleep(0.002)
    return True


def inside_hour(probe: Probe, committed: int) -> Callable[[], bool]:
    """Ready when the worker has committed `committed` hours and has held the write
    transaction of the next one open for a moment (startup writes are much shorter)."""

    def ready() -> bool:
        if probe.settled() != committed or not probe.writing():
            return False
        time.sleep(0.02)
        return probe.writing() and probe.settled() == committed

    return ready


def kill(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=WORKER_TIMEOUT_S)


def run_to_end(url: str, cwd: Path) -> str:
    proc = start_worker(url, cwd)
    out, err = proc.communicate(timeout=WORKER_TIMEOUT_S)
    assert proc.returncode == 0, (out, err)
    return out


def finish(url: str, cwd: Path) -> list[str]:
    """Restart workers until one finds nothing due; their outputs."""
    outputs = []
    for _ in range(5):
        outputs.append(run_to_end(url, cwd))
        if "nothing due" in outputs[-1]:
            return outputs
    raise AssertionError(f"the worker never reached `nothing due`: {outputs}")


@dataclass(frozen=True)
class KillPlan:
    name: str
    after_commits: int  # kill once this many hours are committed ...
    inside: bool = False  # ... or once the next hour's transaction is open after that
    workers: int = 1  # kill this many workers in turn, each one hour further on
    printed: bool = False  # kill when the worker prints its first `settled` line


def kill_workers(url: str, cwd: Path, plan: KillPlan) -> list[int]:
    """Run and kill workers by `plan`; the hours settled at each kill."""
    probe = Probe(url)
    seen = []
    try:
        for n in range(plan.workers):
            proc = start_worker(url, cwd)
            target = plan.after_commits + n
            if plan.printed:
                assert proc.stdout is not None
                line = proc.stdout.readline()
                assert line.startswith("settled "), line
            elif plan.inside:
                wait_for(proc, inside_hour(probe, target))
            else:
                wait_for(proc, lambda t=target: probe.settled() >= t)
            kill(proc)
            seen.append(probe.settled())
    finally:
        probe.close()
    return seen


# --- what the books say -------------------------------------------------------------------------


def books(url: str) -> dict[str, Any]:
    """Everything settlement wrote, keyed by stable names (ids differ between databases)."""
    db = Database(url)
    try:
        with db.read() as conn:
            names = dict(conn.execute(select(customer.c.id, customer.c.name)).all())
            runs = select(settlement_run.c.id, settlement_run.c.hour_start)
            hour_of = dict(conn.execute(runs).all())
            fees = sorted(
                (
                    hour_of[r.settlement_id],
                    names[r.customer_id],
                    r.resource_id,
                    r.usage_type,
                    r.hour_start,
                    r.is_late,
                    r.usage_e10,
                    r.package_usage_e10,
                    r.official_units,
                    r.discount_units,
                    r.amount_units,
                    r.coupon_units,
                    r.cash_units,
                    r.credit_units,
                    r.debt_units,
                )
                for r in conn.execute(select(fee_record))
            )
            packages = dict(
                conn.execute(select(resource_package.c.id, resource_package.c.reference)).all()
            )
            used = sorted(
                (
                    packages[r.package_id],
                    hour_of[r.settlement_id],
                    r.resource_id,
                    r.hour_start,
                    r.quantity_e10,
                )
                for r in conn.execute(select(package_usage))
            )
            accounts = sorted(
                (names[r.customer_id], r.kind, r.balance_units)
                for r in conn.execute(
                    select(ledger_account).where(ledger_account.c.customer_id.isnot(None))
                )
            )
            return {
                "hours": list(
                    conn.execute(
                        select(settlement_run.c.hour_start).order_by(settlement_run.c.hour_start)
                    ).scalars()
                ),
                "fees": fees,
                "package_usage": used,
                "accounts": accounts,
                "coupons": sorted(
                    map(
                        tuple,
                        conn.execute(select(cash_coupon.c.reference, cash_coupon.c.balance_units)),
                    )
                ),
                "events": sorted(
                    (r.topic, names.get(r.subject_id, r.subject_id), r.subject_seq)
                    for r in conn.execute(select(outbox_event))
                ),
                "arrears": sorted(
                    (r.name, r.arrears_since) for r in conn.execute(select(customer))
                ),
                # as settlement bills it: each hour's piece truncated on its own
                "usage_total": sum(billable_by_resource(conn).values()),
                "usage_by_resource": billable_by_resource(conn),
            }
    finally:
        db.dispose()


def assert_settled_exactly_once(url: str, cwd: Path, expected: dict[str, Any]) -> None:
    got = books(url)
    hours = got["hours"]
    assert len(hours) == len(set(hours)), "an hour was settled twice"
    assert hours == DUE_HOURS, "settled hours are not the contiguous due hours"
    assert sum(f[6] for f in got["fees"]) == got["usage_total"] == expected["usage_total"]
    billed: dict[str, int] = {}
    for f in got["fees"]:
        billed[f[2]] = billed.get(f[2], 0) + f[6]
    assert billed == got["usage_by_resource"], "some resource's usage was lost or billed twice"
    keys = {(f[0], f[1], f[2], f[3], f[4]) for f in got["fees"]}
    assert len(keys) == len(got["fees"]), "two fee records for one resource, usage type and hour"
    verify = subprocess.run([CLI, "verify"], env=_env(url), cwd=cwd, text=True,
                            capture_output=True, timeout=WORKER_TIMEOUT_S)  # fmt: skip
    assert verify.returncode == 0, verify.stdout + verify.stderr
    for part in expected:
        assert got[part] == expected[part], f"{part} differ from an uninterrupted settlement"


# --- fixtures -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def backlog_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("crash") / "backlog.sqlite"
    url = f"sqlite:///{path}"
    db = Database(url)
    migrate(db)
    db.dispose()
    build_backlog(url)
    return path


def _copy_sqlite(source: Path, target: Path) -> str:
    shutil.copyfile(source, target)
    for suffix in ("-wal", "-shm"):
        if Path(f"{source}{suffix}").exists():
            shutil.copyfile(f"{source}{suffix}", f"{target}{suffix}")
    return f"sqlite:///{target}"


@pytest.fixture(scope="module")
def uninterrupted(backlog_file: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The books of a worker that is left alone."""
    workdir = tmp_path_factory.mktemp("clean")
    url = _copy_sqlite(backlog_file, workdir / "clean.sqlite")
    out = run_to_end(url, workdir)
    assert out.count("settled ") == len(DUE_HOURS), out
    assert "nothing due" in run_to_end(url, workdir)
    result = books(url)
    assert result["hours"] == DUE_HOURS
    assert sum(f[6] for f in result["fees"]) == result["usage_total"]
    # the backlog exercises coupons, cash, credit and debt
    assert all(any(f[i] for f in result["fees"]) for i in (11, 12, 13, 14))
    return result


PLANS = [
    KillPlan("on-the-first-settled-line", after_commits=1, printed=True),
    KillPlan("right-after-the-first-hour", after_commits=1),
    KillPlan("right-after-three-hours", after_commits=3),
    KillPlan("inside-the-first-hour", after_commits=0, inside=True),
    KillPlan("inside-the-third-hour", after_commits=2, inside=True),
    KillPlan("inside-the-last-busy-hour", after_commits=HOURS - 1, inside=True),
    KillPlan("four-workers-each-inside-the-next-hour", after_commits=0, inside=True, workers=4),
    KillPlan("four-workers-each-after-one-more-hour", after_commits=1, workers=4),
]


@pytest.mark.parametrize("plan", PLANS, ids=[p.name for p in PLANS])
def test_sqlite_worker_killed_mid_settlement(
    plan: KillPlan, backlog_file: Path, uninterrupted: dict[str, Any], tmp_path: Path
) -> None:
    url = _copy_sqlite(backlog_file, tmp_path / "crash.sqlite")
    seen = kill_workers(url, tmp_path, plan)
    assert seen[-1] < len(DUE_HOURS), f"every hour was settled before the kill: {seen}"
    finish(url, tmp_path)
    assert_settled_exactly_once(url, tmp_path, uninterrupted)


PG_PLANS = [PLANS[0], PLANS[4], PLANS[6]]


@pytest.mark.postgres
@pytest.mark.parametrize("plan", PG_PLANS, ids=[p.name for p in PG_PLANS])
def test_postgres_worker_killed_mid_settlement(
    plan: KillPlan, postgres_database: str, uninterrupted: dict[str, Any], tmp_path: Path
) -> None:
    """The same on PostgreSQL; the uninterrupted SQLite books are the expectation here too."""
    _truncate_postgres(postgres_database)
    build_backlog(postgres_database)
    seen = kill_workers(postgres_database, tmp_path, plan)
    assert seen[-1] < len(DUE_HOURS), f"every hour was settled before the kill: {seen}"
    finish(postgres_database, tmp_path)
    assert_settled_exactly_once(postgres_database, tmp_path, uninterrupted)
