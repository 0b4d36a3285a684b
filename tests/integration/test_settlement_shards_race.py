"""Sharded settlement raced by several workers, and raced by ingestion of late usage, on
PostgreSQL (threads with engines of their own: real concurrent transactions).

Three shards, four settlers: each shard settles each hour once, every record is billed once,
and the fees and balances equal what one unsharded worker alone produces. Late records (their
hour already settled in their customer's shard) are billed once by a later run of that shard.
A layout cannot change once hours were settled."""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import select

from cloudbill.bootstrap import Container, build
from cloudbill.config import Settings
from cloudbill.kernel.errors import CloudbillError, ErrorCode
from cloudbill.settle.shards import shard_of
from cloudbill.store import clock_repo
from cloudbill.store.schema import fee_record, settlement_run
from cloudbill.worker.jobs import settle_due

from ..conftest import _truncate_postgres, make_container
from ..helpers import assert_books_balance
from .test_settlement_race import (  # noqa: F401 (the baseline fixture)
    HOUR,
    RESOURCES,
    USAGE_START,
    _ingest,
    _ingester,
    _record,
    _settler,
    _setup_customers_and_resources,
    assert_billed_exactly_once,
    baseline,
    build_backlog,
    race,
    summary,
)

SHARDS = 3
pytestmark = pytest.mark.postgres


@pytest.fixture
def postgres_container(postgres_database: str) -> Iterator[Container]:
    _truncate_postgres(postgres_database)
    c = make_container(postgres_database)
    yield c
    c.db.dispose()


def _sharded(container: Container, shards: int = SHARDS) -> Container:
    """Another worker on the same database, with its own pool, settling `shards` shards."""
    return build(
        Settings(
            database_url=container.settings.database_url,
            operator_token="t",
            settlement_shards=shards,
        )
    )


def _per_shard(container: Container) -> dict[int, list[Any]]:
    """Each shard's settled hours; and every fee was written by its customer's shard."""
    with container.db.read() as conn:
        hours: dict[int, list[Any]] = defaultdict(list)
        for shard, hour in conn.execute(
            select(settlement_run.c.shard, settlement_run.c.hour_start).order_by(
                settlement_run.c.hour_start
            )
        ):
            hours[shard].append(hour)
        shard_of_run = dict(conn.execute(select(settlement_run.c.id, settlement_run.c.shard)).all())
        for settlement_id, customer_id in conn.execute(
            select(fee_record.c.settlement_id, fee_record.c.customer_id)
        ):
            assert shard_of_run[settlement_id] == shard_of(customer_id, SHARDS)
    return dict(hours)


def _each_shard_once(hours: dict[int, list[Any]]) -> None:
    assert sorted(hours) == list(range(SHARDS))
    first = hours[0]
    for shard_hours in hours.values():
        assert len(shard_hours) == len(set(shard_hours)), "a shard settled an hour twice"
        assert shard_hours == first, "shards settled different hours"
        assert shard_hours == [first[0] + i * HOUR for i in range(len(first))], "a gap"


def _without_hours(result: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in result.items() if k != "hours"}


def test_sharded_settlers_settle_each_hour_once_per_shard(
    postgres_container: Container,
    baseline: dict[str, Any],  # noqa: F811
) -> None:
    container = postgres_container
    build_backlog(container)
    workers = [_sharded(container) for _ in range(4)]
    try:
        results = race([lambda w=w: settle_due(w) for w in workers])
    finally:
        for w in workers:
            w.db.dispose()
    settled = [r for rs in results for r in rs]
    hours = _per_shard(container)
    _each_shard_once(hours)
    assert len(settled) == sum(len(h) for h in hours.values())
    got = summary(container)
    assert sorted(set(got["hours"])) == hours[0]
    assert _without_hours(got) == _without_hours(baseline)
    again = _sharded(container)
    try:
        assert settle_due(again) == []
    finally:
        again.db.dispose()
    assert_books_balance(container)


def test_late_usage_racing_sharded_settlement_is_billed_once(
    postgres_container: Container,
) -> None:
    container = postgres_container
    _setup_customers_and_resources(container)
    _ingest(container, [_record(1, USAGE_START, 60, "first")])
    settler, ingesters = _sharded(container), [_sharded(container) for _ in range(3)]
    stop = threading.Event()
    with ThreadPoolExecutor(1) as pool:
        settling = pool.submit(_settler, settler, stop)
        try:
            race([lambda c=c, n=n: _ingester(c, n, batches=10, size=60)
                  for n, c in enumerate(ingesters)])  # fmt: skip
        finally:
            stop.set()
            settled_meanwhile = settling.result()
            for c in ingesters:
                c.db.dispose()
    try:
        assert settled_meanwhile > 0, "nothing was settled while records arrived"
        container.write(lambda conn, now: clock_repo.advance(conn, 2 * HOUR))
        settle_due(settler)
        _each_shard_once(_per_shard(container))
        got = summary(container)
        assert len(got["usage"]) == RESOURCES
        hours = sorted(set(got["hours"]))
        assert_billed_exactly_once({**got, "hours": hours})
        assert any(f[5] for f in got["fees"]), "no record came after its hour was settled"
        assert settle_due(settler) == []
    finally:
        settler.db.dispose()
    assert_books_balance(container)


def test_the_shard_count_cannot_change_once_hours_were_settled(
    postgres_container: Container,
) -> None:
    container = postgres_container
    build_backlog(container)
    three = _sharded(container)
    two = _sharded(container, shards=2)
    try:
        assert settle_due(three)
        with pytest.raises(CloudbillError) as refused:
            settle_due(two)
        assert refused.value.code is ErrorCode.INVALID_STATE
        assert "cannot change" in refused.value.message
    finally:
        three.db.dispose()
        two.db.dispose()
