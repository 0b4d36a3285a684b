"""Four `cloudbill worker run` processes and an API process on one PostgreSQL database, under a
minute of mixed load from API clients: top-ups, withdrawals, charges into debt, usage batches,
balance-alert changes, yearly/monthly orders, settlements run through the API, reads, and the
simulated clock moving an hour every few seconds so that every worker has hours to settle,
customers run out of money, notices are sent and post-paid bills are issued.

What must hold: no answer is a 5xx or a 409 other than the business refusals asked for (a lost
race is never the client's problem), no worker pass fails and no write is retried (the logs),
PostgreSQL counts no deadlock, every hour is settled exactly once, every usage record is billed
exactly once, and the books balance.

PostgreSQL only (SQLite has one writer, which test_settlement_race covers); it is skipped, loudly,
without CLOUDBILL_TEST_POSTGRES_URL, and fails under CI without it."""

from __future__ import annotations

import os
import random
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select, text

from cloudbill.bootstrap import build
from cloudbill.config import Settings
from cloudbill.store.engine import Database
from cloudbill.store.schema import fee_record, settlement_run, usage_record

from ..conftest import T0, empty_postgres_database
from ..helpers import assert_books_balance
from ..notice_servers import SmtpSink
from .test_serve import CLOUDBILL, _wait_until_healthy, free_port

WORKERS = 4
LOAD_S = float(os.environ.get("CLOUDBILL_TEST_LOAD_S", "60"))
CLIENTS = 8
CUSTOMERS = 12
RESOURCES_EACH = 3
CLOCK_STEP_S = 2  # wall seconds between simulated hours
TOKEN = "load-test-operator-token"
API = "/operator/v1"
HOUR = timedelta(hours=1)
# A 409 the client asked for (a withdrawal beyond the balance, or while in debt); any other
# 409 (ALREADY_EXISTS, INVALID_STATE, IDEMPOTENCY_CONFLICT) would be a lost race.
BUSINESS_REFUSALS = {"INSUFFICIENT_BALANCE", "CUSTOMER_IN_ARREARS", "CUSTOMER_FROZEN"}


# What a worker or API process logs when a pass fails or a write had to be tried again.
FAILURE_SIGNS = ("pass failed", "Traceback", '"level": "error"', "deadlocked", "lost a race")


def _code(response: httpx.Response) -> str | None:
    try:
        return response.json()["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return None


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    sink = SmtpSink()
    yield sink
    sink.close()


def _env(url: str, smtp: SmtpSink) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLOUDBILL_")}
    env.update(
        CLOUDBILL_DATABASE_URL=url,
        CLOUDBILL_CLOCK="simulated",
        CLOUDBILL_OPERATOR_TOKEN=TOKEN,
        CLOUDBILL_LOG_FORMAT="json",
        CLOUDBILL_SMTP_HOST="127.0.0.1",
        CLOUDBILL_SMTP_PORT=str(smtp.port),
        CLOUDBILL_SMTP_STARTTLS="false",
        CLOUDBILL_SMTP_FROM="billing@provider.test",
        CLOUDBILL_SETTLEMENT_LATENESS_S="60",
        CLOUDBILL_ORDER_PAYMENT_HOURS="2",  # unpaid orders expire during the run
        NO_COLOR="1",
    )
    return env


class Tally:
    """Every answer the clients got, and the ones that must not happen."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.statuses: Counter[int] = Counter()
        self.bad: list[str] = []
        self.usage_accepted = 0

    def note(self, what: str, response: httpx.Response) -> httpx.Response:
        with self.lock:
            self.statuses[response.status_code] += 1
            refused = response.status_code == 409 and _code(response) not in BUSINESS_REFUSALS
            if response.status_code >= 500 or refused:
                self.bad.append(f"{what}: {response.status_code} {response.text[:300]}")
        return response


def _setup(http: httpx.Client) -> tuple[list[str], list[str]]:
    http.post(f"{API}/clock/simulate", json={"at": T0.isoformat()}).raise_for_status()
    customers, resources = [], []
    for i in range(CUSTOMERS):
        postpaid = i % 3 == 2
        body = {
            "name": f"load-{i}",
            "currency": "USD",
            "email": f"c{i}@load.test",
            "payment_mode": "postpaid" if postpaid else "prepaid",
            "credit_limit": "5" if postpaid else "0",
        }
        r = http.post(f"{API}/customers", json=body)
        r.raise_for_status()
        cid = r.json()["id"]
        customers.append(cid)
        http.post(
            f"{API}/customers/{cid}/topups", json={"amount": "3", "reference": f"seed-{i}"}
        ).raise_for_status()
        http.put(
            f"{API}/customers/{cid}/balance-alert", json={"enabled": True, "threshold": "2"}
        ).raise_for_status()
        for k in range(RESOURCES_EACH):
            rid = f"vm-{i}-{k}"
            http.post(
                f"{API}/resources",
                json={
                    "customer_id": cid,
                    "resource_type": "hws.resource.type.vm",
                    "spec": "s6.large.2",
                    "region": "ap-southeast-1",
                    "name": rid,
                    "id": rid,
                },
            ).raise_for_status()
            resources.append(rid)
    return customers, resources


def _now(http: httpx.Client) -> datetime:
    return datetime.fromisoformat(http.get(f"{API}/clock").json()["now"])


def _client(base: str, customers: list[str], resources: list[str], tally: Tally,
            stop: threading.Event, seed: int) -> None:  # fmt: skip
    rnd = random.Random(seed)
    n = 0
    with httpx.Client(
        base_url=base, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60
    ) as http:
        while not stop.is_set():
            n += 1
            cid = rnd.choice(customers)
            op = rnd.random()
            ref = f"s{seed}-{n}"
            if op < 0.2:
                tally.note("topup", http.post(f"{API}/customers/{cid}/topups",
                           json={"amount": str(rnd.randint(1, 4)), "reference": ref}))  # fmt: skip
            elif op < 0.3:
                tally.note("withdraw", http.post(f"{API}/customers/{cid}/withdrawals",
                           json={"amount": "0.5", "reference": ref}))  # fmt: skip
            elif op < 0.4:
                tally.note("charge", http.post(f"{API}/customers/{cid}/adjustments", json={
                    "amount": str(rnd.randint(1, 3)), "direction": "charge",
                    "reason": "load", "reference": ref}))  # fmt: skip
            elif op < 0.45:
                alert = {"enabled": True, "threshold": str(rnd.randint(1, 5))}
                tally.note("alert", http.put(f"{API}/customers/{cid}/balance-alert", json=alert))
            elif op < 0.7:
                now = _now(http)
                start = now.replace(minute=0, second=0, microsecond=0) - HOUR
                batch = []
                for j in range(5):
                    rid = rnd.choice(resources)
                    s = start + timedelta(minutes=rnd.randint(0, 50))
                    batch.append({"record_id": f"{ref}-{j}", "resource_id": rid,
                                  "usage_type": "duration", "quantity": "600", "unit": "s",
                                  "start": s.isoformat(),
                                  "end": (s + timedelta(minutes=10)).isoformat()})  # fmt: skip
                r = tally.note("usage", http.post(f"{API}/usage-records", json={"records": batch}))
                if r.status_code == 200:
                    with tally.lock:
                        tally.usage_accepted += r.json()["accepted"]
            elif op < 0.75:
                tally.note("run-due", http.post(f"{API}/settlements/run-due"))
            elif op < 0.8:
                item = {"resource_type": "hws.resource.type.vm", "spec": "s6.large.2",
                        "region": "ap-southeast-1", "name": ref, "period_unit": "month",
                        "period_count": 1}  # fmt: skip
                r = tally.note("order", http.post(f"{API}/customers/{cid}/orders", json={
                    "items": [item], "auto_renew": True, "reference": ref}))  # fmt: skip
                if r.status_code == 201 and rnd.random() < 0.5:  # the rest expire unpaid
                    order = r.json()["id"]
                    tally.note("pay", http.post(f"{API}/customers/{cid}/orders/{order}/pay",
                               json={"reference": f"{ref}-pay"}))  # fmt: skip
            else:
                what = rnd.choice(
                    [f"/customers/{cid}/overview", f"/customers/{cid}/history", "/notices",
                     "/settlements", f"/customers/{cid}/postpaid-bills"]
                )  # fmt: skip
                tally.note("read " + what, http.get(API + what))


def _clock(base: str, tally: Tally, stop: threading.Event) -> None:
    with httpx.Client(
        base_url=base, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60
    ) as http:
        while not stop.wait(CLOCK_STEP_S):
            tally.note("clock", http.post(f"{API}/clock/advance", json={"hours": 1}))


def test_four_workers_and_api_clients_on_postgres(tmp_path: Path, smtp: SmtpSink) -> None:
    with empty_postgres_database() as url:
        env = _env(url, smtp)
        migrate = subprocess.run([str(CLOUDBILL), "migrate"], env=env, capture_output=True,
                                 text=True, timeout=120)  # fmt: skip
        assert migrate.returncode == 0, migrate.stderr
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        procs: list[tuple[subprocess.Popen[bytes], Path]] = []

        def start(name: str, *args: str) -> subprocess.Popen[bytes]:
            log = tmp_path / f"{name}.log"
            with log.open("wb") as out:
                p = subprocess.Popen([str(CLOUDBILL), *args], env=env, cwd=tmp_path,
                                     stdout=out, stderr=subprocess.STDOUT)  # fmt: skip
            procs.append((p, log))
            return p

        try:
            server = start("api", "serve", "--no-worker", "--host", "127.0.0.1",
                           "--port", str(port), "--bss-port", str(free_port()))  # fmt: skip
            _wait_until_healthy(server, base, tmp_path / "api.log")
            with httpx.Client(
                base_url=base, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60
            ) as http:
                customers, resources = _setup(http)
            for w in range(WORKERS):
                start(f"worker{w}", "worker", "run", "--interval", "1")
            tally, stop = Tally(), threading.Event()
            threads = [
                threading.Thread(target=_client,
                                 args=(base, customers, resources, tally, stop, seed))
                for seed in range(CLIENTS)
            ] + [threading.Thread(target=_clock, args=(base, tally, stop))]  # fmt: skip
            for t in threads:
                t.start()
            time.sleep(LOAD_S)
            stop.set()
            for t in threads:
                t.join(timeout=120)
            time.sleep(3)  # the workers finish the hours due now
        finally:
            for p, _log in procs:
                p.terminate()
            for p, _log in procs:
                try:
                    p.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    p.kill()
        logs = {log.name: log.read_text() for _p, log in procs}
        failures = [
            f"{name}: {line}"
            for name, text in logs.items()
            for line in text.splitlines()
            if any(sign in line for sign in FAILURE_SIGNS)
        ]
        assert not tally.bad, "\n".join(tally.bad[:20])
        assert not failures, "\n".join(failures[:20])
        assert sum(tally.statuses.values()) > 200, tally.statuses
        assert tally.usage_accepted > 100, tally.statuses

        # Settle what is still due with one more pass, then check the whole history.
        final = subprocess.run([str(CLOUDBILL), "worker", "run-due"], env=env,
                               capture_output=True, text=True, timeout=300)  # fmt: skip
        assert final.returncode == 0, final.stderr
        db = Database(url)
        try:
            with db.read() as conn:
                hours = sorted(conn.execute(select(settlement_run.c.hour_start)).scalars())
                # What the last run has seen of the hours settled: every record is inside one
                # hour; records that came after the last run, or of an hour not due yet, wait.
                last = conn.execute(
                    select(settlement_run.c.watermark_seq, settlement_run.c.hour_start)
                    .order_by(settlement_run.c.hour_start.desc()).limit(1)
                ).one()  # fmt: skip
                usage = conn.execute(
                    select(func.sum(usage_record.c.quantity_e10)).where(
                        usage_record.c.seq <= last.watermark_seq,
                        usage_record.c.end_at <= last.hour_start + HOUR,
                    )
                ).scalar()
                billed = conn.execute(  # pay-per-use fees (orders' fees have no settlement)
                    select(func.sum(fee_record.c.usage_e10))
                    .where(fee_record.c.settlement_id.is_not(None))
                ).scalar()  # fmt: skip
                regular = conn.execute(
                    select(fee_record.c.resource_id, fee_record.c.usage_type,
                           fee_record.c.hour_start, func.count())
                    .where(fee_record.c.is_late.is_(False), fee_record.c.settlement_id.is_not(None))
                    .group_by(fee_record.c.resource_id, fee_record.c.usage_type,
                              fee_record.c.hour_start)
                    .having(func.count() > 1)
                ).all()  # fmt: skip
            assert len(hours) > LOAD_S / CLOCK_STEP_S / 2
            assert len(hours) == len(set(hours)), "an hour was settled twice"
            assert hours == [hours[0] + i * HOUR for i in range(len(hours))], "a gap"
            assert usage == billed, "usage was lost or billed twice"
            assert not regular, f"resource hours billed twice: {regular[:5]}"
            assert smtp.messages, "no customer notice was sent"
            with db.read() as conn:  # PostgreSQL's own count, whatever the processes retried
                deadlocks = conn.execute(text(
                    "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()"
                )).scalar_one()  # fmt: skip
            assert deadlocks == 0, f"{deadlocks} deadlocks"
        finally:
            db.dispose()
        check = build(Settings(database_url=url, operator_token=TOKEN), prepare_db=False)
        try:
            assert_books_balance(check)
        finally:
            check.db.dispose()
