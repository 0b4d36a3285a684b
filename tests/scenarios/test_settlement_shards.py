"""Settlement sharded by customer over four worker processes on PostgreSQL, killed (SIGKILL) and
restarted at random while they settle a backlog.

The backlog is the crash test's (40 customers, 30,000 records over seven due hours, coupons,
packages, cash, credit and debt). Four `cloudbill worker run-due` processes with four shards
run at once; a random one is killed every few tenths of a second and replaced by a new one,
until the kills are spent; then workers are run until one says `nothing due`. Afterwards every
shard has settled every due hour exactly once, every record was billed once, the books verify,
and every fee, package use, balance, coupon, event and arrears date equals what one
uninterrupted, unsharded worker produced from the same backlog (on SQLite)."""

from __future__ import annotations

import os
import random
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from cloudbill.settle.shards import shard_of
from cloudbill.store.engine import Database
from cloudbill.store.schema import customer, fee_record, settlement_lease, settlement_run

from ..conftest import _truncate_postgres
from .test_settlement_crash import (  # noqa: F401 (fixtures)
    CLI,
    DUE_HOURS,
    WORKER_TIMEOUT_S,
    backlog_file,
    books,
    build_backlog,
    uninterrupted,
)

SHARDS = 4
WORKERS = 4
KILLS = 10
SEED = int(os.environ.get("CLOUDBILL_TEST_SEED", "20261207"))


def _env(url: str) -> dict[str, str]:
    return {
        **os.environ,
        "CLOUDBILL_DATABASE_URL": url,
        "CLOUDBILL_SETTLEMENT_SHARDS": str(SHARDS),
        "CLOUDBILL_SETTLEMENT_LEASE_S": "5",
        "PYTHONUNBUFFERED": "1",
    }


def _start(url: str, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([CLI, "worker", "run-due"], env=_env(url), cwd=cwd, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip


def _kill_at_random(url: str, cwd: Path, rng: random.Random) -> int:
    """Run WORKERS workers, killing a random live one and starting another KILLS times; wait
    for the last ones to end. How many kills hit a worker still at work."""
    procs = [_start(url, cwd) for _ in range(WORKERS)]
    busy_kills = 0
    for _ in range(KILLS):
        time.sleep(rng.uniform(0.05, 0.6))
        victim = rng.randrange(len(procs))
        proc = procs[victim]
        if proc.poll() is None:
            busy_kills += 1
            proc.kill()  # SIGKILL
        proc.communicate(timeout=WORKER_TIMEOUT_S)
        procs[victim] = _start(url, cwd)
    for proc in procs:
        out, err = proc.communicate(timeout=WORKER_TIMEOUT_S)
        assert proc.returncode == 0, (out, err)
    return busy_kills


def _finish(url: str, cwd: Path) -> None:
    for _ in range(5):
        done = subprocess.run([CLI, "worker", "run-due"], env=_env(url), cwd=cwd, text=True,
                              capture_output=True, timeout=WORKER_TIMEOUT_S)  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
        if "nothing due" in done.stdout:
            return
    raise AssertionError("the workers never reached `nothing due`")


def _runs_by_shard(url: str) -> dict[int, list[Any]]:
    db = Database(url)
    try:
        with db.read() as conn:
            runs: dict[int, list[Any]] = {}
            for shard, hour in conn.execute(
                select(settlement_run.c.shard, settlement_run.c.hour_start).order_by(
                    settlement_run.c.shard, settlement_run.c.hour_start
                )
            ):
                runs.setdefault(shard, []).append(hour)
            # every fee was written by the run of its customer's shard
            shard_of_run = dict(
                conn.execute(select(settlement_run.c.id, settlement_run.c.shard)).all()
            )
            for settlement_id, customer_id in conn.execute(
                select(fee_record.c.settlement_id, fee_record.c.customer_id).where(
                    fee_record.c.settlement_id.is_not(None)
                )
            ):
                assert shard_of_run[settlement_id] == shard_of(customer_id, SHARDS)
            customers = conn.execute(select(customer.c.id)).scalars().all()
            assert len({shard_of(c, SHARDS) for c in customers}) == SHARDS
            leases = conn.execute(select(settlement_lease.c.shard)).scalars().all()
            assert sorted(leases) == list(range(SHARDS))
            return runs
    finally:
        db.dispose()


@pytest.mark.postgres
def test_four_sharded_workers_killed_at_random_settle_every_hour_once(
    postgres_database: str,
    uninterrupted: dict[str, Any],  # noqa: F811
    tmp_path: Path,
) -> None:
    _truncate_postgres(postgres_database)
    build_backlog(postgres_database)
    rng = random.Random(SEED)
    busy_kills = _kill_at_random(postgres_database, tmp_path, rng)
    assert busy_kills >= 1, f"seed {SEED}: no kill hit a worker at work"
    _finish(postgres_database, tmp_path)

    runs = _runs_by_shard(postgres_database)
    assert runs == {shard: DUE_HOURS for shard in range(SHARDS)}, f"seed {SEED}"
    got = books(postgres_database)
    assert sum(f[6] for f in got["fees"]) == got["usage_total"] == uninterrupted["usage_total"]
    keys = {(f[0], f[1], f[2], f[3], f[4]) for f in got["fees"]}
    assert len(keys) == len(got["fees"]), "two fee records for one resource, usage type and hour"
    for part in ("fees", "package_usage", "accounts", "coupons", "events", "arrears"):
        assert got[part] == uninterrupted[part], f"seed {SEED}: {part} differ"
    verify = subprocess.run([CLI, "verify"], env=_env(postgres_database), cwd=tmp_path, text=True,
                            capture_output=True, timeout=WORKER_TIMEOUT_S)  # fmt: skip
    assert verify.returncode == 0, verify.stdout + verify.stderr
