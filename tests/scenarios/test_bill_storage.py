"""Bill storage through a month on the simulated clock, against a real S3-compatible server:
daily pushes, a late record that changes a pushed day (a new version, the manifest says it is
current), the month file on the bill day, the files read back equal the bills exactly, running
again writes nothing, and a bucket that keeps failing is switched off with a notice."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from decimal import Decimal

import boto3
import pytest
from sqlalchemy import select

from cloudbill.bills import service as bill_service
from cloudbill.credentials.sealing import SecretBox
from cloudbill.kernel.money import Rounding
from cloudbill.storage import service as storage
from cloudbill.store.schema import bill_storage_push, outbox_event
from cloudbill.worker.jobs import run_due

from ..conftest import T0
from ..helpers import new_customer
from ..s3_server import s3_server
from .test_settlement import advance, meter, register, topup

BUCKET = "acme-bills"
PREFIX = "exports/acme"


@pytest.fixture
def s3():  # type: ignore[no-untyped-def]
    with s3_server() as url:
        client = boto3.client("s3", endpoint_url=url, region_name="us-east-1",
                              aws_access_key_id="AK", aws_secret_access_key="SK")  # fmt: skip
        client.create_bucket(Bucket=BUCKET)
        yield url, client


def objects(client) -> dict[str, str]:  # type: ignore[no-untyped-def]
    listed = client.list_objects_v2(Bucket=BUCKET, Prefix=PREFIX).get("Contents", [])
    return {o["Key"]: o["ETag"] for o in listed}


def manifest(client, period: str, name: str) -> dict:  # type: ignore[no-untyped-def]
    key = f"{PREFIX}/BILLING_PERIOD={period}/{name}-Manifest.json"
    return json.loads(client.get_object(Bucket=BUCKET, Key=key)["Body"].read())


def rows_of(client, m: dict) -> list[dict[str, str]]:  # type: ignore[no-untyped-def]
    out: list[dict[str, str]] = []
    for f in m["files"]:
        text = client.get_object(Bucket=BUCKET, Key=f["key"])["Body"].read().decode()
        out += list(csv.DictReader(io.StringIO(text)))
    return out


def hourly(tag: str, day_start, hours: range):  # type: ignore[no-untyped-def]
    return [
        (f"{tag}-{h}", "vm-1", "duration", "3600", (day_start + timedelta(hours=h)).isoformat(),
         (day_start + timedelta(hours=h + 1)).isoformat(), "s")
        for h in hours
    ]  # fmt: skip


def test_a_month_of_bill_storage(container, s3) -> None:  # type: ignore[no-untyped-def]
    url, client = s3
    container.settings.bill_storage_file_rows = 10  # a day of 24 fee records: three parts
    acme = new_customer(container)
    topup(container, acme.id, "500.00", "seed")
    register(container, acme.id, "vm-1")
    register(container, acme.id, "vm-2")  # only its late record comes
    box = SecretBox(container.secret_key())
    container.write(lambda conn, now: storage.configure(
        conn, box, acme.id, endpoint_url=url, region="us-east-1", bucket_name=BUCKET,
        prefix=PREFIX, access_key_id="AK", secret_access_key="SK",
        bills=["expenditures", "resource_bill"], file_format="csv", now=now,
    ))  # fmt: skip
    assert storage.enable(container, box, acme.id).enabled
    day = T0.replace(hour=0)  # 16 March, UTC
    for d in range(16):  # the rest of March, a day of usage each day
        start = day + timedelta(days=d)
        advance(container, hours=24 if d else 16)  # 01:00 the next day (T0 is 09:00)
        meter(container, *hourly(f"d{d}", start, range(24)))
        run_due(container)
    march16 = manifest(client, "2026-03", "Resource_Expenditures_20260316")
    assert march16["row_count"] == 24 and len(march16["files"]) == 3
    assert march16["bill_version"] == march16["current_version"] == 1
    assert all(f["rows"] <= 10 for f in march16["files"])
    # What was read back is the fee records of the day, each amount exact to 8 decimals.
    day_rows = rows_of(client, march16)
    assert {r["hour_start"][:10] for r in day_rows} == {"2026-03-16"}
    total = sum(Decimal(r["amount"]) for r in day_rows)
    assert total == Decimal("0.0781") * 24
    assert all(len(r["amount"].split(".")[1]) == 8 for r in day_rows)
    # Again: nothing new is written.
    before = objects(client)
    run_due(container)
    assert objects(client) == before
    # A late record for 16 March: that day's file gets version 2, and the manifest says so.
    late_start = day + timedelta(hours=5, minutes=10)
    late_end = late_start + timedelta(minutes=30)
    meter(container, ("late-1", "vm-2", "duration", "1800", late_start.isoformat(),
                      late_end.isoformat(), "s"))  # fmt: skip
    advance(container, hours=1)
    run_due(container)
    march16 = manifest(client, "2026-03", "Resource_Expenditures_20260316")
    assert march16["bill_version"] == march16["current_version"] == 2
    assert march16["versions"] == [1, 2] and march16["row_count"] == 25
    assert any("/v0001/" in k for k in objects(client))  # the old version stays readable
    # The month file (pushed on the bill day, 1 April) equals the month's bill exactly.
    month = manifest(client, "2026-03", "Spendings(ByResource)_202603")
    assert month["final"] is True
    summary = container.read(lambda conn, _now: bill_service.monthly_summary(
        conn, acme.id, "2026-03", rounding=Rounding.HALF_UP))  # fmt: skip
    month_rows = rows_of(client, month)
    for figure in ("official", "amount", "cash", "coupon", "net"):
        exact = sum(Decimal(r[figure]) for r in month_rows)
        assert exact == Decimal(summary.exact.units()[figure]).scaleb(-8), figure
    assert sum(int(r["records"]) for r in month_rows) == summary.fee_records
    # The bucket goes away: three days of failures in a row switch storage off, with a notice.
    for key in objects(client):
        client.delete_object(Bucket=BUCKET, Key=key)
    client.delete_bucket(Bucket=BUCKET)
    for _ in range(3):
        advance(container, days=1)
        run_due(container)
    config = container.read(lambda conn, _now: storage.get(conn, acme.id))
    assert not config.enabled and "bucket_not_found" in (config.disabled_reason or "")
    with container.db.read() as conn:
        topics = conn.execute(select(outbox_event.c.topic)).scalars().all()
        outcomes = conn.execute(select(bill_storage_push.c.outcome)).scalars().all()
    assert topics.count("customer.bill_storage_disabled") == 1
    assert outcomes.count("failed") == 3 and outcomes.count("ok") >= 16
