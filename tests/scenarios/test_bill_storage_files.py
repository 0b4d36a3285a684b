"""Bill storage's files read back from a real S3-compatible server (moto's, on loopback) on the
simulated clock: gzip-CSV and Parquet files equal the bill exactly (each fee record against the
month's bill export, the month-to-date file against the month's summary), every part matches
its manifest's checksum, and a worker that was down for three days catches up every missed day,
each pushed once."""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
from datetime import timedelta
from decimal import Decimal

import pyarrow.parquet as pq
import pytest
from sqlalchemy import select

from cloudbill.bills import service as bill_service
from cloudbill.bills.export import export_month_csv
from cloudbill.bills.model import FIGURES
from cloudbill.credentials.sealing import SecretBox
from cloudbill.kernel.money import Rounding
from cloudbill.storage import service as storage
from cloudbill.store.schema import bill_storage_push
from cloudbill.worker.jobs import run_due

from ..conftest import T0
from ..helpers import new_customer
from .test_bill_storage import BUCKET, PREFIX, hourly, manifest, objects, s3
from .test_settlement import advance, meter, register, topup

__all__ = ["s3"]  # the fixture, used by name
DAY = T0.replace(hour=0)  # 16 March, UTC


def decoded(body: bytes, fmt: str) -> list[dict[str, str]]:
    if fmt == "parquet":
        table = pq.read_table(io.BytesIO(body))
        return [{k: ("" if v is None else v) for k, v in r.items()} for r in table.to_pylist()]
    text = (gzip.decompress(body) if fmt == "csv.gz" else body).decode()
    return list(csv.DictReader(io.StringIO(text)))


def read_back(client, m: dict, fmt: str) -> list[dict[str, str]]:  # type: ignore[no-untyped-def]
    rows: list[dict[str, str]] = []
    for f in m["files"]:
        body = client.get_object(Bucket=BUCKET, Key=f["key"])["Body"].read()
        assert hashlib.sha256(body).hexdigest() == f["sha256"] and len(body) == f["bytes"]
        part = decoded(body, fmt)
        assert len(part) == f["rows"]
        rows += part
    assert len(rows) == m["row_count"]
    return rows


def set_up(container, url: str, fmt: str):  # type: ignore[no-untyped-def]
    acme = new_customer(container)
    topup(container, acme.id, "500.00", "seed")
    register(container, acme.id, "vm-1")
    box = SecretBox(container.secret_key())
    container.write(lambda conn, now: storage.configure(
        conn, box, acme.id, endpoint_url=url, region="us-east-1", bucket_name=BUCKET,
        prefix=PREFIX, access_key_id="AK", secret_access_key="SK",
        bills=["expenditures", "resource_bill"], file_format=fmt, now=now,
    ))  # fmt: skip
    assert storage.enable(container, box, acme.id).enabled
    return acme


@pytest.mark.parametrize("fmt", ["csv.gz", "parquet"])
def test_gzip_csv_and_parquet_files_equal_the_bill(container, s3, fmt: str) -> None:  # type: ignore[no-untyped-def]
    url, client = s3
    container.settings.bill_storage_file_rows = 7  # 24 records: four parts
    acme = set_up(container, url, fmt)
    advance(container, hours=16)  # 01:00 on 17 March
    meter(container, *hourly("d16", DAY, range(24)))
    run_due(container)
    m = manifest(client, "2026-03", "Resource_Expenditures_20260316")
    assert m["format"] == fmt and len(m["files"]) == 4
    assert m["compression"] == ("gzip" if fmt == "csv.gz" else None)
    pushed = read_back(client, m, fmt)
    assert [c["name"] for c in m["columns"]] == list(pushed[0])
    # The bill: the month's export of the same fee records, row for row.
    out = io.StringIO()
    container.read(lambda conn, _now: export_month_csv(conn, acme.id, "2026-03", out))
    bill = {r["id"]: r for r in csv.DictReader(io.StringIO(out.getvalue()))}
    assert len(bill) == len(pushed) == 24
    for row in pushed:
        expected = bill[row["id"]]
        for column, value in expected.items():
            if column in FIGURES:  # exact, 8 decimals in the file
                assert Decimal(row[column]) == Decimal(value), column
                assert len(row[column].split(".")[1]) == 8, row[column]
            else:
                assert row[column] == value, column
    # The month-to-date bill by resource adds up to the month's summary, to the 10**-8.
    mtd = manifest(client, "2026-03", "Spendings(ByResource)_20260316")
    by_resource = read_back(client, mtd, fmt)
    summary = container.read(lambda conn, _now: bill_service.monthly_summary(
        conn, acme.id, "2026-03", rounding=Rounding.HALF_UP))  # fmt: skip
    for figure in FIGURES:
        exact = sum(Decimal(r[figure]) for r in by_resource)
        assert exact == Decimal(summary.exact.units()[figure]).scaleb(-8), figure
    assert sum(int(r["records"]) for r in by_resource) == summary.fee_records == 24


def test_three_days_down_every_missed_day_is_pushed_once(container, s3) -> None:  # type: ignore[no-untyped-def]
    url, client = s3
    acme = set_up(container, url, "csv")
    advance(container, hours=16)
    meter(container, *hourly("d16", DAY, range(24)))
    run_due(container)  # 16 March pushed (the day storage was switched on: 15 March, empty)
    for d in (1, 2, 3):  # the worker is down: the usage arrives, nothing runs
        advance(container, days=1)
        meter(container, *hourly(f"d{16 + d}", DAY + timedelta(days=d), range(24)))
    run_due(container)
    with container.db.read() as conn:
        p = bill_storage_push.c
        pushes = conn.execute(
            select(p.day, p.outcome).where(p.customer_id == acme.id).order_by(p.id)
        ).all()
    days = [day for day, outcome in pushes if outcome == "ok"]
    assert days == ["2026-03-15", "2026-03-16", "2026-03-17", "2026-03-18", "2026-03-19"]
    keys = objects(client)
    for d in (16, 17, 18, 19):
        name = f"Resource_Expenditures_202603{d}"
        m = manifest(client, "2026-03", name)
        assert m["bill_version"] == 1 and m["row_count"] == 24, name
        assert not [k for k in keys if f"/{name}/v0002/" in k]
    # Running again pushes nothing more and writes nothing.
    run_due(container)
    assert objects(client) == keys
    with container.db.read() as conn:
        assert conn.execute(select(bill_storage_push.c.id)).all().__len__() == len(pushes)
    assert container.read(lambda conn, _now: storage.get(conn, acme.id)).next_day.isoformat() == (
        "2026-03-20"
    )
