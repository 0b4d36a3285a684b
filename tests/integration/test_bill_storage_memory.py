"""Bill storage streams from the database in bounded memory: a day of 80,000 fee records is
pushed (to moto's S3 server on loopback) with about the same peak of Python allocations as a
day of 20,000 (tracemalloc), not four times as much. The full month of 1M records is
`make bench`'s W9 (bench/w9_bill_storage.py)."""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterator
from datetime import timedelta

import boto3
import pytest

from bench.w9_bill_storage import push_all, seed_fee_records, storage_customer
from cloudbill.bootstrap import Container

from ..conftest import T0
from ..s3_server import s3_server

BUCKET = "memory-bills"
DAY = T0.replace(hour=0) - timedelta(days=1)  # 15 March: the first day pushed from T0 on
SMALL, LARGE = 20_000, 80_000


@pytest.fixture
def endpoint() -> Iterator[str]:
    with s3_server() as url:
        boto3.client("s3", endpoint_url=url, region_name="us-east-1", aws_access_key_id="AK",
                     aws_secret_access_key="SK").create_bucket(Bucket=BUCKET)  # fmt: skip
        yield url


def _peak_of_push(container: Container, customer_id: str) -> int:
    tracemalloc.start()
    try:
        report = push_all(
            container, customer_id, file_rows=container.settings.bill_storage_file_rows
        )
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert report.days == 1 and report.files == 2 and not report.failed, report
    return peak


def test_peak_memory_does_not_grow_with_the_records(
    sqlite_container: Container, endpoint: str
) -> None:
    c = sqlite_container
    sizes = {"warm-up": 500, "small": SMALL, "large": LARGE}
    ids = {}
    for name, records in sizes.items():
        ids[name] = storage_customer(c, endpoint, bucket=BUCKET, name=name)
        seed_fee_records(c, ids[name], records, DAY, 24)
    push_all(c, ids["warm-up"], file_rows=c.settings.bill_storage_file_rows)  # imports, caches
    small = _peak_of_push(c, ids["small"])
    large = _peak_of_push(c, ids["large"])
    # Proportional memory would be 4x; streamed, the larger day costs about the same.
    assert large < 1.5 * small, (small, large)
    assert large < 32 * 2**20, large
