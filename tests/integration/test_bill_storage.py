"""Bill storage set-up against a real S3-compatible server (moto's, on loopback): settings are
checked and the secret sealed; a verification writes, reads back and deletes a test object and
says exactly what failed; storage is switched on only with a verified bucket."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack

import boto3
import pytest
from sqlalchemy import select

from cloudbill.credentials.sealing import SecretBox
from cloudbill.kernel.errors import CloudbillError, ErrorCode
from cloudbill.storage import service as storage
from cloudbill.storage.model import Problem
from cloudbill.store.schema import bill_storage

from ..helpers import new_customer, snapshot
from ..s3_server import free_port, s3_server

BUCKET = "acme-bills"


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with s3_server() as url:
        s3 = boto3.client("s3", endpoint_url=url, region_name="us-east-1",
                          aws_access_key_id="AK", aws_secret_access_key="SK")  # fmt: skip
        s3.create_bucket(Bucket=BUCKET)
        yield url


def setup(container, customer_id, endpoint, **overrides):  # type: ignore[no-untyped-def]
    box = SecretBox(container.secret_key())
    fields = {
        "endpoint_url": endpoint, "region": "us-east-1", "bucket_name": BUCKET,
        "prefix": "billing/acme", "access_key_id": "AKIDEXAMPLE",
        "secret_access_key": "s3cr3t-key", "bills": ["expenditures", "resource_bill"],
        "file_format": "csv",
    } | overrides  # fmt: skip
    return container.write(
        lambda conn, now: storage.configure(conn, box, customer_id, now=now, **fields)
    )


def test_a_verified_bucket_is_switched_on_and_the_secret_is_sealed(container, endpoint) -> None:  # type: ignore[no-untyped-def]
    acme = new_customer(container)
    config = setup(container, acme.id, endpoint)
    assert not config.enabled and config.secret_sealed != "s3cr3t-key"
    with container.db.read() as conn:
        stored = conn.execute(select(bill_storage.c.secret_sealed)).scalar_one()
    assert "s3cr3t" not in stored
    box = SecretBox(container.secret_key())
    assert storage.verify(container, box, acme.id).ok
    on = storage.enable(container, box, acme.id)
    assert on.enabled and on.verified_at is not None and on.next_day is not None
    # The test object is gone again.
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                      aws_access_key_id="AK", aws_secret_access_key="SK")  # fmt: skip
    assert s3.list_objects_v2(Bucket=BUCKET).get("KeyCount", 0) == 0


@pytest.mark.parametrize(
    ("case", "problem", "step"),
    [
        ("unknown bucket", Problem.BUCKET_NOT_FOUND, "write"),
        ("endpoint unreachable", Problem.ENDPOINT_UNREACHABLE, "write"),
        ("access denied", Problem.ACCESS_DENIED, "write"),
    ],
)
def test_a_failed_verification_says_what_failed_and_storage_stays_off(  # type: ignore[no-untyped-def]
    container, endpoint, case, problem, step
) -> None:
    acme = new_customer(container)
    box = SecretBox(container.secret_key())
    with ExitStack() as stack:
        url = {
            "unknown bucket": endpoint,
            "endpoint unreachable": f"http://127.0.0.1:{free_port()}",
            "access denied": stack.enter_context(s3_server(authenticate=True)),
        }[case]
        bucket = "no-such-bucket" if case == "unknown bucket" else BUCKET
        setup(container, acme.id, url, bucket_name=bucket)
        report = storage.verify(container, box, acme.id)
        assert (report.ok, report.problem, report.step) == (False, problem, step)
        assert report.message
        before = snapshot(container)
        with pytest.raises(CloudbillError) as refused:
            storage.enable(container, box, acme.id)
    assert refused.value.code is ErrorCode.BILL_STORAGE_UNVERIFIED
    assert refused.value.details == {"step": step, "problem": str(problem)}
    assert snapshot(container) == before


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("endpoint_url", "ftp://x"),
        ("bucket_name", "Bad_Bucket"),
        ("region", "US EAST"),
        ("prefix", "a//b"),
        ("bills", ["everything"]),
        ("file_format", "xlsx"),
        ("access_key_id", ""),
    ],
)
def test_bad_settings_are_refused_and_change_nothing(container, endpoint, field, value) -> None:  # type: ignore[no-untyped-def]
    acme = new_customer(container)
    saved = setup(container, acme.id, endpoint)
    before = snapshot(container)
    with pytest.raises(CloudbillError) as refused:
        setup(container, acme.id, endpoint, **{field: value})
    assert refused.value.code is ErrorCode.INVALID_ARGUMENT
    assert snapshot(container) == before
    assert container.read(lambda conn, _now: storage.get(conn, acme.id)) == saved
