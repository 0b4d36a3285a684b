"""Request budgets shared by every API process: per customer (rotating keys does not escape
it), and failed authentications per source address and per key, in the database (both
databases) and in Redis (a real redis-server started on a free port).

The budget rule itself (GCRA) is tested in tests/unit/test_rate_rules.py."""

from __future__ import annotations

import dataclasses
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from cloudbill.api.app import create_app
from cloudbill.bootstrap import Container, build
from cloudbill.config import Settings
from cloudbill.ratelimit.redis_store import RedisBudgets
from cloudbill.ratelimit.rules import Budget
from cloudbill.ratelimit.sql_store import SqlBudgets
from cloudbill.store.schema import rate_limit

from ..conftest import IN_CI
from ..helpers import new_customer
from .customer_world import PREFIX, issue_key

NEVER_REFILLS = 0.0001  # requests per second: within a test, a spent budget stays spent


def _app(container: Container, **settings: object) -> TestClient:
    tuned = container.settings.model_copy(update=settings)
    return TestClient(create_app(dataclasses.replace(container, settings=tuned)))


def _other_process(container: Container) -> Container:
    """Another API process: its own engine and pool on the same database."""
    return build(Settings(database_url=container.settings.database_url, operator_token="t"))


def test_a_customer_budget_is_shared_by_processes_and_keys(container: Container) -> None:
    alice, bob = new_customer(container, "alice").id, new_customer(container, "bob").id
    first, second = issue_key(container, alice), issue_key(container, alice)
    other = _other_process(container)
    try:
        budget = {"bss_rate_per_s": NEVER_REFILLS, "bss_burst": 3}
        here, there = _app(container, **budget), _app(other, **budget)
        auth1 = (first.key.id, first.secret)
        auth2 = (second.key.id, second.secret)
        assert here.get(PREFIX + "/account", auth=auth1).status_code == 200
        assert there.get(PREFIX + "/account", auth=auth1).status_code == 200
        assert there.get(PREFIX + "/account", auth=auth2).status_code == 200  # the same budget
        for client, auth in ((here, auth1), (there, auth2), (here, auth2)):
            refused = client.get(PREFIX + "/account", auth=auth)
            assert refused.status_code == 429
            assert refused.json()["error"]["code"] == "RATE_LIMITED"
            assert int(refused.headers["Retry-After"]) >= 1
        bob_key = issue_key(container, bob)  # another customer has a budget of its own
        assert (
            here.get(PREFIX + "/account", auth=(bob_key.key.id, bob_key.secret)).status_code == 200
        )
    finally:
        other.db.dispose()


def _three_failures_allowed(container: Container):  # type: ignore[no-untyped-def]
    """A customer's key, and an app that allows three failed authentications a day."""
    key = issue_key(container, new_customer(container).id)
    settings = {"auth_failures_max": 3, "auth_failures_window_s": 86_400}
    tuned = dataclasses.replace(container, settings=container.settings.model_copy(update=settings))
    return key, create_app(tuned)


def test_failed_authentications_are_limited_per_source(container: Container) -> None:
    key, app = _three_failures_allowed(container)
    attacker = TestClient(app, client=("203.0.113.7", 40000))
    for n in range(3):
        wrong = attacker.get(PREFIX + "/account", auth=(f"AKNOTAKEY{n:011d}", "x" * 40))
        assert wrong.status_code == 401
    # The source's budget is spent: even a right secret from there is refused, unchecked.
    blocked = attacker.get(PREFIX + "/account", auth=(key.key.id, key.secret))
    assert blocked.status_code == 429 and "failed authentications" in blocked.text
    assert blocked.headers["Retry-After"] == "28800"  # one failure back every 86400 / 3 s
    honest = TestClient(app, client=("198.51.100.9", 40000))
    assert honest.get(PREFIX + "/account", auth=(key.key.id, key.secret)).status_code == 200


def test_failed_authentications_are_limited_per_key(container: Container) -> None:
    key, app = _three_failures_allowed(container)
    for n in range(3):  # a guess at the secret from each of many addresses
        guesser = TestClient(app, client=(f"192.0.2.{n + 1}", 40000))
        assert guesser.get(PREFIX + "/account", auth=(key.key.id, "y" * 40)).status_code == 401
    fresh = TestClient(app, client=("192.0.2.200", 40000))
    assert fresh.get(PREFIX + "/account", auth=(key.key.id, "y" * 40)).status_code == 429
    assert fresh.get(PREFIX + "/account", auth=(key.key.id, key.secret)).status_code == 429


def test_a_wrong_operator_token_is_limited_per_source(container: Container) -> None:
    client = _app(container, auth_failures_max=2, auth_failures_window_s=86_400)
    for _ in range(2):
        wrong = client.get("/operator/v1/customers", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
    right = {"Authorization": "Bearer test-token"}
    blocked = client.get("/operator/v1/customers", headers=right)
    assert blocked.status_code == 429 and blocked.json()["error"]["code"] == "RATE_LIMITED"
    assert blocked.headers["Retry-After"] == "43200"


def test_racing_takes_never_exceed_the_burst(container: Container) -> None:
    """Eight threads, each with its own connection, taking from one budget at once."""
    budgets = SqlBudgets(container.db)
    budget = Budget(NEVER_REFILLS, 20)
    with ThreadPoolExecutor(8) as pool:
        taken = list(pool.map(lambda _i: budgets.take("race", budget), range(80)))
    assert sum(taken) == 20


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def redis_url() -> Iterator[str]:
    """A redis-server of the test's own on a free port (`apt-get install redis-server`)."""
    binary = shutil.which("redis-server")
    if binary is None:
        reason = (
            "redis-server is not installed (apt-get install redis-server): Redis budgets untested"
        )
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)
    port = _free_port()
    server = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_budgets_in_redis_are_shared_and_exact(redis_url: str) -> None:
    one, two = RedisBudgets(redis_url), RedisBudgets(redis_url)  # two processes' clients
    budget = Budget(NEVER_REFILLS, 5)
    with ThreadPoolExecutor(8) as pool:
        taken = list(pool.map(lambda i: (one if i % 2 else two).take("k", budget), range(40)))
    assert sum(taken) == 5
    assert not one.peek("k", budget) and two.peek("other", budget)
    quick = Budget(1000, 1)  # one a millisecond: refills at once
    assert one.take("q", quick)
    time.sleep(0.01)
    assert two.take("q", quick)


def test_the_api_uses_redis_when_configured(sqlite_url: str, redis_url: str) -> None:
    c = build(Settings(database_url=sqlite_url, operator_token="test-token",
                       rate_limit_redis_url=redis_url, bss_rate_per_s=NEVER_REFILLS,
                       bss_burst=1))  # fmt: skip
    try:
        key = issue_key(c, new_customer(c).id)
        client, other = TestClient(create_app(c)), TestClient(create_app(c))
        assert client.get(PREFIX + "/account", auth=(key.key.id, key.secret)).status_code == 200
        assert other.get(PREFIX + "/account", auth=(key.key.id, key.secret)).status_code == 429
        with c.db.read() as conn:  # nothing went to the database
            assert conn.execute(select(func.count()).select_from(rate_limit)).scalar_one() == 0
    finally:
        c.db.dispose()


def test_a_store_that_fails_lets_requests_through(sqlite_url: str) -> None:
    """Redis down: billing answers on, and says so in the log."""
    port = _free_port()  # nothing listens there
    c = build(Settings(database_url=sqlite_url, operator_token="test-token",
                       rate_limit_redis_url=f"redis://127.0.0.1:{port}/0"))  # fmt: skip
    try:
        key = issue_key(c, new_customer(c).id)
        client = TestClient(create_app(c))
        assert client.get(PREFIX + "/account", auth=(key.key.id, key.secret)).status_code == 200
    finally:
        c.db.dispose()
